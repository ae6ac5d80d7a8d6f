"""Access to Neo4j, in one place: statements by name, transactions, retries, and the mapping of the
driver's errors to the product's (`DatabaseUnavailable`, `TooLargeToStore`).

neomodel neither nests nor retries transactions, so the retry of transient errors (deadlocks,
leader switches) lives here, around a whole transaction or a whole auto-commit statement.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import neo4j
import neo4j.exceptions
import neomodel
from django.conf import settings
from neomodel import db
from neomodel.sync_.database import ensure_connection

from . import metrics
from .cypher import statement
from .errors import DatabaseUnavailable, TooLargeToStore, TransactionTimedOut

T = TypeVar("T")

MAX_TRANSIENT_RETRIES = 8
_UNREACHABLE = (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError)
# Neo4j refused an allocation over one of its memory pools (a TransientError, GQL status 50N42). Its
# message ends with the setting whose limit was hit: "... db.memory.transaction.max threshold reached".
MEMORY_POOL_FULL = "Neo.TransientError.General.MemoryPoolOutOfMemoryError"
TRANSACTION_MEMORY_SETTING = "db.memory.transaction.max"
TOO_LARGE_DETAIL = (
    "too large for the graph database to store in one transaction (it needs more memory than one "
    "transaction may use, db.memory.transaction.max): send it in smaller parts (fewer events per "
    "batch, shorter texts)"
)


def _memory_refusal(exc: neo4j.exceptions.Neo4jError, *, write: bool) -> Exception:
    """What a MemoryPoolOutOfMemoryError means for the caller. Over the transaction's own limit the
    write is too large whatever else runs: `TooLargeToStore`, never retried. Over the limit of all
    transactions together (dbms.memory.transaction.total.max) it is the load, not the write: the
    caller is told to come back (`DatabaseUnavailable(busy)`, 503), and it is not retried here either,
    since every retry would put the same memory back on a database that has none to spare."""
    if write and TRANSACTION_MEMORY_SETTING in (exc.message or ""):
        return TooLargeToStore(TOO_LARGE_DETAIL, errors=[{"field": "body", "message": "too large to store at once"}])
    return DatabaseUnavailable(f"out of transaction memory: {exc.message}", busy=True)


# Neo4j ended a transaction that ran past db.transaction.timeout (the code's class and suffix vary
# with how the timeout was set: ...TransactionTimedOut, ...TransactionTimedOutClientConfiguration).
TRANSACTION_TIMED_OUT = ".Transaction.TransactionTimedOut"


def _timed_out(exc: neo4j.exceptions.Neo4jError) -> bool:
    return TRANSACTION_TIMED_OUT in (exc.code or "")


def run(name: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """Run the named statement (executions/cypher/<name>.cypher) and return its rows. Inside
    `write_transaction`/`write_statement` it runs there; elsewhere on its own."""
    rows, _ = db.cypher_query(statement(name), params or {})
    return rows


def _with_retries(fn: Callable[[], T], *, transaction: bool, write: bool = True) -> T:
    for attempt in range(MAX_TRANSIENT_RETRIES + 1):
        try:
            if not transaction:
                return fn()
            with db.write_transaction:
                return fn()
        except neo4j.exceptions.Neo4jError as exc:
            # Neither is retried here: the same work would take as long again, or the same memory.
            if _timed_out(exc):
                metrics.record_neo4j_error(kind="timed_out")
                raise TransactionTimedOut(f"the transaction ran longer than Neo4j allows: {exc.message}") from exc
            if not isinstance(exc, neo4j.exceptions.TransientError):
                raise
            if exc.code == MEMORY_POOL_FULL:
                metrics.record_neo4j_error(kind="out_of_memory")
                raise _memory_refusal(exc, write=write) from exc
            if attempt == MAX_TRANSIENT_RETRIES:
                metrics.record_neo4j_error(kind="busy")
                raise DatabaseUnavailable(f"still busy after {attempt} retries: {exc}", busy=True) from exc
            metrics.record_neo4j_error(kind="transient")
            time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        except _UNREACHABLE as exc:
            metrics.record_neo4j_error(kind="unreachable")
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


class _Reader:
    """Auto-commit statements in a session of read access: what lets a `neo4j://` URL route them
    to a follower or read replica of a cluster (and what Neo4j refuses a write in). neomodel runs
    auto-commit statements in write sessions only; its read transactions would cost a round trip
    and about half again the client CPU of a statement on the live page's poll."""

    db = db

    @ensure_connection
    def rows(self, text: str, params: dict[str, Any]) -> list[list[Any]]:
        timeout = neomodel.get_config().transaction_timeout
        query = neo4j.Query(text, timeout=timeout) if timeout is not None else text
        with self.db.driver.session(database=self.db._database_name, default_access_mode=neo4j.READ_ACCESS) as session:
            return [list(record.values()) for record in session.run(query, params)]


_reader = _Reader()


def read(name: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """Run a named read statement with read access (`_Reader`), retrying transient errors. Inside
    `write_transaction` it runs there instead, seeing that transaction's writes."""
    if db._active_transaction is not None:  # neomodel's transactions do not nest
        return run(name, params)
    return _with_retries(lambda: _reader.rows(statement(name), params or {}), transaction=False, write=False)


_pool: ThreadPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()
# Set in the pool's jobs: a job that calls concurrently() runs its reads itself, since waiting for
# the pool from inside it could wait for ever on a full pool.
_in_pool: contextvars.ContextVar[bool] = contextvars.ContextVar("in_read_pool", default=False)


def _read_pool() -> ThreadPoolExecutor:
    """The process's threads for concurrent reads, made at first use (so after gunicorn forks), and
    again if NEO4J_READ_CONCURRENCY changed (tests change it)."""
    global _pool, _pool_workers
    workers = settings.NEO4J_READ_CONCURRENCY - 1
    with _pool_lock:
        if _pool is None or _pool_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neo4j-read"), workers
        return _pool


def _pool_job(read: Callable[[], T]) -> T:
    _in_pool.set(True)
    return read()


def concurrently(*reads: Callable[[], T]) -> list[T]:
    """Call each of `reads` (independent functions that only read) and return their results in
    order, running up to NEO4J_READ_CONCURRENCY of them at once: Neo4j Community runs a statement on
    one core, so a page of several heavy statements waits for the longest rather than for their sum.
    The first runs in the calling thread, the others in a pool shared by the process (each in a copy
    of the caller's context). Inside `write_transaction`, inside a pool job, or with a concurrency of
    1, they run one after the other, here. Waits for all before raising the first error, so no read
    outlives the call."""
    if (len(reads) < 2 or settings.NEO4J_READ_CONCURRENCY < 2 or db._active_transaction is not None
            or _in_pool.get()):
        return [read() for read in reads]
    pool = _read_pool()
    futures: list[Future] = [pool.submit(contextvars.copy_context().run, _pool_job, read) for read in reads[1:]]
    results: list[Any] = []
    error: BaseException | None = None
    try:
        results.append(reads[0]())
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others finished
        error = exc
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:  # noqa: BLE001 - the first error is re-raised below
            error = error or exc
    if error is not None:
        raise error
    return results


def is_up() -> bool:
    try:
        read("pages/ping")
    except DatabaseUnavailable:
        return False
    return True
