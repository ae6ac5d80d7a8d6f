"""Which values of a series stand out: the modified z-score of Iglewicz and Hoaglin, robust to the
outliers it looks for (a mean and standard deviation are dragged by them).

    M = (x - median) / (1.4826 · MAD)      MAD: the median of |x - median|

and a value is an outlier when |M| > THRESHOLD (3.5: 0.6745 · 3.5 ≈ 2.4 MADs; on normal data about
one value in 2,000 is marked). When more than half of the values are equal (a task that always
takes one attempt), the MAD is 0 and every other value would be infinitely far: the mean absolute
deviation from the median stands in then (scaled by 1.2533, what makes it estimate the standard
deviation of normal data), so one retry among thirty single attempts is marked and ten among
thirty are not. Fewer than MIN_VALUES values mark nothing: there is no "usual" yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

THRESHOLD = 3.5
MIN_VALUES = 5
# Each makes its deviation estimate the standard deviation on normal data.
MAD_SCALE = 1.4826
MEAN_AD_SCALE = 1.2533

HIGH, LOW = "high", "low"


def fences(values: Sequence[float | int | None]) -> dict[str, float | None]:
    """The series' median and the bounds beyond which a value is an outlier ("low", "high"; None:
    fewer than MIN_VALUES known values, or all of them equal). None values are not counted."""
    known = [float(v) for v in values if v is not None]
    center = statistics.median(known) if known else None
    if len(known) < MIN_VALUES:
        return {"median": center, "low": None, "high": None}
    deviations = [abs(v - center) for v in known]
    spread = MAD_SCALE * statistics.median(deviations) or MEAN_AD_SCALE * statistics.fmean(deviations)
    if spread == 0:
        return {"median": center, "low": None, "high": None}
    return {"median": center, "low": center - THRESHOLD * spread, "high": center + THRESHOLD * spread}


def flags(values: Sequence[float | int | None]) -> list[str | None]:
    """Per value, "high" or "low" when it is an outlier of the series (see `fences`), else None."""
    bounds = fences(values)
    low, high = bounds["low"], bounds["high"]
    if low is None or high is None:
        return [None] * len(values)
    return [None if v is None or low <= v <= high else (HIGH if v > high else LOW) for v in values]
