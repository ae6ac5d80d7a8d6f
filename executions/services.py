"""Writes to the graph of record. Every public function here is one Neo4j transaction.

Counters, statuses and FAILED_TASK links are never supplied by callers: after each write they
are recomputed by Neo4j from the stored attempts, under a write lock on the execution node, so
parallel posts, retries and replays cannot double-count or lose an update (Mimir bug 3).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, TypeVar

import neo4j.exceptions
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone
from neomodel import db

from . import schemas
from .models import IngestToken

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TRANSIENT_RETRIES = 8


# ---------------------------------------------------------------- errors


class ServiceError(Exception):
    status = 400
    error = "invalid"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def as_body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, "errors": self.errors}


class InvalidInput(ServiceError):
    status = 400
    error = "invalid"


class ConflictError(ServiceError):
    """The event was already recorded with different content."""

    status = 409
    error = "conflict"


class NotFound(ServiceError):
    status = 404
    error = "not_found"


class DatabaseUnavailable(Exception):
    """Neo4j cannot be reached; callers answer 503 and the client retries."""


def now_ms() -> int:
    return int(time.time() * 1000)


def _with_retries(fn: Callable[[], T], *, transaction: bool) -> T:
    for attempt in range(MAX_TRANSIENT_RETRIES + 1):
        try:
            if not transaction:
                return fn()
            with db.write_transaction:
                return fn()
        except neo4j.exceptions.TransientError:
            if attempt == MAX_TRANSIENT_RETRIES:
                raise
            time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError) as exc:
            raise DatabaseUnavailable(str(exc)) from exc
    raise AssertionError("unreachable")


def run_write(fn: Callable[[], T]) -> T:
    """Run fn in one write transaction, retrying transient errors (deadlocks, leader switches).

    neomodel neither nests nor retries transactions, so the retry lives here at the service boundary.
    """
    return _with_retries(fn, transaction=True)


def run_statement(fn: Callable[[], T]) -> T:
    """Run fn, which runs ONE statement outside any explicit transaction (Neo4j commits it on its own),
    retrying transient errors. A transient error rolls the statement back, so a retry cannot double it."""
    return _with_retries(fn, transaction=False)


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ---------------------------------------------------------------- Cypher

_LOCK_EXECUTIONS = """
UNWIND $eids AS eid
MERGE (e:OrchestrationExecution {executionId: eid})
ON CREATE SET e.status = 'running', e.started = false, e.finished = false, e.cancelled = false,
  e.tasksTotal = 0, e.tasksSuccessful = 0, e.tasksFailed = 0, e.tokensInput = 0,
  e.tokensOutput = 0, e.tokensTotal = 0, e.toolCalls = 0, e.version = 0,
  e.created = $now, e.updated = $now, e.lastEventAt = $now
// A real write, so this transaction holds the execution's lock until it commits: every
// read below sees all committed task results and no other writer can interleave.
SET e.lockNonce = $nonce
"""


_READ_EXECUTION_STATE = """
MATCH (e:OrchestrationExecution {executionId: $eid})
RETURN e.started AS started, e.planId AS planId, e.tasksTotal AS totalTasks, e.startTime AS startTime,
       e.finished AS finished, e.endTime AS endTime, e.cancelled AS cancelled
