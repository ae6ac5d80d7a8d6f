"""services.retention on the real Neo4j: what a prune deletes and keeps, its bounded transactions,
an interrupted prune finished by a rerun, the PruneRun it records, and the daily run's claim."""

from __future__ import annotations

import pytest

from executions import selectors, services
from executions.errors import DatabaseUnavailable, InvalidInput
from executions.services import retention
from tests.support.graph import cypher
from tests.support.retention import (
    CUTOFF_90D,
    DAY,
    NOW,
    OLD,
    PLAN,
    RECENT,
    Interrupted,
    TransactionNodes,
    counts,
    execution,
    execution_ids,
    orphans,
    rollup_rows,
)


@pytest.fixture
def today(frozen_clock):
    frozen_clock.set(NOW)
    return frozen_clock


def _prune(**options):
    return services.executions_prune(**{"older_than_days": 90, "keep_failed": False, "dry_run": False,
                                        "batch_size": 1000, **options})


def test_it_cuts_at_the_utc_midnight_the_given_days_ago(today):
    assert services.prune_cutoff(older_than_days=90) == CUTOFF_90D
    today.advance(ms=11 * 3_600_000)  # 23:00 the same day: the same cutoff
    assert services.prune_cutoff(older_than_days=90) == CUTOFF_90D
    with pytest.raises(InvalidInput):
        services.prune_cutoff(older_than_days=0)


def test_it_deletes_exactly_the_old_executions_with_their_tasks_and_attempts(today, ingest):
    assert ingest.plan("nightly", PLAN).status_code in (200, 201)
    execution(ingest, "old-1", start=OLD, tasks=3, attempts=2)
    execution(ingest, "old-2", start=OLD + DAY, tasks=1)
    execution(ingest, "edge", start=CUTOFF_90D)  # first known at the cutoff itself: not before it
    execution(ingest, "new", start=RECENT, tasks=2, attempts=3)
    before, rollups = counts(), rollup_rows()

    result = _prune()

    assert execution_ids() == ["edge", "new"]
    assert result.deleted.executions == 2 and result.deleted.task_executions == 4 and result.deleted.attempts == 7
    after = counts()
    assert after["TaskExecution"] == before["TaskExecution"] - 4
    assert after["TaskAttempt"] == before["TaskAttempt"] - 7
    # Plans, their PlanTask nodes and the rollups are no execution's details.
    assert (after["Plan"], after["PlanTask"]) == (before["Plan"], before["PlanTask"]) != (0, 0)
    assert rollup_rows() == rollups and any(labels == ["ReportDay"] for labels, _ in rollups)
    assert orphans() == (0, 0)


def test_it_keeps_failed_executions_and_their_tasks_with_keep_failed(today, ingest):
    execution(ingest, "old-ok", start=OLD)
    execution(ingest, "old-failed", start=OLD, tasks=2, fail=True)
    result = _prune(keep_failed=True)
    assert execution_ids() == ["old-failed"]
    assert result.deleted.failed_kept == 1 and result.deleted.executions == 1
    assert cypher("MATCH (:OrchestrationExecution {executionId: 'old-failed'})-[:HAS_TASK_EXECUTION]->(t)"
                  "-[:HAS_ATTEMPT]->(a) RETURN count(DISTINCT t), count(a)") == [[2, 2]]
    assert _prune().deleted.executions == 1  # without the option it goes
    assert execution_ids() == []


def test_it_keeps_running_executions_however_old(today, ingest):
    execution(ingest, "old-running", start=OLD, finish=False)
    execution(ingest, "old-done", start=OLD)
    result = _prune()
    assert execution_ids() == ["old-running"]
    assert result.deleted.running_kept == 1
    assert cypher("MATCH (:OrchestrationExecution {executionId: 'old-running'})-[:HAS_TASK_EXECUTION]->(t) "
                  "RETURN count(t)") == [[2]]


def test_it_counts_without_deleting_or_recording_on_a_dry_run(today, ingest):
    execution(ingest, "old", start=OLD, tasks=2, attempts=2)
    execution(ingest, "old-running", start=OLD, finish=False)
    before = counts()
    result = _prune(dry_run=True)
    assert counts() == before and before["PruneRun"] == 0
    assert (result.deleted.executions, result.deleted.task_executions, result.deleted.attempts) == (1, 2, 4)
    assert result.deleted.running_kept == 1 and result.run_id is None and result.transactions == 0
    assert selectors.pruned_before() is None


def test_it_deletes_no_more_nodes_per_transaction_than_the_batch(today, ingest, monkeypatch):
    # 7 tasks of 2 attempts: 22 nodes with the execution, over batches of 5.
    execution(ingest, "big", start=OLD, tasks=7, attempts=2)
    execution(ingest, "small", start=OLD + DAY, tasks=1)
    transactions = TransactionNodes(monkeypatch)
    result = _prune(batch_size=5)
    assert execution_ids() == []
    assert transactions.removed[:-1] and all(0 < n <= 5 for n in transactions.removed[:-1])
    assert transactions.removed[-1] == 0  # the last batch finds nothing left
    assert sum(transactions.removed) == 22 + 3 and result.transactions == 5
    assert (result.deleted.executions, result.deleted.task_executions, result.deleted.attempts) == (2, 8, 15)


