"""`Client`: the ingest calls, the reads, and the retries that make them safe to lose."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from . import events as ev
from .errors import ApiError, DashboardUnreachable
from .models import (
    BatchOut,
    ExecutionDetailOut,
    ExecutionEventOut,
    ExecutionListOut,
    ExecutionOut,
    ExecutionResult,
    FailureReportOut,
    PlanDetailOut,
    PlanIn,
    PlanOut,
    PlanSummaryOut,
    TaskDefinition,
    TaskDetailOut,
    TaskResultOut,
)

log = logging.getLogger("mimir_dashboard_client")

# Worth trying again: the server is overloaded (429), Neo4j is unreachable (503, with Retry-After),
# a proxy lost the app (502, 504), or an unexpected error (500). Every call is idempotent, so a
# retry whose first try did land is answered as a replay and counts nothing twice.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class _RetryableAnswer(Exception):
    def __init__(self, response: requests.Response):
        self.response = response


def retry_after_seconds(response: requests.Response) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"error": "not_json", "detail": response.text[:500]}


class Client:
    """The dashboard's API at `url` (e.g. "https://dashboard.example.com"; the API is under /api/v1)
    with a token (`write` to ingest, `read` to read). Safe to share between threads.

    Each call is tried up to `max_attempts` times (the first included), on connection errors,
    timeouts (`timeout` seconds per attempt) and the statuses in RETRY_STATUSES, waiting what
    Retry-After says or else backing off exponentially from `backoff` seconds, with jitter; never
    more than `max_wait` seconds at a time. Any other error status raises ApiError at once.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, max_attempts: int = 6,
                 backoff: float = 0.5, max_wait: float = 60.0):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self._backoff = wait_exponential_jitter(initial=backoff, max=max_wait, jitter=backoff)
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        # requests' Session is not documented as thread-safe: one per thread.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    # ------------------------------------------------------------ plumbing

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self._headers)
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableAnswer):
            seconds = retry_after_seconds(error.response)
            if seconds is not None:
                return min(seconds, self.max_wait)
        return self._backoff(state)

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        what = f"answered {error.response.status_code}" if isinstance(error, _RetryableAnswer) else repr(error)
        log.warning("attempt %d %s; retrying in %.1fs", state.attempt_number, what,
                    state.next_action.sleep if state.next_action else 0.0)

    def _once(self, method: str, path: str, body: Any, params: dict | None) -> requests.Response:
        response = self._session().request(method, self.url + "/api/v1" + path, json=body, params=params,
                                           timeout=self.timeout)
        if response.status_code in RETRY_STATUSES:
            raise _RetryableAnswer(response)
        return response

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None) -> Any:
        """One API call (path under /api/v1), retried as the class says; its JSON answer."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableAnswer, *_NETWORK_ERRORS)),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(self._once, method, path, body, params)
        except _RetryableAnswer as exc:
            raise ApiError(method=method, path=path, status=exc.response.status_code, body=_json(exc.response),
                           attempts=retrying.statistics.get("attempt_number", 1)) from None
        except _NETWORK_ERRORS as exc:
            raise DashboardUnreachable(method=method, path=path, cause=exc,
                                       attempts=retrying.statistics.get("attempt_number", 1)) from exc
        if response.status_code >= 400:
            raise ApiError(method=method, path=path, status=response.status_code, body=_json(response),
                           attempts=retrying.statistics.get("attempt_number", 1))
        return _json(response)

    def _event(self, event: ev.Body) -> Any:
        method, path, body = ev.direct(event)
        return self.request(method, path, body=body)

    # ------------------------------------------------------------ ingest

    def start_execution(self, execution_id: str, *, plan_id: str, total_tasks: int,
                        start_time: int | str | None = None) -> ExecutionEventOut:
        """Announce an execution (start_time: epoch ms or ISO 8601; default now)."""
        event = ev.start_event(execution_id, plan_id=plan_id, total_tasks=total_tasks, start_time=start_time)
        return ExecutionEventOut.model_validate(self._event(event))

    def record_task_result(self, execution_id: str, task_id: str, result: ExecutionResult | dict[str, Any], *,
                           task: TaskDefinition | dict[str, Any] | None = None) -> TaskResultOut:
        """One attempt of a task (Mimir's ExecutionResult), with its definition when known."""
        return TaskResultOut.model_validate(self._event(ev.task_event(execution_id, task_id, result=result, task=task)))

    def finish_execution(self, execution_id: str, *, end_time: int | str | None = None,
                         cancelled: bool = False) -> ExecutionEventOut:
        event = ev.finish_event(execution_id, end_time=end_time, cancelled=cancelled)
        return ExecutionEventOut.model_validate(self._event(event))

    def put_plan(self, plan_id: str, plan: PlanIn | dict[str, Any]) -> PlanOut:
        return PlanOut.model_validate(self._event(ev.plan_event(plan_id, plan=plan)))

    def send_events(self, events: list[ev.Body]) -> BatchOut:
        """POST /api/v1/events: the events applied in order, one result each (see `batch` for a
        queue that sends them in the background)."""
        return BatchOut.model_validate(self.request("POST", "/events", body={"events": events}))

    def batch(self, **options: Any):
        """A background sender: `with client.batch() as batch: batch.record_task_result(...)`.
        Options: see Batch."""
        from .batch import Batch

        return Batch(self, **options)

    # ------------------------------------------------------------ reads

    def list_executions(self, *, status: str | None = None, plan: str | None = None, q: str | None = None,
                        started_from: date | str | None = None, started_to: date | str | None = None,
                        start_event: str | None = None, cursor: str | None = None,
                        limit: int | None = None) -> ExecutionListOut:
        """One page, newest first; its nextCursor (None on the last page) asks for the next."""
        params = {"status": status, "plan": plan, "q": q, "started_from": started_from, "started_to": started_to,
                  "start_event": start_event, "cursor": cursor, "limit": limit}
        return ExecutionListOut.model_validate(self.request("GET", "/executions", params=_query(params)))

    def iter_executions(self, **filters: Any) -> Iterator[ExecutionOut]:
        """Every execution the filters select (those of list_executions), page after page."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.list_executions(**filters, cursor=cursor)
            yield from page.executions
            if page.nextCursor is None:
                return
            cursor = page.nextCursor

    def get_execution(self, execution_id: str) -> ExecutionDetailOut:
        return ExecutionDetailOut.model_validate(self.request("GET", f"/executions/{ev.segment(execution_id)}"))

    def get_task(self, execution_id: str, task_id: str) -> TaskDetailOut:
        path = f"/executions/{ev.segment(execution_id)}/tasks/{ev.segment(task_id)}"
        return TaskDetailOut.model_validate(self.request("GET", path))

    def list_plans(self) -> list[PlanSummaryOut]:
        return [PlanSummaryOut.model_validate(p) for p in self.request("GET", "/plans")["plans"]]

    def get_plan(self, plan_id: str, *, limit: int | None = None) -> PlanDetailOut:
        answer = self.request("GET", f"/plans/{ev.segment(plan_id)}", params=_query({"limit": limit}))
        return PlanDetailOut.model_validate(answer)

    def failure_report(self, *, started_from: date | str | None = None, started_to: date | str | None = None,
                       plan: str | None = None) -> FailureReportOut:
        params = _query({"started_from": started_from, "started_to": started_to, "plan": plan})
        return FailureReportOut.model_validate(self.request("GET", "/reports/failures", params=params))


def _query(params: dict[str, Any]) -> dict[str, str]:
    return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in params.items() if v is not None}