"""

_RECORD_START = """
MATCH (e:OrchestrationExecution {executionId: $eid})
SET e.planId = $planId, e.tasksTotal = $totalTasks, e.startTime = $startTime, e.started = true
MERGE (p:Plan {planId: $planId})
ON CREATE SET p.registered = false, p.taskCount = 0, p.created = $now, p.updated = $now
MERGE (e)-[:EXECUTES_PLAN]->(p)
"""

_RECORD_FINISH = """
MATCH (e:OrchestrationExecution {executionId: $eid})
SET e.endTime = $endTime, e.cancelled = $cancelled, e.finished = true
"""

# Task results, in steps run in order (each CALL sees the writes of the ones before):
# 1. conflicts: an attempt already recorded from a result with other content refuses the whole
#    write (nothing below runs); 2. the attempts themselves (an attempt known only from a later
#    result's QC history gets its full record now); 3. attempts known only from QC history;
# then _REFRESH_TASKS_PART. Rows carry unique attempt ids (the service settles duplicates first).
_TASK_RESULTS_PART = """
CALL () {
  UNWIND $rows AS r
  OPTIONAL MATCH (old:TaskAttempt {attemptId: r.aid})
  WITH r, old WHERE old.source = 'result' AND old.contentHash <> r.props.contentHash
  RETURN collect({idx: r.idx, differing: [k IN r.contentKeys
           WHERE NOT (old[k] = r.props[k] OR (old[k] IS NULL AND r.props[k] IS NULL))]}) AS conflicts
}
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $rows ELSE [] END AS r
  MATCH (e:OrchestrationExecution {executionId: r.eid})
  MERGE (t:TaskExecution {taskExecutionId: r.teid})
  ON CREATE SET t.executionId = r.eid, t.taskId = r.taskId, t.created = $now
  SET t.taskTitle = coalesce(r.title, t.taskTitle, r.taskId),
      t.parallelGroup = coalesce(r.parallelGroup, t.parallelGroup),
      t.qcRoleDescription = coalesce(r.qcRole, t.qcRoleDescription)
  MERGE (e)-[:HAS_TASK_EXECUTION]->(t)
  MERGE (a:TaskAttempt {attemptId: r.aid})
  ON CREATE SET a += r.props, a.source = 'result', a.nonce = r.nonce
  WITH r, t, a, a.nonce = r.nonce AS created, a.source = 'history' AS upgraded
  MERGE (t)-[:HAS_ATTEMPT]->(a)
  FOREACH (_ IN CASE WHEN upgraded THEN [1] ELSE [] END |
    SET a += r.props, a.source = 'result', a.nonce = r.nonce)
  RETURN collect({idx: r.idx, eid: r.eid, created: created, upgraded: upgraded}) AS recorded
}
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $history ELSE [] END AS h
  MATCH (t:TaskExecution {taskExecutionId: h.teid})
  MERGE (a:TaskAttempt {attemptId: h.aid})
  ON CREATE SET a += h.props, a.source = 'history'
  MERGE (t)-[:HAS_ATTEMPT]->(a)
  RETURN count(*) AS historyRows
}
"""

# (e)-[rel]->(t) exists exactly while `flag` holds.
_KEEP_LINK = """
  CALL (e, t, {flag}) {{
    OPTIONAL MATCH (e)-[link:{rel}]->(t)
    FOREACH (_ IN CASE WHEN {flag} AND link IS NULL THEN [1] ELSE [] END | CREATE (e)-[:{rel}]->(t))
    FOREACH (_ IN CASE WHEN NOT {flag} AND link IS NOT NULL THEN [1] ELSE [] END | DELETE link)
  }}
"""

# Each task execution mirrors its latest attempt. Links that the failure report walks instead of
# reading every task: FAILED_TASK while the latest attempt failed, QC_FAILED_TASK while any attempt
# failed QC, RETRIED_TASK while the latest attempt passed after earlier ones.
_REFRESH_TASKS_PART = ("""
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $teids ELSE [] END AS teid
  MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t:TaskExecution {taskExecutionId: teid})
  CALL (t) {
    MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
    WITH a ORDER BY a.attemptNumber DESC
    WITH collect(a) AS attempts
    RETURN attempts[0] AS latest, size(attempts) AS attemptCount,
           any(x IN attempts WHERE x.qcPassed = false) AS qcFailed
  }
  SET t += latest {.status, .output, .error, .prompt, .agentRoleDescription, .durationMs, .tokensInput,
                   .tokensOutput, .tokensTotal, .toolCalls, .attemptNumber, .qcPassed, .qcScore,
                   .qcFeedback, .qcIssues, .qcRequiredFixes, .timestamp},
      t.attemptCount = attemptCount
  WITH e, t, qcFailed, latest.status = 'failure' AS failed,
       latest.status = 'success' AND (attemptCount > 1 OR latest.attemptNumber > 1) AS retried
