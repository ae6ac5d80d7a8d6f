"""How many bytes of request bodies one process handles at once (INGEST_IN_FLIGHT_MAX_BYTES).

A request with a body costs memory in proportion to it, twice over: in this process (the body, the
parsed JSON, the validated models, the statement's parameters) and in Neo4j (the parameters as it
decodes them, and the transaction's state, several times a long text's length: docs/reliability.md,
"Memory"). Nothing else bounds how many large bodies are in flight at once: 32 clients
posting the largest allowed bodies (INGEST_MAX_BODY_BYTES) would all be parsed and sent to Neo4j
together. `IngestBodyBudgetMiddleware` (executions/middleware.py) makes each such
request reserve its length from this process's `ByteBudget` before its body is read, and hold it
until its answer is ready.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator

from django.conf import settings

# A body this small is not counted: their number is bounded by the worker's threads, so together
# they cost little, and counting them would only queue them behind large ones.
UNCOUNTED_BYTES = 1024 * 1024


class BudgetExhausted(Exception):
    """The bytes were not free within the wait allowed: the caller should come back later."""


class ByteBudget:
    """A semaphore counted in bytes, served in arrival order.

    `reserve(n)` waits until n bytes are free and it is the longest waiting request, so a large body
    is not starved by a stream of small ones. A reservation is capped at the budget: a body larger
    than the whole budget is admitted alone.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._used = 0
        self.peak = 0  # the most bytes reserved at once
        self.refused = 0  # reservations that timed out

    @property
    def used(self) -> int:
        with self._cond:
            return self._used

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    @contextlib.contextmanager
    def reserve(self, nbytes: int, *, timeout: float) -> Iterator[None]:
        need = min(max(0, nbytes), self.max_bytes)
        ticket = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or self._used + need > self.max_bytes:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self.refused += 1
                        raise BudgetExhausted(f"{need} bytes not free within {timeout:g} s")
                    self._cond.wait(remaining)
                self._used += need
                self.peak = max(self.peak, self._used)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may fit now
        try:
            yield
        finally:
            with self._cond:
                self._used -= need
                self._cond.notify_all()


_budget: ByteBudget | None = None
_budget_lock = threading.Lock()


def ingest_budget() -> ByteBudget:
    """This process's budget (created on first use, i.e. in each gunicorn worker after the fork)."""
    global _budget
    with _budget_lock:
        if _budget is None:
            _budget = ByteBudget(settings.INGEST_IN_FLIGHT_MAX_BYTES)
        return _budget
