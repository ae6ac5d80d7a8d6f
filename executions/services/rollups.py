"""The failure report's rollups (ReportDay, ReportTaskDay, ReportRetryDay, ReportErrorDay,
ReportReworkDay, ReportQcDay): rebuilding them from the stored facts.

Every write keeps them exact on its own (the ingest/_roll_up_* and ingest/_apply_*rollups fragments,
in the statement that writes the facts); a rebuild is for a graph written before they existed
(ReportErrorDay, ReportReworkDay, ReportQcDay: after the upgrade that added them), or after a
repair. Days before the prune watermark (the latest PruneRun's `before`) are kept as they are:
their executions are gone, so the rows are all that is left of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import graph
from ..selectors.retention import pruned_before
from .rederive import execution_id_batches, executions_refresh_whole, lock_executions


@dataclass
class RollupsRebuild:
    """What a rebuild did: rows deleted, executions rolled up again, and the first day rebuilt
    (the prune watermark; None: every day)."""

    rows_deleted: int
    executions: int
    from_day: int | None


def rollups_rebuild(*, batch_size: int = 200, progress: Callable[[str, int], None] | None = None) -> RollupsRebuild:
    """Delete the rollup rows of days >= the prune watermark (all of them when nothing was pruned)
    and add every execution's contribution again, from its stored tasks and attempts; a bounded
    batch per transaction. Writes that land meanwhile would be counted against rows being rebuilt:
    run it while ingest is stopped (rederive_graph, after an upgrade). `progress(step, n)` is told
    the rows deleted and executions done so far."""
    watermark = pruned_before()
    since = watermark if watermark is not None else -(2**62)
    deleted = 0
    while True:
        ((n,),) = graph.write_statement(
            lambda: graph.run("rollups/delete_rows", {"from": since, "batch": batch_size * 10}))
        if not n:
            break
        deleted += n
        if progress:
            progress("rows deleted", deleted)
    done = 0
    for eids in execution_id_batches(batch_size=batch_size):

        def roll_up(eids: list[str] = eids) -> None:
            now = lock_executions(eids=eids)
            graph.run("rollups/forget_contributions", {"eids": eids, "from": since})
            executions_refresh_whole(eids=eids, now=now)

        graph.write_transaction(roll_up)
        done += len(eids)
        if progress:
            progress("executions rolled up", done)
    return RollupsRebuild(rows_deleted=deleted, executions=done, from_day=watermark)
