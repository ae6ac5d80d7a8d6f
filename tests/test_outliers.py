"""The outlier rule of a task's history (executions/outliers.py): the modified z-score."""

import statistics

import pytest

from executions import outliers


def test_it_marks_a_value_far_above_the_rest_high_and_one_far_below_low():
    values = [60, 61, 59, 62, 60, 58, 61, 600, 60, 5]
    marks = outliers.flags(values)
    assert marks[7] == "high" and marks[9] == "low"
    assert [m for i, m in enumerate(marks) if i not in (7, 9)] == [None] * 8


def test_it_is_not_dragged_by_the_outlier_it_looks_for():
    # A mean ± 3 standard deviations rule misses this one: the 10,000 inflates the deviation it is
    # measured with (mean 1,090, sd 3,131: 10,000 is 2.8 of them away).
    values = [100, 102, 98, 101, 99, 103, 97, 100, 101, 10_000]
    assert (values[-1] - statistics.fmean(values)) / statistics.stdev(values) < 3
    assert outliers.flags(values) == [None] * 9 + ["high"]


def test_it_keeps_ordinary_spread_unmarked():
    assert outliers.flags([40, 55, 61, 47, 70, 52, 66, 44, 58, 63]) == [None] * 10


def test_it_marks_one_retry_among_single_attempts_but_not_a_usual_share_of_them():
    # More than half equal: the MAD is 0, the mean absolute deviation stands in.
    assert outliers.flags([1] * 29 + [2]) == [None] * 29 + ["high"]
    assert outliers.flags([1] * 20 + [2] * 10) == [None] * 30


def test_it_marks_nothing_below_five_values_or_when_all_are_equal():
    assert outliers.flags([1, 1, 1, 100]) == [None] * 4
    assert outliers.flags([7] * 10) == [None] * 10
    assert outliers.fences([1, 1, 1, 100]) == {"median": 1.0, "low": None, "high": None}


def test_it_skips_missing_values_and_never_marks_them():
    values = [None, 60, 61, None, 59, 60, 62, 900]
    assert outliers.flags(values) == [None] * 7 + ["high"]


def test_it_places_the_fences_at_three_and_a_half_robust_deviations():
    values = [10, 12, 14, 16, 18]  # median 14, MAD 2
    bounds = outliers.fences(values)
    assert bounds["median"] == 14
    assert bounds["high"] == pytest.approx(14 + 3.5 * 1.4826 * 2)
    assert bounds["low"] == pytest.approx(14 - 3.5 * 1.4826 * 2)