def test_it_leaves_no_orphan_when_interrupted_and_a_rerun_finishes(today, ingest, monkeypatch):
    execution(ingest, "big", start=OLD, tasks=6, attempts=2)
    transactions = TransactionNodes(monkeypatch, fail_at=3)
    with pytest.raises(Interrupted):
        _prune(batch_size=4)
    # Two batches of 4 went: attempts and task executions of "big", never the execution first.
    assert execution_ids() == ["big"]
    assert orphans() == (0, 0)
    assert counts()["TaskAttempt"] + counts()["TaskExecution"] == 18 - 8
    transactions.fail_at = None
    result = _prune(batch_size=4)
    assert execution_ids() == [] and orphans() == (0, 0)
    # Each run counts what it deleted itself: the interrupted one its two batches.
    runs = cypher("MATCH (r:PruneRun) RETURN r.finishedAt IS NULL, r.taskExecutionsDeleted + r.attemptsDeleted "
                  "+ r.executionsDeleted")
    assert sorted(runs) == [[False, 11], [True, 8]]
    assert result.deleted.executions == 1


def test_it_records_the_run_and_moves_the_pruned_watermark(today, ingest):
    execution(ingest, "old", start=OLD, tasks=2)
    assert selectors.pruned_before() is None
    result = _prune()
    ((run,),) = cypher("MATCH (r:PruneRun) RETURN r {.*}")
    assert run["runId"] == result.run_id and run["before"] == CUTOFF_90D and run["keepFailed"] is False
    assert run["startedAt"] == run["finishedAt"] == NOW
    assert (run["executionsDeleted"], run["taskExecutionsDeleted"], run["attemptsDeleted"]) == (1, 2, 2)
    _prune(older_than_days=200)  # an older cutoff does not move the watermark back
    assert selectors.pruned_before() == CUTOFF_90D
    assert selectors.details_pruned_before(started_from=CUTOFF_90D - DAY).isoformat() == "2026-03-03"
    assert selectors.details_pruned_before(started_from=CUTOFF_90D) is None


def test_it_prunes_once_a_day_over_workers_in_batches(today, ingest):
    execution(ingest, "old-1", start=OLD, tasks=3)
    first = services.DailyPrune(older_than_days=90, keep_failed=False, batch_size=2)
    second = services.DailyPrune(older_than_days=90, keep_failed=False, batch_size=2)
    step = first.step()
    assert step.finished is None and step.batch.nodes == 2
    assert second.step() is None  # the day is the first worker's
    batches = [step.batch.nodes]
    while (step := first.step()).finished is None:
        batches.append(step.batch.nodes)
    assert batches == [2, 2, 2, 1] and step.finished.executions == 1 and step.finished.task_executions == 3
    assert first.step() is None and execution_ids() == []
    execution(ingest, "old-2", start=OLD)
    assert first.step() is None and services.DailyPrune(older_than_days=90, keep_failed=False,
                                                          batch_size=2).step() is None
    assert execution_ids() == ["old-2"]
    today.advance(ms=DAY)
    while (step := second.step()) is not None and step.finished is None:
        pass
    assert execution_ids() == []
    assert cypher("MATCH (r:PruneRun) RETURN count(r), count(r.scheduledDay), count(r.finishedAt)") == [[2, 2, 2]]


def test_it_claims_the_day_again_on_the_next_step_after_a_failed_claim(today, ingest, monkeypatch):
    execution(ingest, "old", start=OLD)
    daily = services.DailyPrune(older_than_days=90, keep_failed=False, batch_size=100)
    claim = retention.prune_run_claim

    def unavailable(**kwargs):
        raise DatabaseUnavailable("Neo4j restarting")

    monkeypatch.setattr(retention, "prune_run_claim", unavailable)
    with pytest.raises(DatabaseUnavailable):
        daily.step()
    monkeypatch.setattr(retention, "prune_run_claim", claim)
    while (step := daily.step()) is not None and step.finished is None:
        pass
    assert step is not None and step.finished.executions == 1 and execution_ids() == []


# The report over a pruned range answers from the day rollups, which a prune never decrements.
REPORT_FIGURES = ("tasks", "failedTasks", "executions", "finishedExecutions", "failedExecutions", "reworkTokens", "tokens")


def test_it_answers_the_same_report_figures_over_a_pruned_range(today, ingest):
    execution(ingest, "old-ok", start=OLD, tasks=3, attempts=2)
    execution(ingest, "old-failed", start=OLD + DAY, tasks=2, fail=True)
    execution(ingest, "old-failed-2", start=OLD + 2 * DAY, tasks=4, attempts=3, fail=True, plan="other")
    execution(ingest, "edge", start=CUTOFF_90D, tasks=1, fail=True)
    window = {"started_from": OLD - OLD % DAY, "started_to": CUTOFF_90D + DAY, "plan_id": None}
    before = selectors.failure_report(**window)

    services.executions_prune(older_than_days=90, keep_failed=False, dry_run=False, batch_size=3)

    after = selectors.failure_report(**window)
    assert {k: after["totals"][k] for k in REPORT_FIGURES} == {k: before["totals"][k] for k in REPORT_FIGURES}
    assert [(b["failedTasks"], b["tasks"]) for b in after["trend"]] == \
           [(b["failedTasks"], b["tasks"]) for b in before["trend"]]
    assert [(p["planId"], p["failed"], p["tasks"]) for p in after["by_plan"]] == \
           [(p["planId"], p["failed"], p["tasks"]) for p in before["by_plan"]]
    assert after["by_task"]["total"] == before["by_task"]["total"]
    # The details of the pruned days are gone, the edge day's stay; the report says which.
    assert [row["executionId"] for row in selectors.failure_rows(**window)] == ["edge"]
    assert selectors.details_pruned_before(started_from=window["started_from"]).isoformat() == "2026-03-03"