"""
    + "".join(
        _KEEP_LINK.format(flag=flag, rel=rel)
        for flag, rel in (("failed", "FAILED_TASK"), ("qcFailed", "QC_FAILED_TASK"), ("retried", "RETRIED_TASK"))
    )
    + """  RETURN count(*) AS refreshedTasks
}
""")


# Counters derive from stored facts: task status from each task's latest attempt; tokens and
# tool calls from every attempt (retries cost real tokens). `changed` lists the executions whose
# version moves (replays leave it alone so that live pages do not re-render for nothing).
_REFRESH_PART = """
CALL (conflicts, changed) {
  UNWIND CASE WHEN conflicts = [] THEN $eids ELSE [] END AS eid
  MATCH (e:OrchestrationExecution {executionId: eid})
  CALL (e) {
    OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
    WITH t ORDER BY t.taskId
    RETURN count(CASE WHEN t.status = 'success' THEN 1 END) AS ok,
           count(CASE WHEN t.status = 'failure' THEN 1 END) AS bad, collect(t.taskId) AS taskIds,
           collect(t.taskTitle) AS titles
  }
  CALL (e) {
    OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
    RETURN coalesce(sum(a.tokensInput), 0) AS tin, coalesce(sum(a.tokensOutput), 0) AS tout,
           coalesce(sum(a.toolCalls), 0) AS calls,
           coalesce(sum(CASE WHEN a.status = 'failure' THEN a.tokensTotal END), 0) AS rework
  }
  WITH e, ok, bad, taskIds, titles, tin, tout, calls, rework, eid IN changed AS moved
  SET e.tasksSuccessful = ok, e.tasksFailed = bad,
      e.tokensInput = tin, e.tokensOutput = tout, e.tokensTotal = tin + tout, e.toolCalls = calls,
      // For the failure report: tokens spent on failed attempts, and the task ids (its per-task
      // denominators count these lists instead of reading every task execution).
      e.reworkTokens = rework, e.taskIds = taskIds,
      // For the list's case-insensitive search: ids and task titles, one per line.
      e.searchText = toLower(reduce(text = e.executionId + '\n' + coalesce(e.planId, ''), title IN titles |
                                    text + '\n' + title)),
      e.status = CASE WHEN NOT e.finished THEN 'running' WHEN e.cancelled THEN 'cancelled'
                      WHEN bad > 0 THEN 'failed' ELSE 'completed' END,
      e.durationMs = CASE WHEN e.startTime IS NOT NULL AND e.endTime IS NOT NULL
                          THEN e.endTime - e.startTime ELSE null END,
      e.version = e.version + CASE WHEN moved THEN 1 ELSE 0 END,
      e.updated = CASE WHEN moved THEN $now ELSE e.updated END,
      e.lastEventAt = CASE WHEN moved THEN $now ELSE e.lastEventAt END
  RETURN collect(e {.executionId, .planId, .status, .started, .finished, .startTime, .endTime, .durationMs,
                    .tasksTotal, .tasksSuccessful, .tasksFailed, .tokensInput, .tokensOutput, .tokensTotal,
                    .toolCalls, .version}) AS executions
}
"""

# Inside a transaction that already holds the locks (batches mixing event kinds).
_RECORD_TASK_RESULTS = _TASK_RESULTS_PART + _REFRESH_TASKS_PART + "RETURN conflicts, recorded\n"

_REFRESH_EXECUTIONS = "WITH [] AS conflicts, $changed AS changed\n" + _REFRESH_PART + "RETURN executions\n"

_TASK_EXECUTION_IDS = """
MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t:TaskExecution) WHERE e.executionId IN $eids
RETURN collect(t.taskExecutionId) AS teids
"""

_REFRESH_TASKS = "WITH [] AS conflicts\n" + _REFRESH_TASKS_PART + "RETURN refreshedTasks\n"

_EXECUTION_ID_PAGE = """
MATCH (e:OrchestrationExecution) WHERE e.executionId > $after
WITH e.executionId AS eid ORDER BY eid LIMIT $limit
RETURN collect(eid) AS eids
"""

# The whole write of a run of task results as ONE statement, so that it runs as one auto-commit
# transaction in one round trip: the execution locks are held only while Neo4j executes it.
TASK_RESULTS_WRITE = (
    "CALL () {" + _LOCK_EXECUTIONS + "RETURN count(*) AS locked\n}\n"
    + _TASK_RESULTS_PART
    + _REFRESH_TASKS_PART
    + "WITH conflicts, recorded, [x IN recorded WHERE x.created OR x.upgraded | x.eid] AS changed\n"
    + _REFRESH_PART
    + "RETURN conflicts, recorded, executions\n"
)

_UPSERT_PLAN = """
MERGE (p:Plan {planId: $planId})
ON CREATE SET p.created = $now
WITH p, p.contentHash = $contentHash AS same
SET p += $props, p.registered = true,
    p.updated = CASE WHEN same THEN p.updated ELSE $now END
