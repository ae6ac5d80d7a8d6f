"""Group commit of task results posted one per request (see GroupCommit)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from django.conf import settings

from .. import metrics
from ..errors import DatabaseUnavailable
from .ingest import EventResult, apply, apply_one_by_one


class _Waiting:
    """One task result posted on its own, waiting for its write."""

    __slots__ = ("event", "size", "turn", "done", "outcome", "error")

    def __init__(self, event: Any, size: int):
        self.event = event
        self.size = size  # bytes: its request body's length
        self.turn = threading.Event()  # set when answered, or when it is this request's turn to write
        self.done = False
        self.outcome: EventResult | None = None
        self.error: BaseException | None = None

    def answer(self, outcome: EventResult | None = None, error: BaseException | None = None) -> None:
        self.outcome, self.error, self.done = outcome, error, True
        self.turn.set()

    def result(self) -> EventResult:
        if self.error is not None:
            raise self.error
        assert self.outcome is not None  # noqa: S101 - answer() sets an outcome or an error before `done`
        return self.outcome


class GroupCommit:
    """Group commit for task results posted one per request.

    Orchestrators post each result as its task finishes, many at once. While one write is in Neo4j,
    the results that arrive in other threads of this process wait for it, then go together as ONE
    statement (the batch endpoint's) instead of one statement each: Neo4j's CPU per result falls with
    the group's size (1.6 ms alone, 1.2 ms under the benchmark's 16 clients, 0.4 ms in batches of
    200: docs/benchmarks.md). No timer: a result waits only for the write ahead of it,
    and a lone result is written at once. Whoever's turn it is writes, so no thread is added.

    A group is bounded by count (`max_size`) and by bytes (`max_bytes`, the sum of the results'
    request bodies): it takes waiting results in order while both hold, and always at least one, so a
    30 MB output is written on its own rather than merged with six others into one statement that
    Neo4j's heap cannot hold.

    Every request still gets its own answer. The write is one auto-commit transaction, as before;
    if Neo4j refuses the group's write as a whole (a conflicting replay refuses it), the group's
    results are written one by one, so only the conflicting one is refused.
    """

    def __init__(self, *, max_size: int, max_bytes: int | None = None):
        self.max_size = max_size
        self.max_bytes = max_bytes if max_bytes is not None else settings.INGEST_GROUP_COMMIT_MAX_BYTES
        self._lock = threading.Lock()
        self._waiting: deque[_Waiting] = deque()
        self._writing = False
        # Statements that went through and the results they answered: what grouping achieved.
        self.writes = 0
        self.results = 0
        self.largest_group_bytes = 0  # the most bytes one statement of this group commit carried

    @property
    def waiting(self) -> int:
        """Results waiting for their turn."""
        with self._lock:
            return len(self._waiting)

    @property
    def writing(self) -> bool:
        """Whether a write of this group commit is in Neo4j."""
        with self._lock:
            return self._writing

    def submit(self, event: Any, size: int = 0) -> EventResult:
        """Write `event` (whose request body was `size` bytes), alone or with others; its answer."""
        me = _Waiting(event, size)
        with self._lock:
            self._waiting.append(me)
            my_turn = not self._writing
            self._writing = True
        if not my_turn:
            me.turn.wait()
            if me.done:
                return me.result()
        # This thread writes the waiting results, its own first, then hands the turn on.
        with self._lock:
            group = self._next_group()
        metrics.record_group_size(results=len(group))
        try:
            self._write(group)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].turn.set()
                else:
                    self._writing = False
        return me.result()

    def _next_group(self) -> list[_Waiting]:
        """The waiting results to write next, in order: at least one, then while the group stays
        within `max_size` results and `max_bytes` bytes. Called with the lock held."""
        group = [self._waiting.popleft()]
        size = group[0].size
        while (self._waiting and len(group) < self.max_size
               and size + self._waiting[0].size <= self.max_bytes):
            size += self._waiting[0].size
            group.append(self._waiting.popleft())
        self.largest_group_bytes = max(self.largest_group_bytes, size)
        return group

    def _write(self, group: list[_Waiting]) -> None:
        try:
            outcomes = self._statement(group)
            for i, w in enumerate(group):
                w.answer(outcomes[i])
        except DatabaseUnavailable as exc:  # Neo4j down, or busy through every retry: so is it for all
            for w in group:
                w.answer(error=exc)
        except Exception as exc:  # noqa: BLE001 - any error: the group is written one result at a time
            # Refused as a whole: a conflicting replay, or any error one result may have caused (a
            # sum that overflows, a bug). Each result is written on its own, so that only the guilty
            # one fails and the others land.
            if len(group) == 1:
                group[0].answer(error=exc)
            else:
                answers = apply_one_by_one([(i, w.event) for i, w in enumerate(group)], catch=(Exception,))
                written = sum(isinstance(a, EventResult) for a in answers.values())
                self._count(writes=written, results=written)
                for i, w in enumerate(group):
                    answer = answers[i]
                    if isinstance(answer, EventResult):
                        w.answer(answer)
                    else:
                        w.answer(error=answer)
        finally:
            for w in group:
                if not w.done:  # interrupted (the worker is shutting down): nobody may wait forever
                    w.answer(error=RuntimeError("the group write was interrupted"))

    def _statement(self, group: list[_Waiting]) -> dict[int, EventResult]:
        outcomes = apply([(i, w.event) for i, w in enumerate(group)])
        self._count(writes=1, results=len(group))
        return outcomes

    def _count(self, *, writes: int, results: int) -> None:
        with self._lock:
            self.writes += writes
            self.results += results


_group_commit: GroupCommit | None = None
_group_commit_lock = threading.Lock()


def group_commit() -> GroupCommit | None:
    """This process's group commit (created on first use: after gunicorn forks its workers), or None
    when INGEST_GROUP_COMMIT_MAX turns grouping off."""
    global _group_commit
    if settings.INGEST_GROUP_COMMIT_MAX <= 1:
        return None
    with _group_commit_lock:
        if _group_commit is None:
            _group_commit = GroupCommit(max_size=settings.INGEST_GROUP_COMMIT_MAX,
                                        max_bytes=settings.INGEST_GROUP_COMMIT_MAX_BYTES)
        return _group_commit
