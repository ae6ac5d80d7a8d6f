"""Retention: deleting the details (executions, their task executions and attempts) of executions
first known before a UTC midnight, in transactions of a bounded number of nodes.

What stays: plans and their PlanTask nodes, the failure report's `Report*` rollups (nothing here
touches a counter), and the executions still running. Each real run is recorded as a `PruneRun`
node, whose `before` is the pruned watermark the failure report reads (selectors.retention).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from .. import clock, graph
from ..errors import InvalidInput, NotFound


@dataclass(frozen=True)
class PruneCounts:
    """Nodes of pruned executions, and the old executions a prune keeps."""

    executions: int = 0
    task_executions: int = 0
    attempts: int = 0
    running_kept: int = 0
    failed_kept: int = 0

    @property
    def nodes(self) -> int:
        return self.executions + self.task_executions + self.attempts


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (or, dry, would do). `run_id` is None for a dry run."""

    before: int
    keep_failed: bool
    dry_run: bool
    deleted: PruneCounts
    transactions: int
    run_id: str | None


def prune_cutoff(*, older_than_days: int) -> int:
    """00:00 UTC of the day `older_than_days` before today (epoch ms): executions first known
    before it are old enough."""
    if older_than_days < 1:
        raise InvalidInput(f"older than must be at least 1 day, got {older_than_days}")
    return clock.day_start_ms(clock.today() - timedelta(days=older_than_days))


def _params(before: int, keep_failed: bool) -> dict[str, object]:
    return {"before": int(before), "keepFailed": bool(keep_failed)}


def prune_count(*, before: int, keep_failed: bool) -> PruneCounts:
    """What a prune before `before` would delete, and what it keeps."""
    rows = graph.read("retention/prune_count", _params(before, keep_failed))
    ((executions, tasks, attempts, running, failed),) = rows
    return PruneCounts(executions=executions, task_executions=tasks, attempts=attempts,
                       running_kept=running, failed_kept=failed)


def prune_run_start(*, before: int, keep_failed: bool) -> str:
    """Record a new run (the watermark moves to `before` at once); answers its runId."""
    run_id = str(uuid.uuid4())
    graph.write_statement(lambda: graph.run(
        "retention/run_start", {**_params(before, keep_failed), "runId": run_id, "now": clock.now_ms()}))
    return run_id


def prune_run_claim(*, day_start: int, before: int, keep_failed: bool) -> str | None:
    """Claim the scheduled run of the day starting at `day_start` (epoch ms); answers its runId, or
    None when another worker (or this one, before a restart) claimed that day already."""
    run_id = str(uuid.uuid4())
    ((claimed,),) = graph.write_statement(lambda: graph.run("retention/run_claim", {
        **_params(before, keep_failed), "runId": run_id, "day": int(day_start), "now": clock.now_ms()}))
    return run_id if claimed else None


def prune_batch(*, run_id: str, before: int, keep_failed: bool, limit: int) -> PruneCounts:
    """Delete at most `limit` nodes of the prunable executions, children before parents, in one
    transaction that also adds the counts to the run's node. An empty result means done."""
    if limit < 1:
        raise InvalidInput(f"a batch must delete at least 1 node, got {limit}")

    def batch() -> list[list[int]]:
        rows = graph.run("retention/prune_batch", {**_params(before, keep_failed), "runId": run_id, "limit": limit})
        if not rows:  # raising rolls the deletes back: no run node, no uncounted deletes
            raise NotFound(f"no prune run {run_id!r}")
        return rows

    ((executions, tasks, attempts),) = graph.write_transaction(batch)
    return PruneCounts(executions=executions, task_executions=tasks, attempts=attempts)


def prune_run_finish(*, run_id: str) -> PruneCounts:
    """Mark the run finished; answers what it deleted over all its batches."""
    rows = graph.write_statement(lambda: graph.run("retention/run_finish", {"runId": run_id, "now": clock.now_ms()}))
    if not rows:
        raise NotFound(f"no prune run {run_id!r}")
    ((executions, tasks, attempts),) = rows
    return PruneCounts(executions=executions, task_executions=tasks, attempts=attempts)


def executions_prune(
    *,
    older_than_days: int,
    keep_failed: bool,
    dry_run: bool,
    batch_size: int,
    on_total: Callable[[PruneCounts], None] | None = None,
    on_progress: Callable[[PruneCounts], None] | None = None,
) -> PruneResult:
    """Prune the executions first known before the cutoff of `older_than_days`, `batch_size` nodes
    per transaction until none is left. `on_total` gets what will go (and what stays), `on_progress`
    each batch's counts. A dry run only counts and records no run. An interrupted prune is finished
    by running it again."""
    before = prune_cutoff(older_than_days=older_than_days)
    if batch_size < 1:
        raise InvalidInput(f"a batch must delete at least 1 node, got {batch_size}")
    total = prune_count(before=before, keep_failed=keep_failed)
    if on_total:
        on_total(total)
    if dry_run:
        return PruneResult(before=before, keep_failed=keep_failed, dry_run=True, deleted=total, transactions=0,
                           run_id=None)
    run_id = prune_run_start(before=before, keep_failed=keep_failed)
    transactions = 0
    while True:
        done = prune_batch(run_id=run_id, before=before, keep_failed=keep_failed, limit=batch_size)
        if not done.nodes:
            break
        transactions += 1
        if on_progress:
            on_progress(done)
    deleted = prune_run_finish(run_id=run_id)
    kept = PruneCounts(executions=deleted.executions, task_executions=deleted.task_executions,
                       attempts=deleted.attempts, running_kept=total.running_kept, failed_kept=total.failed_kept)
    return PruneResult(before=before, keep_failed=keep_failed, dry_run=False, deleted=kept,
                       transactions=transactions, run_id=run_id)


@dataclass(frozen=True)
class PruneStep:
    """One step of the daily prune: its batch, and the run's totals once this step ended it."""

    run_id: str
    batch: PruneCounts
    finished: PruneCounts | None = None


class DailyPrune:
    """The alert worker's daily prune, one batch per call of `step` (between alert rounds, so a
    large prune never holds a round up). At most once per UTC day over every worker and restart:
    the day is claimed in Neo4j (`prune_run_claim`). A run whose worker stopped midway stays
    unfinished; the next day's run, with a later cutoff, deletes what it left."""

    def __init__(self, *, older_than_days: int, keep_failed: bool, batch_size: int):
        self.older_than_days = older_than_days
        self.keep_failed = keep_failed
        self.batch_size = batch_size
        self._run: tuple[str, int] | None = None  # (runId, before) of the run in progress
        self._day_done: int | None = None  # the day this worker saw claimed: no write to learn it again

    def step(self) -> PruneStep | None:
        """One batch of today's prune, claiming the day first if nobody has; None when there is
        nothing (more) for this worker to do today."""
        if self._run is None:
            day = clock.day_start_ms(clock.today())
            if self._day_done == day:
                return None
            before = prune_cutoff(older_than_days=self.older_than_days)
            run_id = prune_run_claim(day_start=day, before=before, keep_failed=self.keep_failed)
            self._day_done = day  # only once the claim answered: a failed one is tried again next round
            if run_id is None:
                return None
            self._run = (run_id, before)
        run_id, before = self._run
        done = prune_batch(run_id=run_id, before=before, keep_failed=self.keep_failed, limit=self.batch_size)
        if done.nodes:
            return PruneStep(run_id=run_id, batch=done)
        self._run = None
        return PruneStep(run_id=run_id, batch=done, finished=prune_run_finish(run_id=run_id))