RETURN same
"""


# ---------------------------------------------------------------- event application


@dataclass
class Outcome:
    """What one event did: HTTP-ish status and body (execution counters are filled in last)."""

    status: int
    body: dict[str, Any]
    execution_id: str | None = None


@dataclass
class _Batch:
    now: int
    changed: set[str] = field(default_factory=set)


def _attempt_props(
    result: schemas.ExecutionResult, attempt_number: int, now: int
) -> tuple[dict[str, Any], list[str]]:
    """The attempt's stored properties, and the keys that make up its content (for conflicts)."""
    qc = result.qcVerification
    history = result.qcVerificationHistory or []
    if qc is None and len(history) >= attempt_number:
        qc = history[attempt_number - 1]
    tokens_in = result.tokens.input if result.tokens else 0
    tokens_out = result.tokens.output if result.tokens else 0
    content: dict[str, Any] = {
        "attemptNumber": attempt_number,
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "prompt": result.prompt,
        "agentRoleDescription": result.agentRoleDescription,
        "durationMs": result.duration,
        "tokensInput": tokens_in,
        "tokensOutput": tokens_out,
        "tokensTotal": tokens_in + tokens_out,
        "toolCalls": result.toolCalls,
        "qcPassed": qc.passed if qc else None,
        "qcScore": qc.score if qc else None,
        "qcFeedback": qc.feedback if qc else None,
        "qcIssues": list(qc.issues) if qc else None,
        "qcRequiredFixes": list(qc.requiredFixes) if qc else None,
        # A replay must not conflict because the server's clock moved: only a client-supplied
        # completion time is part of the content.
        "timestamp": result.timestamp,
    }
    props = dict(content)
    props["contentHash"] = _hash(content)
    content_keys = list(content)
    if props["timestamp"] is None:
        props["timestamp"] = now
        content_keys.remove("timestamp")
    return props, content_keys


def _history_props(qc: schemas.QCResult, attempt_number: int) -> dict[str, Any]:
    return {
        "attemptNumber": attempt_number,
        "status": "success" if qc.passed else "failure",
        "qcPassed": qc.passed,
        "qcScore": qc.score,
        "qcFeedback": qc.feedback,
        "qcIssues": list(qc.issues),
        "qcRequiredFixes": list(qc.requiredFixes),
        "timestamp": qc.timestamp,
    }


@dataclass
class _TaskResultsWrite:
    """The parameters of one task-results write, and what the service needs to answer each event."""

    params: dict[str, Any]
    meta: dict[int, tuple[str, str, str, int]]  # row idx -> (executionId, taskExecutionId, taskId, attemptNumber)
    duplicates: dict[int, Outcome]  # later copies, in the same write, of an attempt it already carries

    @property
    def execution_ids(self) -> list[str]:
        return sorted({m[0] for m in self.meta.values()})


def task_results_write(*, now: int, items: list[tuple[int, str, schemas.TaskResultIn]]) -> _TaskResultsWrite:
    """Build the parameters of TASK_RESULTS_WRITE / _RECORD_TASK_RESULTS for (index, executionId, result)."""
    rows: list[dict[str, Any]] = []
    history_rows: list[dict[str, Any]] = []
    meta: dict[int, tuple[str, str, str, int]] = {}
    duplicates: dict[int, Outcome] = {}
    first_by_aid: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for idx, eid, ev in items:
        result = ev.result
        history = result.qcVerificationHistory or []
        attempt_number = result.attemptNumber or max(1, len(history))
        teid = f"{eid}-{ev.taskId}"
        aid = f"{teid}#{attempt_number}"
        props, content_keys = _attempt_props(result, attempt_number, now)
        body = {"id": teid, "executionId": eid, "taskId": ev.taskId, "attemptNumber": attempt_number}
        if aid in first_by_aid:
            # The same attempt twice in one write: identical content is a replay of the first copy.
            first_props, _ = first_by_aid[aid]
            if first_props["contentHash"] != props["contentHash"]:
                differing = [k for k in content_keys if first_props.get(k) != props.get(k)]
                raise _conflict(eid, ev.taskId, attempt_number, differing)
            duplicates[idx] = Outcome(status=200, body={**body, "replayed": True}, execution_id=eid)
            continue
        first_by_aid[aid] = (props, content_keys)
        task = ev.task
        rows.append(
            {
                "idx": idx,
                "eid": eid,
                "teid": teid,
                "taskId": ev.taskId,
                "aid": aid,
                "nonce": uuid.uuid4().hex,
                "title": task.title if task else None,
                "parallelGroup": task.parallelGroup if task else None,
                "qcRole": task.qcRole if task else None,
                "props": props,
                "contentKeys": content_keys,
            }
        )
        for number, qc in enumerate(history[: attempt_number - 1], start=1):
            history_rows.append({"teid": teid, "aid": f"{teid}#{number}", "props": _history_props(qc, number)})
        meta[idx] = (eid, teid, ev.taskId, attempt_number)
    params = {"rows": rows, "history": history_rows, "teids": sorted({r["teid"] for r in rows})}
    return _TaskResultsWrite(params=params, meta=meta, duplicates=duplicates)


