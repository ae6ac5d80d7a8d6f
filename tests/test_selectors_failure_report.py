"""failure_report / failure_rows on a realistic dataset ingested through the real API.

The dataset is described in tests/failure_report_data.py; every number below follows from it.
"""

import pytest

from executions import selectors
from tests.support.failure_report import DAY, at, build

RANGE = {"started_from": at(0), "started_to": at(4)}


@pytest.fixture
def dataset(shared_graph, ingest):
    # Read by most tests here and in the other failure-report module: built once for them all.
    shared_graph.use("failure-report", lambda: build(ingest))


def _ex(execution_id, task_id):
    return (execution_id, task_id)


def _examples(group):
    return [(x["executionId"], x["taskId"]) for x in group["examples"]]


def test_it_computes_the_failure_rates_over_the_range(dataset):
    report = selectors.failure_report(**RANGE, plan_id=None)
    totals = report["totals"]
    assert (totals["executions"], totals["finishedExecutions"], totals["failedExecutions"]) == (6, 5, 3)
    assert (totals["tasks"], totals["failedTasks"]) == (11, 4)
    assert totals["executionFailureRate"] == pytest.approx(3 / 5)
    assert totals["taskFailureRate"] == pytest.approx(4 / 11)
    assert report["has_failures"] is True


def test_it_computes_the_cost_of_rework(dataset):
    totals = selectors.failure_report(**RANGE, plan_id=None)["totals"]
    # All attempts: e1 180, e2 230, e3 320, e4 220, e5 10, e6 180; failed attempts: 30+130+300+100+10.
    assert (totals["tokens"], totals["reworkTokens"]) == (1140, 570)
    assert totals["reworkShare"] == pytest.approx(0.5)


def test_it_buckets_the_trend_by_day_for_a_short_range(dataset):
    report = selectors.failure_report(**RANGE, plan_id=None)
    assert report["bucket"] == "day"
    keys = ("start", "executions", "finishedExecutions", "failedExecutions", "tasks", "failedTasks", "reworkTokens")
    assert [tuple(b[k] for k in keys) for b in report["trend"]] == [
        (at(0), 1, 1, 1, 2, 1, 30),
        (at(1), 2, 2, 2, 4, 2, 430),
        (at(2), 2, 1, 0, 3, 1, 110),
        (at(3), 1, 1, 0, 2, 0, 0),
    ]
    assert [b["end"] - b["start"] for b in report["trend"]] == [DAY] * 4
    assert [b["taskFailureRate"] for b in report["trend"]] == pytest.approx([1 / 2, 2 / 4, 1 / 3, 0])
    assert [b["executionFailureRate"] for b in report["trend"]] == pytest.approx([1, 1, 0, 0])


def test_it_buckets_the_trend_by_monday_week_for_a_long_range_and_fills_empty_weeks(dataset):
    # Friday Oct 31 to Dec 13: 43 days → weeks starting Monday Oct 27.
    report = selectors.failure_report(started_from=at(-3), started_to=at(40), plan_id=None)
    assert report["bucket"] == "week"
    assert [b["start"] for b in report["trend"]] == [at(-7 + 7 * i) for i in range(7)]
    assert [b["executions"] for b in report["trend"]] == [1, 6, 1, 0, 0, 0, 0]
    assert [b["failedTasks"] for b in report["trend"]] == [1, 4, 1, 0, 0, 0, 0]
    assert [b["taskFailureRate"] for b in report["trend"]][3:] == [None] * 4
    assert report["totals"]["failedTasks"] == 6


def test_it_groups_failed_tasks_by_plan_and_task_with_their_failure_rate(dataset):
    by_task = selectors.failure_report(**RANGE, plan_id=None)["by_task"]
    assert by_task["total"] == 3
    assert [(g["planId"], g["taskId"], g["taskTitle"], g["failed"], g["tasks"]) for g in by_task["groups"]] == [
        ("etl", "load", "Load warehouse", 2, 3),
        ("docs", "write", "Write guide", 1, 2),
        ("ops", "deploy", "Deploy API", 1, 1),
    ]
    assert by_task["groups"][0]["failureRate"] == pytest.approx(2 / 3)
    assert _examples(by_task["groups"][0]) == [_ex("e2", "load"), _ex("e1", "load")]
    assert by_task["groups"][0]["examples"][0]["timestamp"] == at(1, 10, 10)


