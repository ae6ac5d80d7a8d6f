"""What the client raises. Every error is a DashboardError."""

from __future__ import annotations

from typing import Any


class DashboardError(Exception):
    """Base of the client's errors."""


class ApiError(DashboardError):
    """The API answered an error: a 4xx (never retried), or a 429/5xx that outlasted the retries.
    `error`, `detail` and `errors` ([{field, message}]) are the API's error body."""

    def __init__(self, *, method: str, path: str, status: int, body: Any, attempts: int):
        self.method, self.path, self.status, self.body, self.attempts = method, path, status, body, attempts
        body = body if isinstance(body, dict) else {}
        self.error: str | None = body.get("error")
        self.detail: str | None = body.get("detail")
        self.errors: list[dict[str, str]] = list(body.get("errors") or [])
        super().__init__(self._message())

    @property
    def fields(self) -> list[str]:
        """The fields the API named as wrong or conflicting."""
        return [item.get("field", "") for item in self.errors]

    def _message(self) -> str:
        line = f"{self.method} {self.path} answered {self.status}"
        if self.error:
            line += f" {self.error}"
        if self.detail:
            line += f": {self.detail}"
        if self.errors:
            line += " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in self.errors) + ")"
        if self.attempts > 1:
            line += f" after {self.attempts} attempts"
        return line


class DashboardUnreachable(DashboardError):
    """Every attempt failed to connect or timed out."""

    def __init__(self, *, method: str, path: str, attempts: int, cause: BaseException):
        self.method, self.path, self.attempts = method, path, attempts
        super().__init__(f"{method} {path}: dashboard unreachable after {attempts} attempts: {cause}")


class QueueFull(DashboardError):
    """A batch's in-memory queue is full (the dashboard has been unable to take events for a while).
    The event was not queued; nothing already queued is dropped."""


class BatchError(DashboardError):
    """A batch ended with events the API refused (`rejected`: [(event, status, body)]) or that could
    not be sent before the batch was closed (`unsent`: the events, in order)."""

    def __init__(self, *, rejected: list[tuple[dict, int, dict]], unsent: list[dict], cause: BaseException | None):
        self.rejected, self.unsent, self.cause = rejected, unsent, cause
        parts = []
        if rejected:
            parts.append(f"{len(rejected)} event(s) refused: " + "; ".join(
                f"#{i} {ev.get('type')} {status} {body.get('detail', '')} {body.get('errors', '')}".strip()
                for i, (ev, status, body) in enumerate(rejected[:5])))
        if unsent:
            parts.append(f"{len(unsent)} event(s) not sent ({cause})")
        super().__init__("; ".join(parts))