def _conflict(eid: str, task_id: str, attempt_number: int, differing: list[str]) -> ConflictError:
    return ConflictError(
        f"attempt {attempt_number} of task {task_id!r} in execution {eid!r} was already recorded "
        f"with different content ({', '.join(differing) or 'content'} differ)",
        errors=[{"field": f"result.{k}", "message": "differs from the recorded attempt"} for k in differing],
    )


def _task_outcomes(write: _TaskResultsWrite, conflicts: list[dict], recorded: list[dict]) -> dict[int, Outcome]:
    """Answer each event from what the statement reported; a conflict refuses the whole write."""
    if conflicts:
        first = min(conflicts, key=lambda c: c["idx"])
        eid, _teid, task_id, attempt_number = write.meta[first["idx"]]
        raise _conflict(eid, task_id, attempt_number, first["differing"])
    outcomes = dict(write.duplicates)
    for rec in recorded:
        eid, teid, task_id, attempt_number = write.meta[rec["idx"]]
        replayed = not rec["created"] and not rec["upgraded"]
        body = {"id": teid, "executionId": eid, "taskId": task_id, "attemptNumber": attempt_number, "replayed": replayed}
        outcomes[rec["idx"]] = Outcome(status=200 if replayed else 201, body=body, execution_id=eid)
    return outcomes


def _changed_executions(outcomes: dict[int, Outcome]) -> set[str]:
    return {o.execution_id for o in outcomes.values() if o.status == 201 and o.execution_id}


def _record_task_results(batch: _Batch, items: list[tuple[int, str, schemas.TaskResultIn]]) -> dict[int, Outcome]:
    """A run of task results inside a transaction that already holds the execution locks."""
    write = task_results_write(now=batch.now, items=items)
    (row,), _ = db.cypher_query(_RECORD_TASK_RESULTS, {**write.params, "now": batch.now})
    outcomes = _task_outcomes(write, conflicts=row[0], recorded=row[1])
    batch.changed |= _changed_executions(outcomes)
    return outcomes


def _apply_task_results(events: list[tuple[int, Any]]) -> dict[int, Outcome]:
    """Only task results: the whole write is one statement in one auto-commit transaction."""
    now = now_ms()
    write = task_results_write(now=now, items=[(idx, ev.executionId, ev) for idx, ev in events])
    params = {**write.params, "eids": write.execution_ids, "now": now, "nonce": uuid.uuid4().hex}
    (row,), _ = run_statement(lambda: db.cypher_query(TASK_RESULTS_WRITE, params))
    outcomes = _task_outcomes(write, conflicts=row[0], recorded=row[1])
    counters = {c["executionId"]: c for c in row[2]}
    for outcome in outcomes.values():
        outcome.body["execution"] = counters[outcome.execution_id]
    return outcomes


def _record_start(batch: _Batch, ev: schemas.ExecutionStartIn) -> Outcome:
    eid = ev.executionId
    (state,), _ = db.cypher_query(_READ_EXECUTION_STATE, {"eid": eid})
    started, plan_id, total, start_time, finished, end_time, _cancelled = state
    if started:
        wanted = {"planId": ev.planId, "totalTasks": ev.totalTasks, "startTime": ev.startTime}
        stored = {"planId": plan_id, "totalTasks": total, "startTime": start_time}
        differing = [k for k in wanted if wanted[k] != stored[k]]
        if differing:
            raise ConflictError(
                f"execution {eid!r} was already started with different {', '.join(differing)}",
                errors=[{"field": k, "message": f"already recorded as {stored[k]!r}"} for k in differing],
            )
        return Outcome(status=200, body={"replayed": True}, execution_id=eid)
    if finished and end_time is not None and end_time < ev.startTime:
        raise InvalidInput(
            "startTime is after the execution's recorded endTime",
            errors=[{"field": "startTime", "message": f"must not be after endTime {end_time}"}],
        )
    db.cypher_query(
        _RECORD_START,
        {"eid": eid, "planId": ev.planId, "totalTasks": ev.totalTasks, "startTime": ev.startTime, "now": batch.now},
    )
    batch.changed.add(eid)
    return Outcome(status=201, body={"replayed": False}, execution_id=eid)