def test_it_groups_failures_by_plan(dataset):
    by_plan = selectors.failure_report(**RANGE, plan_id=None)["by_plan"]
    keys = ("planId", "planTitle", "executions", "finishedExecutions", "failedExecutions", "tasks", "failed")
    assert [tuple(p[k] for k in keys) for p in by_plan] == [
        ("etl", "Nightly ETL", 3, 3, 2, 6, 2),
        ("docs", "Docs writer", 2, 2, 1, 4, 1),
        ("ops", None, 1, 0, 0, 1, 1),
    ]
    assert _examples(by_plan[0]) == [_ex("e2", "load"), _ex("e1", "load")]
    assert by_plan[1]["executionFailureRate"] == pytest.approx(1 / 2)
    assert by_plan[2]["executionFailureRate"] is None


def test_it_groups_errors_that_differ_only_in_ids_and_numbers_under_one_signature(dataset):
    by_error = selectors.failure_report(**RANGE, plan_id=None)["by_error"]
    assert by_error["total"] == 3
    assert [(g["signature"], g["failed"], g["variants"]) for g in by_error["groups"]] == [
        ("Connection to db-<n> refused after <n> retries", 2, 2),
        ("QC rejected output for <str> (score <n>)", 1, 1),
        ("Timeout after <n>s waiting for pod api-<id>", 1, 1),
    ]
    assert _examples(by_error["groups"][0]) == [_ex("e2", "load"), _ex("e1", "load")]
    assert by_error["groups"][1]["sample"] == 'QC rejected output for "intro.md" (score 40)'


def test_it_ranks_the_qc_issues_and_required_fixes_of_attempts_that_failed_qc(dataset):
    qc = selectors.failure_report(**RANGE, plan_id=None)["qc"]
    # e2 extract #1, e3 write #1 (history) and #2, e4 write #1 and #2 (history).
    assert qc["failed_attempts"] == 5
    assert [(i["text"], i["attempts"]) for i in qc["issues"]] == [("No examples", 3), ("Too short", 2), ("Missing header row", 1)]
    assert [(f["text"], f["attempts"]) for f in qc["fixes"]] == [
        ("Add examples", 3), ("Add header row", 1), ("Cite sources", 1), ("Expand intro", 1),
    ]
    assert _examples(qc["issues"][0]) == [_ex("e4", "write"), _ex("e3", "write")]
    assert _examples(qc["issues"][2]) == [_ex("e2", "extract")]


def test_it_lists_tasks_that_needed_retries_before_passing(dataset):
    retried = selectors.failure_report(**RANGE, plan_id=None)["retried"]
    assert (retried["total"], retried["groups_total"]) == (2, 2)
    keys = ("planId", "taskId", "taskTitle", "retried", "maxAttempts", "reworkTokens")
    assert [tuple(g[k] for k in keys) for g in retried["groups"]] == [
        ("docs", "write", "Write guide", 1, 3, 100),
        ("etl", "extract", "Extract sources", 1, 2, 100),
    ]
    assert [(x["executionId"], x["attempts"]) for x in retried["groups"][0]["examples"]] == [("e4", 3)]


def test_it_restricts_every_section_to_the_chosen_plan(dataset):
    report = selectors.failure_report(**RANGE, plan_id="etl")
    totals = report["totals"]
    assert (totals["executions"], totals["finishedExecutions"], totals["failedExecutions"]) == (3, 3, 2)
    assert (totals["tasks"], totals["failedTasks"], totals["tokens"], totals["reworkTokens"]) == (6, 2, 590, 160)
    assert [p["planId"] for p in report["by_plan"]] == ["etl"]
    assert [(g["planId"], g["taskId"]) for g in report["by_task"]["groups"]] == [("etl", "load")]
    assert [g["signature"] for g in report["by_error"]["groups"]] == ["Connection to db-<n> refused after <n> retries"]
    assert (report["qc"]["failed_attempts"], [i["text"] for i in report["qc"]["issues"]]) == (1, ["Missing header row"])
    assert [g["taskId"] for g in report["retried"]["groups"]] == ["extract"]


