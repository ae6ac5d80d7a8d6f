"""`Batch`: events queued in memory and sent by a background thread through POST /api/v1/events.

An event leaves the queue only when the API has answered it: a batch that could not be sent (503,
429, 5xx after the client's retries, or the dashboard unreachable) goes back to the front of the
queue, in order, and is sent again later; an event the batch answer gives a 429 or 5xx is queued
again the same way. Events the API refuses (4xx: bad field, conflicting replay, outside the token's
limits) are kept in `rejected` and raised at close. The queue is bounded: when it is full, adding
an event raises QueueFull instead of growing without limit or dropping anything.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from . import events as ev
from .client import RETRY_STATUSES
from .errors import ApiError, BatchError, DashboardError, DashboardUnreachable, QueueFull

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("mimir_dashboard_client")


class Batch:
    """Queue events and send them in the background; `close()` (or leaving the `with` block) sends
    what is left, waiting up to `close_timeout` seconds, and raises BatchError for refused events
    and for any it could not send by then (they are in the error: never silently lost).

    `max_queue`: events held at most; `max_batch`: events per request; `flush_interval`: seconds an
    event may wait for others to fill a request; `retry_pause`: seconds between two rounds of
    sending while the dashboard is unavailable (the client's own retries run inside each round).
    """

    def __init__(self, client: Client, *, max_queue: int = 10_000, max_batch: int = 100,
                 flush_interval: float = 0.5, close_timeout: float = 300.0, retry_pause: float = 1.0):
        if max_queue < 1 or max_batch < 1:
            raise ValueError("max_queue and max_batch must be at least 1")
        self.client = client
        self.max_queue, self.max_batch = max_queue, max_batch
        self.flush_interval, self.close_timeout, self.retry_pause = flush_interval, close_timeout, retry_pause
        self.sent = 0  # events the API accepted (created, updated or replayed)
        self.requests = 0  # POST /events that were answered
        self.rejected: list[tuple[dict, int, dict]] = []
        self.last_error: DashboardError | None = None
        self._queue: collections.deque[dict] = collections.deque()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self._flush_now = False
        self._thread = threading.Thread(target=self._run, name="mimir-dashboard-batch", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ adding events

    def start_execution(self, execution_id: str, *, plan_id: str, total_tasks: int,
                        start_time: int | str | None = None) -> None:
        self.put(ev.start_event(execution_id, plan_id=plan_id, total_tasks=total_tasks, start_time=start_time))

    def record_task_result(self, execution_id: str, task_id: str, result: Any, *, task: Any = None) -> None:
        self.put(ev.task_event(execution_id, task_id, result=result, task=task))

    def finish_execution(self, execution_id: str, *, end_time: int | str | None = None,
                         cancelled: bool = False) -> None:
        self.put(ev.finish_event(execution_id, end_time=end_time, cancelled=cancelled))

    def put_plan(self, plan_id: str, plan: Any) -> None:
        self.put(ev.plan_event(plan_id, plan=plan))

    def put(self, event: dict) -> None:
        """Queue one event (`{type, ...}` as POST /api/v1/events takes it)."""
        with self._cond:
            if self._closing:
                raise DashboardError("the batch is closed")
            if len(self._queue) >= self.max_queue:
                raise QueueFull(
                    f"the batch queue is full ({len(self._queue)} events waiting, max_queue={self.max_queue}): "
                    f"the dashboard has not taken them (last error: {self.last_error}); the event was not queued"
                )
            self._queue.append(event)
            # The first event starts the flush_interval clock; a full request goes at once.
            if len(self._queue) == 1 or len(self._queue) >= self.max_batch:
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        """Events queued or being sent."""
        with self._cond:
            return len(self._queue) + self._in_flight

    # ------------------------------------------------------------ sending

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is queued now; True once nothing is pending (False: timed out)."""
        with self._cond:
            self._flush_now = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout)

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        self._thread.join(self.close_timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        # A send in progress finishes (within the client's bounded retries) and puts back what it
        # could not deliver: only then is the queue what was not sent.
        self._thread.join()
        unsent = list(self._queue)
        if self.rejected or unsent:
            raise BatchError(rejected=list(self.rejected), unsent=unsent, cause=self.last_error)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.close()
        except BatchError as error:
            if exc_type is None:
                raise
            # An exception is already on its way out: do not hide it, but say what was not sent.
            log.error("%s", error)

    def _next_chunk(self) -> list[dict] | None:
        with self._cond:
            deadline = time.monotonic() + self.flush_interval
            while not self._closed:
                if self._queue and (self._closing or self._flush_now or len(self._queue) >= self.max_batch
                                    or time.monotonic() >= deadline):
                    chunk = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
                    self._in_flight = len(chunk)
                    return chunk
                if not self._queue:
                    self._flush_now = False
                    if self._closing:
                        return None
                    self._cond.wait()
                    deadline = time.monotonic() + self.flush_interval
                else:
                    self._cond.wait(max(0.0, deadline - time.monotonic()))
            return None

    def _requeue(self, events: list[dict]) -> None:
        # Back to the front, in their order, ahead of what was queued meanwhile (the bound applies to
        # new events only: these were already accepted into the queue).
        self._queue.extendleft(reversed(events))

    def _run(self) -> None:
        while (chunk := self._next_chunk()) is not None:
            retry: list[dict] = []
            try:
                answer = self.client.send_events(chunk)
            except (DashboardUnreachable, ApiError) as error:
                if isinstance(error, ApiError) and error.status not in RETRY_STATUSES:
                    # The whole request was refused (e.g. 413): each of its events is refused.
                    with self._cond:
                        self.rejected += [(event, error.status, error.body) for event in chunk]
                else:
                    retry = chunk
                    self.last_error = error
            except Exception as error:  # noqa: BLE001 - an answer we cannot read (a proxy's page?) must not lose the chunk
                retry = chunk
                self.last_error = DashboardError(f"unreadable answer to POST /events: {error!r}")
            else:
                self.requests += 1
                answered = {item.index: item for item in answer.results}
                for index, event in enumerate(chunk):
                    item = answered.get(index)
                    if item is None or item.status in RETRY_STATUSES:
                        retry.append(event)
                    elif item.status >= 400:
                        self.rejected.append((event, item.status, item.body))
                    else:
                        self.sent += 1
            with self._cond:
                self._requeue(retry)
                self._in_flight = 0
                self._cond.notify_all()
                if retry:
                    log.warning("%d event(s) not taken (%s); sending again in %.1fs", len(retry), self.last_error,
                                self.retry_pause)
                    self._cond.wait_for(lambda: self._closed, self.retry_pause)