def _record_finish(batch: _Batch, eid: str, ev: schemas.ExecutionFinishIn) -> Outcome:
    (state,), _ = db.cypher_query(_READ_EXECUTION_STATE, {"eid": eid})
    started, _plan, _total, start_time, finished, end_time, cancelled = state
    if finished:
        wanted = {"endTime": ev.endTime, "cancelled": ev.cancelled}
        stored = {"endTime": end_time, "cancelled": cancelled}
        differing = [k for k in wanted if wanted[k] != stored[k]]
        if differing:
            raise ConflictError(
                f"execution {eid!r} was already finished with different {', '.join(differing)}",
                errors=[{"field": k, "message": f"already recorded as {stored[k]!r}"} for k in differing],
            )
        return Outcome(status=200, body={"replayed": True}, execution_id=eid)
    if started and start_time is not None and ev.endTime < start_time:
        raise InvalidInput(
            "endTime is before the execution's startTime",
            errors=[{"field": "endTime", "message": f"must not be before startTime {start_time}"}],
        )
    db.cypher_query(_RECORD_FINISH, {"eid": eid, "endTime": ev.endTime, "cancelled": ev.cancelled})
    batch.changed.add(eid)
    return Outcome(status=201, body={"replayed": False}, execution_id=eid)


def _record_plan(batch: _Batch, plan_id: str, ev: schemas.PlanIn) -> Outcome:
    tasks = [t.model_dump(mode="json", exclude_none=True) for t in ev.tasks]
    props = {
        "title": ev.title or ev.name or plan_id,
        "description": ev.description or ev.goal,
        "version": ev.version,
        "tasks": json.dumps(tasks),
        "parallelGroups": json.dumps(ev.parallelGroups) if ev.parallelGroups is not None else None,
        "taskCount": len(tasks),
    }
    content_hash = _hash(props)
    props["contentHash"] = content_hash
    (row,), _ = db.cypher_query(
        _UPSERT_PLAN, {"planId": plan_id, "props": props, "contentHash": content_hash, "now": batch.now}
    )
    same = bool(row[0])
    body = {"planId": plan_id, "title": props["title"], "taskCount": len(tasks), "replayed": same}
    return Outcome(status=200, body=body)


def _event_execution_id(ev: Any) -> str | None:
    # A plan event names no execution (an `executionId` in its body is an ignored extra field).
    return None if isinstance(ev, schemas.PlanEvent) else ev.executionId


def _apply_in_tx(events: list[tuple[int, Any]]) -> dict[int, Outcome]:
    """Apply (index, event) pairs in order inside the open transaction."""
    batch = _Batch(now=now_ms())
    eids = sorted({eid for _, ev in events if (eid := _event_execution_id(ev))})
    if eids:
        # Lock in a fixed order so that concurrent batches cannot deadlock on each other.
        db.cypher_query(_LOCK_EXECUTIONS, {"eids": eids, "now": batch.now, "nonce": uuid.uuid4().hex})
    outcomes: dict[int, Outcome] = {}
    pos = 0
    while pos < len(events):
        idx, ev = events[pos]
        if isinstance(ev, schemas.TaskResultEvent):
            run = []
            while pos < len(events) and isinstance(events[pos][1], schemas.TaskResultEvent):
                run.append((events[pos][0], events[pos][1].executionId, events[pos][1]))
                pos += 1
            outcomes.update(_record_task_results(batch, run))
            continue
        if isinstance(ev, schemas.StartEvent):
            outcomes[idx] = _record_start(batch, ev)
        elif isinstance(ev, schemas.FinishEvent):
            outcomes[idx] = _record_finish(batch, ev.executionId, ev)
        elif isinstance(ev, schemas.PlanEvent):
            outcomes[idx] = _record_plan(batch, ev.planId, ev)
        else:  # pragma: no cover - the schema's discriminator admits nothing else
            raise TypeError(type(ev))
        pos += 1
    if eids:
        (row,), _ = db.cypher_query(
            _REFRESH_EXECUTIONS, {"eids": eids, "changed": sorted(batch.changed), "now": batch.now}
        )
        counters = {c["executionId"]: c for c in row[0]}
        for outcome in outcomes.values():
            if outcome.execution_id:
                outcome.body["execution"] = counters[outcome.execution_id]
    return outcomes


def _apply(events: list[tuple[int, Any]]) -> dict[int, Outcome]:
    if all(isinstance(ev, schemas.TaskResultEvent) for _, ev in events):
        return _apply_task_results(events)
    return run_write(lambda: _apply_in_tx(events))


def _apply_one(event: Any) -> Outcome:
    return _apply([(0, event)])[0]


def _apply_one_by_one(events: list[tuple[int, Any]]) -> dict[int, Outcome | ServiceError]:
    """Each event in its own transaction, after their joint write was refused: the good ones land
    and each refused one gets its own reason."""
    answers: dict[int, Outcome | ServiceError] = {}
    for idx, ev in events:
        try:
            answers[idx] = _apply([(idx, ev)])[idx]
        except ServiceError as exc:
            answers[idx] = exc
    return answers


