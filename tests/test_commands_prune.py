"""manage.py prune_executions (its options, summary and progress bar), the pages and the read API
of what it deleted, the failure report's pruned notice, and the alert worker's daily prune."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.graph import cypher
from tests.support.retention import CUTOFF_90D, DAY, NOW, OLD, RECENT, TransactionNodes, execution, execution_ids


@pytest.fixture
def today(frozen_clock):
    frozen_clock.set(NOW)
    return frozen_clock


def _prune(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("prune_executions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_deletes_the_old_executions_and_says_what_went_and_what_stayed(today, ingest):
    execution(ingest, "old", start=OLD, tasks=2, attempts=2)
    execution(ingest, "old-running", start=OLD, finish=False)
    execution(ingest, "new", start=RECENT)
    out, err = _prune("--older-than", "90d")
    assert execution_ids() == ["new", "old-running"]
    assert "deleted 1 executions first known before 2026-03-03 (UTC), 2 task executions, 4 attempts, " \
           "in 1 transactions" in out
    assert "kept 1 still running of the executions before 2026-03-03" in out
    assert "plans and the failure report's rollups are kept" in out
    assert "7/7" in err and "nodes" in err  # the progress bar, on stderr


def test_it_only_counts_on_a_dry_run(today, ingest):
    execution(ingest, "old", start=OLD, tasks=2, fail=True)
    out, _ = _prune("--older-than", "90d", "--dry-run")
    assert execution_ids() == ["old"]
    assert "would delete 1 executions first known before 2026-03-03 (UTC), 2 task executions, 2 attempts" in out
    assert "dry run: nothing deleted" in out
    assert cypher("MATCH (r:PruneRun) RETURN count(r)") == [[0]]
    out, _ = _prune("--older-than", "90d", "--keep-failed")
    assert execution_ids() == ["old"] and "kept 1 failed (--keep-failed)" in out


def test_it_deletes_in_batches_of_the_setting_by_default(today, ingest, settings, monkeypatch):
    settings.PRUNE_BATCH_NODES = 3
    execution(ingest, "old", start=OLD, tasks=4)
    transactions = TransactionNodes(monkeypatch)
    out, _ = _prune("--older-than", "90d", "--no-progress")
    assert transactions.removed == [3, 3, 3, 0] and "in 3 transactions" in out
    assert execution_ids() == []


@pytest.mark.parametrize("value", ["90", "90 days", "3m", "0d", "-5d", "d", "1.5d"])
def test_it_refuses_an_older_than_that_is_not_a_number_of_days(today, value):
    with pytest.raises(CommandError, match="--older-than must be a number of days such as 90d") as info:
        _prune(f"--older-than={value}")
    assert repr(value) in str(info.value)


def test_it_refuses_a_batch_size_below_one(today):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        _prune("--older-than", "90d", "--batch-size", "0")


def test_it_answers_404_for_the_pages_and_the_api_of_a_pruned_execution(today, ingest, signed_in):
    execution(ingest, "gone", start=OLD)
    _prune("--older-than", "90d", "--no-progress")
    for path in ("/executions/gone", "/executions/gone/tasks/t0", "/executions/gone/poll?version=1"):
        assert signed_in.get(path).status_code == 404, path
    assert ingest.get("gone").status_code == 404


def test_it_says_on_the_report_page_in_the_api_and_the_csv_that_details_were_pruned(today, ingest, signed_in):
    execution(ingest, "old", start=OLD, fail=True)
    before_cutoff = "started_from=2026-02-01&started_to=2026-03-31"
    after_cutoff = "started_from=2026-03-03&started_to=2026-03-31"
    assert 'data-notice="details-pruned"' not in signed_in.get(f"/reports/failures?{before_cutoff}").content.decode()
    _prune("--older-than", "90d", "--no-progress")

    html = signed_in.get(f"/reports/failures?{before_cutoff}").content.decode()
    assert 'data-notice="details-pruned"' in html
    assert "Task-level details (examples, CSV rows) of executions before <strong>Mar 3, 2026</strong>" in html
    assert 'data-notice="details-pruned"' not in signed_in.get(f"/reports/failures?{after_cutoff}").content.decode()
    assert signed_in.get(f"/reports/failures.csv?{before_cutoff}")["X-Details-Pruned-Before"] == "2026-03-03"
    assert "X-Details-Pruned-Before" not in signed_in.get(f"/reports/failures.csv?{after_cutoff}")

    def api(query: str) -> dict:
        response = ingest.client.get(f"/api/v1/reports/failures?{query}",
                                     HTTP_AUTHORIZATION=f"Bearer {ingest.token}")
        assert response.status_code == 200, response.content
        return response.json()

    assert api(before_cutoff)["detailsPrunedBefore"] == "2026-03-03"
    assert api(after_cutoff)["detailsPrunedBefore"] is None


def _worker() -> str:
    err = io.StringIO()
    call_command("deliver_alerts", "--once", stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_it_prunes_from_the_alert_worker_once_a_day(today, ingest, settings, db):
    settings.PRUNE_OLDER_THAN_DAYS = 90
    settings.PRUNE_BATCH_NODES = 2
    execution(ingest, "old-1", start=OLD, tasks=2)
    log = _worker()
    assert execution_ids() == [] and "daily prune" in log and "deleted 1 executions" in log
    execution(ingest, "old-2", start=OLD)
    assert "daily prune" not in _worker()  # a restarted worker, the same day
    assert execution_ids() == ["old-2"]
    today.advance(ms=DAY)
    _worker()
    assert execution_ids() == []
    assert cypher("MATCH (r:PruneRun) RETURN r.before ORDER BY r.before") == [[CUTOFF_90D], [CUTOFF_90D + DAY]]


def test_it_does_not_prune_from_the_worker_without_the_setting(today, ingest, settings, db):
    settings.PRUNE_OLDER_THAN_DAYS = None
    execution(ingest, "old", start=OLD)
    _worker()
    assert execution_ids() == ["old"]
