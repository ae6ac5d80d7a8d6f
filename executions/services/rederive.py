"""Re-derivation: bringing a graph written by an older version up to the facts writes derive now."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from .. import clock, graph


def executions_need_rederive() -> bool:
    """Whether some execution was written by a version that did not derive every fact."""
    ((needed,),) = graph.read("ingest/executions_need_rederive")
    return bool(needed)


def executions_rederive(*, batch_size: int = 200, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every execution's and task execution's derived facts (counters, statuses, links,
    search and report fields) from the stored attempts, a batch of executions per transaction.

    Versions are not bumped: nothing a client sent has changed. Returns the number of executions."""
    after, done = "", 0
    while True:
        ((eids,),) = graph.read("ingest/execution_id_page", {"after": after, "limit": batch_size})
        if not eids:
            return done

        def refresh(eids: list[str] = eids) -> None:
            now = clock.now_ms()
            graph.run("ingest/lock_executions", {"eids": eids, "now": now, "nonce": uuid.uuid4().hex})
            ((teids,),) = graph.run("ingest/task_execution_ids", {"eids": eids})
            graph.run("ingest/refresh_tasks", {"teids": teids})
            graph.run("ingest/refresh_executions", {"eids": eids, "changed": [], "now": now})

        graph.write_transaction(refresh)
        done += len(eids)
        after = eids[-1]
        if progress:
            progress(done)