# ---------------------------------------------------------------- group commit of single results


class _Waiting:
    """One task result posted on its own, waiting for its write."""

    __slots__ = ("event", "turn", "done", "outcome", "error")

    def __init__(self, event: Any):
        self.event = event
        self.turn = threading.Event()  # set when answered, or when it is this request's turn to write
        self.done = False
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    def answer(self, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        self.outcome, self.error, self.done = outcome, error, True
        self.turn.set()

    def result(self) -> Outcome:
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


class GroupCommit:
    """Group commit for task results posted one per request.

    Orchestrators post each result as its task finishes, many at once. While one write is in Neo4j,
    the results that arrive in other threads of this process wait for it, then go together as ONE
    statement (the batch endpoint's) instead of one statement each: Neo4j's CPU per result falls with
    the group's size (1.6 ms alone, 1.2 ms under the benchmark's 16 clients, 0.4 ms in batches of
    200: docs/benchmarks.md). No timer: a result waits only for the write ahead of it,
    and a lone result is written at once. Whoever's turn it is writes, so no thread is added.

    Every request still gets its own answer. The write is one auto-commit transaction, as before;
    if Neo4j refuses the group's write as a whole (a conflicting replay refuses it), the group's
    results are written one by one, so only the conflicting one is refused.
    """

    def __init__(self, *, max_size: int):
        self.max_size = max_size
        self._lock = threading.Lock()
        self._waiting: deque[_Waiting] = deque()
        self._writing = False
        # Statements that went through and the results they answered: what grouping achieved.
        self.writes = 0
        self.results = 0

    def submit(self, event: Any) -> Outcome:
        me = _Waiting(event)
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
            group = [self._waiting.popleft() for _ in range(min(self.max_size, len(self._waiting)))]
        try:
            self._write(group)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].turn.set()
                else:
                    self._writing = False
        return me.result()

    def _write(self, group: list[_Waiting]) -> None:
        try:
            outcomes = self._statement(group)
            for i, w in enumerate(group):
                w.answer(outcomes[i])
        except ServiceError as exc:
            if len(group) == 1:
                group[0].answer(error=exc)
            else:
                answers = _apply_one_by_one([(i, w.event) for i, w in enumerate(group)])
                written = sum(isinstance(a, Outcome) for a in answers.values())
                self._count(writes=written, results=written)
                for i, w in enumerate(group):
                    answer = answers[i]
                    if isinstance(answer, Outcome):
                        w.answer(answer)
                    else:
                        w.answer(error=answer)
        except Exception as exc:  # noqa: BLE001 - Neo4j down or busy, or a bug: each request of the group answers it
            for w in group:
                w.answer(error=exc)
        finally:
            for w in group:
                if not w.done:  # interrupted (the worker is shutting down): nobody may wait forever
                    w.answer(error=RuntimeError("the group write was interrupted"))

    def _statement(self, group: list[_Waiting]) -> dict[int, Outcome]:
        outcomes = _apply_task_results([(i, w.event) for i, w in enumerate(group)])
        self._count(writes=1, results=len(group))
        return outcomes

    def _count(self, *, writes: int, results: int) -> None:
        with self._lock:
            self.writes += writes
            self.results += results


_group_commit: GroupCommit | None = None
_group_commit_lock = threading.Lock()


def group_commit() -> GroupCommit:
    """This process's group commit (created on first use: after gunicorn forks its workers)."""
    global _group_commit
    with _group_commit_lock:
        if _group_commit is None:
            _group_commit = GroupCommit(max_size=settings.INGEST_GROUP_COMMIT_MAX)
        return _group_commit


# ---------------------------------------------------------------- public services


def _as_event(event_class: type, payload: Any, **fields: Any) -> Any:
    # Extra fields in a body may be named like the event's own (`type`, `executionId`): the
    # path and the endpoint decide those, so drop the body's copies.
    body = {k: v for k, v in dict(payload).items() if k not in fields}
    return event_class.model_construct(**body, **fields)


def plan_upsert(*, plan_id: str, plan: schemas.PlanIn) -> Outcome:
    return _apply_one(_as_event(schemas.PlanEvent, plan, type="plan", planId=plan_id))


def execution_start(*, start: schemas.ExecutionStartIn) -> Outcome:
    return _apply_one(_as_event(schemas.StartEvent, start, type="execution_started"))


