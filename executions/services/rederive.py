"""Re-derivation: bringing a graph written by an older version up to the facts writes derive now."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import clock, graph
from ..qc_texts import qc_text_keys
from ..selectors.executions import plan_tasks
from ..signatures import error_key
from .ingest import plan_task_models, write_params


def executions_need_rederive() -> bool:
    """Whether some execution (or plan) was written by a version that did not derive every fact."""
    ((needed,),) = graph.read("ingest/executions_need_rederive")
    return bool(needed)


@dataclass
class KeyMigration:
    """What moving a graph to pair keys did."""

    attempts_migrated: int
    foreign_links_removed: int
    executions_unlinked: list[str]


def keys_migrate(*, batch_size: int = 1000) -> KeyMigration:
    """Give attempts written by an older version their (executionId, taskId) key, and remove the
    links by which one execution shared another's task execution (ids that collided when keys were
    joined strings). Idempotent. The counters of the executions involved are re-derived by
    `executions_rederive`, which runs after it."""
    ((migrated,),) = graph.write_statement(lambda: graph.run("ingest/migrate_attempt_keys", {"batch": batch_size}))
    ((unlinked, executions),) = graph.write_statement(lambda: graph.run("ingest/unlink_foreign_tasks"))
    return KeyMigration(
        attempts_migrated=migrated, foreign_links_removed=unlinked, executions_unlinked=sorted(executions)
    )


def plan_task_models_keep() -> int:
    """Give each plan PUT before PlanTask nodes were kept (they price tasks by the plan's
    `recommendedModel`) its nodes, from its stored task definitions; one write per plan. Returns
    the number of plans. Idempotent: a plan that has them is not read."""
    plans = graph.read("ingest/plans_need_task_models")
    for plan_id, raw in plans:
        models = plan_task_models(plan_tasks(raw))
        graph.write_statement(lambda p=plan_id, m=models: graph.run(
            "ingest/plan_task_models_write", {"planId": p, "taskModels": m}))
    return len(plans)


def executions_rederive(*, batch_size: int = 200, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every execution's and task execution's derived facts (counters, statuses, links,
    search and report fields) from the stored attempts, a batch of executions per transaction.

    Versions are not bumped: nothing a client sent has changed. Returns the number of executions."""
    done = 0
    for eids in execution_id_batches(batch_size=batch_size):

        def refresh(eids: list[str] = eids) -> None:
            now = lock_executions(eids=eids)
            _error_keys_give(eids=eids)
            _qc_keys_give(eids=eids)
            ((tasks,),) = graph.run("ingest/task_execution_keys", {"eids": eids})
            # One statement: the task executions first, then the executions from all of them.
            graph.run("ingest/write", write_params(now=now, eids=eids, tasks=tasks, all_tasks=True))

        graph.write_transaction(refresh)
        done += len(eids)
        if progress:
            progress(done)
    return done


def _error_keys_give(*, eids: list[str]) -> None:
    """Give the attempts of executions `eids` stored before attempts kept their errorKey one (in the
    open transaction, before the task executions mirror it)."""
    missing = graph.run("ingest/attempts_without_error_key", {"eids": eids})
    if missing:
        keys = [{"eid": eid, "taskId": task_id, "attemptNumber": number, "errorKey": error_key(error)}
                for eid, task_id, number, error in missing]
        graph.run("ingest/attempt_error_keys_write", {"keys": keys})


def _qc_keys_give(*, eids: list[str]) -> None:
    """Give the attempts of executions `eids` stored before attempts kept the keys of their QC texts
    (qcIssueKeys, qcFixKeys: executions/qc_texts.py, as ingest computes them) their keys, in the open
    transaction, before the execution's rollups are refreshed (ReportQcDay groups by them)."""
    ((attempts,),) = graph.run("ingest/attempts_need_qc_keys", {"eids": eids})
    if attempts:
        rows = [{"executionId": a["executionId"], "taskId": a["taskId"], "attemptNumber": a["attemptNumber"],
                 "issueKeys": qc_text_keys(a["issues"]), "fixKeys": qc_text_keys(a["fixes"])} for a in attempts]
        graph.run("ingest/attempt_qc_keys_write", {"attempts": rows})


def executions_refresh_whole(*, eids: list[str], now: int) -> None:
    """Refresh executions `eids` (locked in the open transaction) from all their task executions:
    counters, and every task execution's rollup contribution looked at again. Versions are not
    bumped."""
    graph.run("ingest/write", write_params(now=now, eids=eids, all_tasks=True))


def execution_id_batches(*, batch_size: int) -> Iterator[list[str]]:
    """Every execution id, sorted, batch_size at a time."""
    after = ""
    while True:
        ((eids,),) = graph.read("ingest/execution_id_page", {"after": after, "limit": batch_size})
        if not eids:
            return
        yield eids
        after = eids[-1]


def lock_executions(*, eids: list[str]) -> int:
    """Lock the executions (sorted ids) in the open transaction; returns the time it took them at."""
    now = clock.now_ms()
    graph.run("ingest/lock_executions", write_params(now=now, eids=eids))
    return now