def test_it_counts_only_executions_started_inside_the_range(dataset):
    report = selectors.failure_report(started_from=at(1), started_to=at(2), plan_id=None)
    assert (report["totals"]["executions"], report["totals"]["failedTasks"]) == (2, 2)
    assert [(g["signature"], g["failed"]) for g in report["by_error"]["groups"]] == [
        ("Connection to db-<n> refused after <n> retries", 1),
        ("QC rejected output for <str> (score <n>)", 1),
    ]
    # The end is exclusive: an execution starting exactly at started_to is left out.
    assert selectors.failure_report(started_from=at(0), started_to=at(0, 10), plan_id=None)["totals"]["executions"] == 0
    assert selectors.failure_report(started_from=at(0, 10), started_to=at(0, 11), plan_id=None)["totals"]["executions"] == 1


def test_it_reports_no_failures_for_an_empty_range(dataset):
    report = selectors.failure_report(started_from=at(20), started_to=at(25), plan_id=None)
    assert report["has_failures"] is False
    assert report["totals"]["taskFailureRate"] is None and report["totals"]["reworkShare"] is None
    assert report["by_task"] == {"total": 0, "groups": []} and report["by_plan"] == [] and report["by_error"]["groups"] == []
    assert report["qc"] == {"failed_attempts": 0, "issues": [], "fixes": []}
    assert [b["executions"] for b in report["trend"]] == [0] * 5


def test_it_returns_one_csv_row_per_failed_task_execution(dataset):
    rows = selectors.failure_rows(**RANGE, plan_id=None)
    assert [(r["executionId"], r["taskId"]) for r in rows] == [("e1", "load"), ("e2", "load"), ("e3", "write"), ("e5", "deploy")]
    write = rows[2]
    assert (write["planId"], write["taskTitle"], write["attemptNumber"], write["attempts"]) == ("docs", "Write guide", 2, 2)
    assert (write["qcScore"], write["qcIssues"], write["tokens"], write["timestamp"]) == (40, ["No examples"], 300, at(1, 12, 30))
    assert write["signature"] == "QC rejected output for <str> (score <n>)"
    assert [r["executionId"] for r in selectors.failure_rows(**RANGE, plan_id="ops")] == ["e5"]


def test_it_offers_every_plan_as_a_filter_option(dataset):
    assert selectors.plan_options() == [("docs", "Docs writer (docs)"), ("etl", "Nightly ETL (etl)"), ("ops", "ops")]


def test_it_counts_the_failures_of_an_execution_whose_start_event_never_arrived(ingest):
    # Only task results (and a finish) arrived: no startTime. Its first attempt began at day 1.
    start = at(1)
    ingest.task("orphan", "a", {"status": "failure", "error": "boom", "duration": 60_000, "timestamp": start + 60_000,
                                "tokens": {"input": 7, "output": 3}})
    ingest.task("orphan", "b", {"status": "success", "duration": 1_000, "timestamp": start + 120_000})
    ingest.finish("orphan", start + 180_000)
    report = selectors.failure_report(**RANGE, plan_id=None)
    totals = report["totals"]
    assert (totals["executions"], totals["failedExecutions"], totals["tasks"], totals["failedTasks"]) == (1, 1, 2, 1)
    assert totals["reworkTokens"] == 10
    # Placed at its first known time, day 1.
    assert [b["executions"] for b in report["trend"]] == [0, 1, 0, 0]
    assert [(g["planId"], g["taskId"], g["failed"]) for g in report["by_task"]["groups"]] == [(None, "a", 1)]
    rows = selectors.failure_rows(**RANGE, plan_id=None)
    assert [(r["executionId"], r["taskId"], r["error"]) for r in rows] == [("orphan", "a", "boom")]
    # Outside the range it is not counted.
    assert selectors.failure_report(started_from=at(2), started_to=at(4), plan_id=None)["totals"]["executions"] == 0