def task_result_record(*, execution_id: str, task_result: schemas.TaskResultIn) -> Outcome:
    event = _as_event(schemas.TaskResultEvent, task_result, type="task_result", executionId=execution_id)
    if settings.INGEST_GROUP_COMMIT_MAX <= 1:
        return _apply_one(event)
    return group_commit().submit(event)


def execution_finish(*, execution_id: str, finish: schemas.ExecutionFinishIn) -> Outcome:
    return _apply_one(
        _as_event(schemas.FinishEvent, finish, type="execution_finished", executionId=execution_id)
    )


def events_apply(*, events: list[tuple[int, Any]]) -> tuple[dict[int, Outcome], int]:
    """Apply a batch in one transaction; if any event is refused, fall back to one transaction per
    event so that each gets its own answer and the good ones still land. Returns (outcomes, transactions)."""
    if not events:
        return {}, 0
    try:
        return _apply(events), 1
    except ServiceError:
        pass
    outcomes = {
        idx: answer if isinstance(answer, Outcome) else Outcome(status=answer.status, body=answer.as_body())
        for idx, answer in _apply_one_by_one(events).items()
    }
    return outcomes, 1 + len(events)


def executions_need_rederive() -> bool:
    """Whether some execution was written by a version that did not derive every fact (searchText is
    the newest of them)."""
    (row,), _ = db.cypher_query(
        "OPTIONAL MATCH (e:OrchestrationExecution) WHERE e.searchText IS NULL RETURN e IS NOT NULL LIMIT 1"
    )
    return bool(row[0])


def executions_rederive(*, batch_size: int = 200, progress: Callable[[int], None] | None = None) -> int:
    """Recompute every execution's and task execution's derived facts (counters, statuses, links,
    search and report fields) from the stored attempts, a batch of executions per transaction.

    Writes derive these facts themselves; this brings a graph written by an older version up to date.
    Versions are not bumped: nothing a client sent has changed. Returns the number of executions."""
    after, done = "", 0
    while True:
        (row,), _ = db.cypher_query(_EXECUTION_ID_PAGE, {"after": after, "limit": batch_size})
        eids = row[0]
        if not eids:
            return done

        def refresh(eids: list[str] = eids) -> None:
            now = now_ms()
            db.cypher_query(_LOCK_EXECUTIONS, {"eids": eids, "now": now, "nonce": uuid.uuid4().hex})
            (teids,), _ = db.cypher_query(_TASK_EXECUTION_IDS, {"eids": eids})
            db.cypher_query(_REFRESH_TASKS, {"teids": teids[0]})
            db.cypher_query(_REFRESH_EXECUTIONS, {"eids": eids, "changed": [], "now": now})

        run_write(refresh)
        done += len(eids)
        after = eids[-1]
        if progress:
            progress(done)


# ---------------------------------------------------------------- ingest tokens


def ingest_token_create(*, name: str) -> str:
    """Create a token and return it; only its hash is kept."""
    name = name.strip()
    if not name:
        raise InvalidInput("token name must not be empty", errors=[{"field": "name", "message": "is empty"}])
    if IngestToken.objects.filter(name=name).exists():
        raise ConflictError(f"a token named {name!r} exists", errors=[{"field": "name", "message": "already used"}])
    raw = IngestToken.generate()
    IngestToken.objects.create(name=name, token_hash=IngestToken.hash(raw), prefix=raw[:12])
    return raw


def ingest_token_revoke(*, name: str) -> IngestToken:
    token = IngestToken.objects.filter(name=name).first()
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def ingest_token_authenticate(*, raw: str) -> int | None:
    """The id of the active token `raw`, or None."""
    # Every ingest request runs this: one fixed SQL statement on the unique hash index, because
    # compiling the equivalent ORM query each time cost a third of the request's Python time.
    now = timezone.now()
    # At most one write a minute per token: last-use is informative, not an audit log.
    minute_ago = now - timedelta(seconds=60)
    table = connection.ops.quote_name(IngestToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, last_used_at IS NULL OR last_used_at < %s FROM {table} "
            "WHERE token_hash = %s AND revoked_at IS NULL",
            [connection.ops.adapt_datetimefield_value(minute_ago), IngestToken.hash(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, stale = row
    if stale:
        # Every request of a token arriving together sees the same stale value and would write it;
        # the condition lets one of them do it. Last-use is bookkeeping: a write that loses to a
        # concurrent one (SQLite answers "table is locked") must not refuse an authenticated request.
        try:
            IngestToken.objects.filter(pk=token_id).exclude(last_used_at__gte=minute_ago).update(last_used_at=now)
        except OperationalError as exc:
            logger.info("last use of ingest token %s not recorded: %s", token_id, exc)
    return token_id
