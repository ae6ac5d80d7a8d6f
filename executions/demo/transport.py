"""How the demo orchestrator (`manage.py simulate`) reaches the ingest API: its own small HTTP
poster (`IngestClient`, the default), or our Python client (`--via-client`), so that the demo also
runs the client's retries and typed answers the way an orchestrator using it would. Both answer the
same five calls with the API's JSON answer as a dict, or None when the post was refused (warned) or
abandoned because the run is stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests
from pydantic import BaseModel

from mimir_dashboard_client import RETRY_STATUSES, ApiError, Client, DashboardUnreachable

REQUEST_TIMEOUT_SECONDS = 30
MAX_WAIT_SECONDS = 30  # longest pause between two tries of one post
SERVER_ERROR_TRIES = 3  # a 500 is probably a bug, not a blip: give up after a few tries


class IngestApi(Protocol):
    def put_plan(self, *, plan_id: str, workflow: dict[str, Any]) -> dict[str, Any] | None: ...
    def send_events(self, *, events: list[dict[str, Any]]) -> dict[str, Any] | None: ...
    def start_execution(self, *, body: dict[str, Any]) -> dict[str, Any] | None: ...
    def record_task_result(self, *, execution_id: str, body: dict[str, Any]) -> dict[str, Any] | None: ...
    def finish_execution(self, *, execution_id: str, body: dict[str, Any],
                         patient: bool = True) -> dict[str, Any] | None: ...


class _Trouble:
    """One warning when the server becomes unreachable and one when it is back, not one per post."""

    def __init__(self, warn: Callable[[str], None]):
        self.warn = warn
        self._lock = threading.Lock()
        self._since: float | None = None

    def begins(self, *, reason: str) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                self.warn(f"{reason}; holding posts and retrying them until the server answers")

    def over(self) -> None:
        with self._lock:
            if self._since is not None:
                self.warn(f"server answering again after {time.monotonic() - self._since:.0f}s")
                self._since = None


class TokenRejected(Exception):
    """The server refused the ingest token (401): nothing will work, so the run stops."""


class IngestClient:
    """Sends posts to the ingest API, retrying what may succeed later (503, 502/504, connection
    errors, timeouts) until it does or the run is stopped. Posts are idempotent, so re-sending one
    whose answer was lost is safe. Requests sessions are not thread-safe: one per thread."""

    def __init__(self, *, base_url: str, token: str, stop: threading.Event, warn: Callable[[str], None]):
        self.base_url = base_url.rstrip("/") + "/api/v1"
        self.token = token
        self.stop = stop
        self.warn = warn
        self._local = threading.local()
        self.trouble = _Trouble(warn)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            self._local.session = session
        return session

    def send(self, *, method: str, path: str, body: dict[str, Any], patient: bool = True) -> dict[str, Any] | None:
        """The answer's JSON body, or None when the post was refused (logged) or abandoned (stopping,
        or `patient=False` and the first try failed)."""
        backoff = 1.0
        server_errors = 0
        while True:
            try:
                response = self._session().request(method, self.base_url + path, json=body,
                                                   timeout=REQUEST_TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                reason, wait = f"{type(exc).__name__}", backoff
            else:
                status = response.status_code
                if status in (200, 201):
                    self.trouble.over()
                    return _json_or_empty(response)
                if status == 401:
                    raise TokenRejected(f"{method} {path}: the server refused the ingest token (401)")
                if status in (502, 503, 504):
                    reason, wait = f"HTTP {status} {_error_detail(response)}", _retry_after(response, default=backoff)
                elif status >= 500 and server_errors < SERVER_ERROR_TRIES - 1:
                    server_errors += 1
                    reason, wait = f"HTTP {status} {_error_detail(response)}", backoff
                else:
                    self.warn(f"{method} {path} refused: HTTP {status} {_error_detail(response)}")
                    return None
            if not patient or self.stop.is_set():
                return None
            self.trouble.begins(reason=f"{method} {path}: {reason}")
            if self.stop.wait(wait):
                return None
            backoff = min(backoff * 2, MAX_WAIT_SECONDS)


def _retry_after(response: requests.Response, *, default: float) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "")), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        return default


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    # A 2xx that is not our JSON (a proxy's page, say) still means the post landed.
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_detail(response: requests.Response) -> str:
    return str(_json_or_empty(response).get("detail") or response.text[:200]).strip()[:300]


class HttpApi:
    """The five calls over IngestClient."""

    def __init__(self, client: IngestClient):
        self.client = client

    def put_plan(self, *, plan_id: str, workflow: dict[str, Any]) -> dict[str, Any] | None:
        return self.client.send(method="PUT", path=f"/plans/{plan_id}", body=workflow)

    def send_events(self, *, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        return self.client.send(method="POST", path="/events", body={"events": events})

    def start_execution(self, *, body: dict[str, Any]) -> dict[str, Any] | None:
        return self.client.send(method="POST", path="/executions", body=body)

    def record_task_result(self, *, execution_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return self.client.send(method="POST", path=f"/executions/{execution_id}/tasks", body=body)

    def finish_execution(self, *, execution_id: str, body: dict[str, Any],
                         patient: bool = True) -> dict[str, Any] | None:
        return self.client.send(method="POST", path=f"/executions/{execution_id}/finish", body=body,
                                patient=patient)


class ClientApi:
    """The five calls through `mimir_dashboard_client.Client`. The client retries a call itself
    (Retry-After, backoff with jitter) up to its `max_attempts`; a call that outlasts them while the
    server is down is simply made again, as the HTTP poster does, until the run is stopped."""

    def __init__(self, *, base_url: str, token: str, stop: threading.Event, warn: Callable[[str], None]):
        self.client = Client(base_url, token, timeout=REQUEST_TIMEOUT_SECONDS, max_wait=MAX_WAIT_SECONDS)
        # When stopping, one try only: shutdown must not hang on a server that is down.
        self.once = Client(base_url, token, timeout=REQUEST_TIMEOUT_SECONDS, max_attempts=1)
        self.stop = stop
        self.warn = warn
        self.trouble = _Trouble(warn)

    def _call(self, what: str, call: Callable[[Client], BaseModel], *, patient: bool = True) -> dict[str, Any] | None:
        while True:
            try:
                answer = call(self.client if patient else self.once)
            except ApiError as exc:
                if exc.status == 401:
                    raise TokenRejected(f"{what}: the server refused the ingest token (401)") from None
                if exc.status not in RETRY_STATUSES:
                    self.warn(f"{what} refused: HTTP {exc.status} {exc.detail or exc.error or ''}".rstrip())
                    return None
                reason = f"HTTP {exc.status} after {exc.attempts} tries"
            except DashboardUnreachable as exc:
                reason = str(exc)
            else:
                self.trouble.over()
                return answer.model_dump(mode="json")
            if not patient or self.stop.is_set():
                return None
            self.trouble.begins(reason=f"{what}: {reason}")
            if self.stop.wait(1.0):
                return None

    def put_plan(self, *, plan_id: str, workflow: dict[str, Any]) -> dict[str, Any] | None:
        return self._call(f"PUT plan {plan_id}", lambda c: c.put_plan(plan_id, workflow))

    def send_events(self, *, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        return self._call(f"POST {len(events)} events", lambda c: c.send_events(events))

    def start_execution(self, *, body: dict[str, Any]) -> dict[str, Any] | None:
        return self._call(
            f"start {body['executionId']}",
            lambda c: c.start_execution(body["executionId"], plan_id=body["planId"], total_tasks=body["totalTasks"],
                                        start_time=body["startTime"]),
        )

    def record_task_result(self, *, execution_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return self._call(
            f"result of {execution_id}/{body['taskId']}",
            lambda c: c.record_task_result(execution_id, body["taskId"], body["result"], task=body.get("task")),
        )

    def finish_execution(self, *, execution_id: str, body: dict[str, Any],
                         patient: bool = True) -> dict[str, Any] | None:
        return self._call(
            f"finish {execution_id}",
            lambda c: c.finish_execution(execution_id, end_time=body["endTime"], cancelled=body["cancelled"]),
            patient=patient,
        )
