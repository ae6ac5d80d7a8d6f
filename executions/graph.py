"""Access to Neo4j, in one place: statements by name, transactions, retries, and the mapping of the
driver's errors to the product's (`DatabaseUnavailable`).

neomodel neither nests nor retries transactions, so the retry of transient errors (deadlocks,
leader switches) lives here, around a whole transaction or a whole auto-commit statement.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import neo4j.exceptions
from neomodel import db

from .cypher import statement
from .errors import DatabaseUnavailable

T = TypeVar("T")

MAX_TRANSIENT_RETRIES = 8
_UNREACHABLE = (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError)


def run(name: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """Run the named statement (executions/cypher/<name>.cypher) and return its rows. Inside
    `write_transaction`/`write_statement` it runs there; elsewhere on its own."""
    rows, _ = db.cypher_query(statement(name), params or {})
    return rows


def _with_retries(fn: Callable[[], T], *, transaction: bool) -> T:
    for attempt in range(MAX_TRANSIENT_RETRIES + 1):
        try:
            if not transaction:
                return fn()
            with db.write_transaction:
                return fn()
        except neo4j.exceptions.TransientError as exc:
            if attempt == MAX_TRANSIENT_RETRIES:
                raise DatabaseUnavailable(f"still busy after {attempt} retries: {exc}", busy=True) from exc
            time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        except _UNREACHABLE as exc:
            raise DatabaseUnavailable(str(exc)) from exc
    raise AssertionError("unreachable")


def write_transaction(fn: Callable[[], T]) -> T:
    """Run fn in one write transaction, retrying transient errors."""
    return _with_retries(fn, transaction=True)


def write_statement(fn: Callable[[], T]) -> T:
    """Run fn, which runs ONE statement outside any explicit transaction (Neo4j commits it on its
    own), retrying transient errors. A transient error rolls the statement back, so a retry cannot
    double it."""
    return _with_retries(fn, transaction=False)


def rolled_back(fn: Callable[[], T]) -> T:
    """Run fn in one write transaction and roll it back, retrying transient errors: what its writes
    would do, with nothing kept (a dry run)."""

    def attempt() -> T:
        db.begin()
        try:
            return fn()
        finally:
            db.rollback()

    return _with_retries(attempt, transaction=False)


def read(name: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """Run a named read statement, retrying transient errors."""
    return _with_retries(lambda: run(name, params), transaction=False)


def is_up() -> bool:
    try:
        read("pages/ping")
    except DatabaseUnavailable:
        return False
    return True
