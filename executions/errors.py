"""Domain errors: what went wrong, in the product's terms. Services and selectors raise these;
only the API layer (`executions.api`) and the page middleware turn them into HTTP answers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request the product refuses. `code` names the kind; `errors` name each field at fault."""

    code = "invalid"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def as_body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, "errors": self.errors}


class InvalidInput(ServiceError):
    code = "invalid"


class ConflictError(ServiceError):
    """What is stored disagrees with the request: an event recorded with different content, a name
    taken, a secret rotated by someone else meanwhile."""

    code = "conflict"


class NotFound(ServiceError):
    code = "not_found"


class Forbidden(ServiceError):
    """The caller is known but may not do this (its token lacks the scope)."""

    code = "forbidden"


class TooLargeToStore(ServiceError):
    """Neo4j refused to hold this write in one transaction: it needs more memory than one
    transaction may use (db.memory.transaction.max). Retrying the same write cannot help; smaller
    ones (fewer events per batch, a shorter output) can."""

    code = "too_large"


class DatabaseUnavailable(Exception):
    """Neo4j cannot be reached (or stayed busy through every retry): the caller may retry later."""

    def __init__(self, detail: str, *, busy: bool = False):
        super().__init__(detail)
        self.busy = busy


class TransactionTimedOut(DatabaseUnavailable):
    """Neo4j ended a write that ran longer than a transaction may (db.transaction.timeout): nothing of
    it was stored. The same write may finish when the database is less busy, and a smaller one sooner,
    so the caller is told to come back (503); a batch is split first (services.ingest)."""

    def __init__(self, detail: str):
        super().__init__(detail, busy=True)
