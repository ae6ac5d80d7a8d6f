# ruff: noqa: S101  (a test, kept outside tests/ until it can pass)
"""PENDING (issue #15): passes only once the failure report answers from the day rollups (ReportDay,
ReportTaskDay, ...). Move it to tests/test_services_retention.py then.

The failure report over a range gives the same figures before and after that range is pruned:
the rollups were written by ingest and a prune never decrements them. Only the task-level details
(examples, CSV rows) go, and the report says so.
"""

from __future__ import annotations

import pytest

from executions import selectors, services
from tests.support.retention import CUTOFF_90D, DAY, NOW, OLD, execution

FIGURES = ("tasks", "failedTasks", "executions", "finishedExecutions", "failedExecutions", "reworkTokens", "tokens")


@pytest.fixture
def today(frozen_clock):
    frozen_clock.set(NOW)
    return frozen_clock


def test_it_answers_the_same_report_figures_over_a_pruned_range(today, ingest):
    execution(ingest, "old-ok", start=OLD, tasks=3, attempts=2)
    execution(ingest, "old-failed", start=OLD + DAY, tasks=2, fail=True)
    execution(ingest, "old-failed-2", start=OLD + 2 * DAY, tasks=4, attempts=3, fail=True, plan="other")
    execution(ingest, "edge", start=CUTOFF_90D, tasks=1, fail=True)
    window = {"started_from": OLD - OLD % DAY, "started_to": CUTOFF_90D + DAY, "plan_id": None}
    before = selectors.failure_report(**window)

    services.executions_prune(older_than_days=90, keep_failed=False, dry_run=False, batch_size=3)

    after = selectors.failure_report(**window)
    assert {k: after["totals"][k] for k in FIGURES} == {k: before["totals"][k] for k in FIGURES}
    assert [(b["failedTasks"], b["tasks"]) for b in after["trend"]] == \
           [(b["failedTasks"], b["tasks"]) for b in before["trend"]]
    assert [(p["planId"], p["failed"], p["tasks"]) for p in after["by_plan"]] == \
           [(p["planId"], p["failed"], p["tasks"]) for p in before["by_plan"]]
    assert after["by_task"]["total"] == before["by_task"]["total"]
    # The details of the pruned days are gone, the edge day's stay; the report says which.
    assert [row["executionId"] for row in selectors.failure_rows(**window)] == ["edge"]
    assert selectors.details_pruned_before(started_from=window["started_from"]).isoformat() == "2026-03-03"
