"""Ingest: applying telemetry events to the graph of record. Every public function is one Neo4j
transaction (or one auto-commit statement).

Counters, statuses and FAILED_TASK links are never supplied by callers: after each write they
are recomputed by Neo4j from the stored attempts, under a write lock on the execution node, so
parallel posts, retries and replays cannot double-count or lose an update (Mimir bug 3).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .. import clock, graph, schemas
from ..errors import ConflictError, Forbidden, InvalidInput, ServiceError, TooLargeToStore, TransactionTimedOut
from ..limits import UNLIMITED, ExecutionLimits
from ..models import ATTEMPT_CONTENT_FIELDS
from ..qc_texts import qc_text_keys
from ..signatures import error_key

Outcome = Literal["created", "updated", "replayed"]


@dataclass
class EventResult:
    """What one event did: `created` (it is recorded now), `updated` (it was recorded, and a field it
    may change has changed: a plan's content, a task's definition) or `replayed` (it already was,
    identically: nothing changed). `data` is what the caller is told; counters are added last."""

    outcome: Outcome
    data: dict[str, Any]
    execution_id: str | None = None

    @property
    def created(self) -> bool:
        return self.outcome == "created"

    @property
    def changed(self) -> bool:
        return self.outcome != "replayed"


def _result(outcome: Outcome, data: dict[str, Any], execution_id: str | None = None) -> EventResult:
    return EventResult(outcome, {**data, "replayed": outcome == "replayed"}, execution_id)


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class _Batch:
    now: int
    limits: ExecutionLimits = UNLIMITED
    changed: set[str] = field(default_factory=set)
    # execution id -> the task ids whose task executions the batch refreshed
    touched: dict[str, set[str]] = field(default_factory=dict)


# ---------------------------------------------------------------- task results


# Attempt fields added after attempts were first stored: left out of the hash while unset.
_ADDED_CONTENT = frozenset({"model"})


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
    values: dict[str, Any] = {
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
        "model": result.model,
    }
    # The model's attempt fields are the content: a field added there and not here fails at once.
    content = {name: values[name] for name in ATTEMPT_CONTENT_FIELDS}
    props = dict(content)
    # An attempt that names no model hashes as it did before `model` was kept, so that replays of
    # attempts stored by an older version stay replays.
    props["contentHash"] = _hash({k: v for k, v in content.items() if not (k in _ADDED_CONTENT and v is None)})
    props["errorKey"] = error_key(result.error)
    props.update(_qc_keys(values))
    content_keys = list(content)
    if props["timestamp"] is None:
        props["timestamp"] = now
        content_keys.remove("timestamp")
    return props, content_keys


def _qc_keys(props: dict[str, Any]) -> dict[str, Any]:
    """The keys of an attempt's QC texts (derived, not content: executions/qc_texts.py)."""
    return {"qcIssueKeys": qc_text_keys(props["qcIssues"]), "qcFixKeys": qc_text_keys(props["qcRequiredFixes"])}


def _history_props(qc: schemas.QCResult, attempt_number: int) -> dict[str, Any]:
    props = {
        "attemptNumber": attempt_number,
        "status": "success" if qc.passed else "failure",
        "qcPassed": qc.passed,
        "qcScore": qc.score,
        "qcFeedback": qc.feedback,
        "qcIssues": list(qc.issues),
        "qcRequiredFixes": list(qc.requiredFixes),
        "timestamp": qc.timestamp,
    }
    return {**props, **_qc_keys(props)}


@dataclass
class TaskResultsWrite:
    """The parameters of one task-results write, and what the service needs to answer each event."""

    params: dict[str, Any]
    # row idx -> (executionId, Mimir's task execution id, taskId, attemptNumber)
    meta: dict[int, tuple[str, str, str, int]]
    duplicates: dict[int, EventResult]  # later copies, in the same write, of an attempt it already carries

    @property
    def execution_ids(self) -> list[str]:
        return sorted({m[0] for m in self.meta.values()})

    @property
    def touched(self) -> dict[str, list[str]]:
        """Execution id -> the task ids whose task executions the write refreshes (the execution's
        rollups need to look at only those: ingest/_roll_up_execution)."""
        touched: dict[str, list[str]] = {}
        for key in self.params["tasks"]:
            touched.setdefault(key["eid"], []).append(key["taskId"])
        return touched


def task_results_write(*, now: int, items: list[tuple[int, str, schemas.TaskResultIn]]) -> TaskResultsWrite:
    """Build the parameters of the task-results statements for (index, executionId, result)."""
    rows: list[dict[str, Any]] = []
    history_rows: list[dict[str, Any]] = []
    meta: dict[int, tuple[str, str, str, int]] = {}
    duplicates: dict[int, EventResult] = {}
    # An attempt's key is (executionId, taskId, attemptNumber); `teid` is only what Mimir calls it.
    first_by_key: dict[tuple[str, str, int], tuple[dict[str, Any], list[str]]] = {}
    for idx, eid, ev in items:
        result = ev.result
        history = result.qcVerificationHistory or []
        attempt_number = result.attemptNumber or max(1, len(history))
        teid = f"{eid}-{ev.taskId}"
        key = (eid, ev.taskId, attempt_number)
        props, content_keys = _attempt_props(result, attempt_number, now)
        data = {"id": teid, "executionId": eid, "taskId": ev.taskId, "attemptNumber": attempt_number}
        if key in first_by_key:
            # The same attempt twice in one write: identical content is a replay of the first copy.
            first_props, _ = first_by_key[key]
            if first_props["contentHash"] != props["contentHash"]:
                differing = [k for k in content_keys if first_props.get(k) != props.get(k)]
                raise _conflict(eid, ev.taskId, attempt_number, differing)
            duplicates[idx] = _result("replayed", data, eid)
            continue
        first_by_key[key] = (props, content_keys)
        task = ev.task
        rows.append(
            {
                "idx": idx,
                "eid": eid,
                "teid": teid,
                "taskId": ev.taskId,
                "nonce": uuid.uuid4().hex,
                "title": task.title if task else None,
                "parallelGroup": task.parallelGroup if task else None,
                "qcRole": task.qcRole if task else None,
                "recommendedModel": (task.recommendedModel or None) if task else None,
                "props": props,
                "contentKeys": content_keys,
            }
        )
        for number, qc in enumerate(history[: attempt_number - 1], start=1):
            history_rows.append({"eid": eid, "taskId": ev.taskId, "props": _history_props(qc, number)})
        meta[idx] = (eid, teid, ev.taskId, attempt_number)
    tasks = sorted({(r["eid"], r["taskId"]) for r in rows})
    params = {"rows": rows, "history": history_rows, "tasks": [{"eid": e, "taskId": t} for e, t in tasks]}
    return TaskResultsWrite(params=params, meta=meta, duplicates=duplicates)


def write_params(
    *,
    now: int,
    eids: list[str] | None = None,
    rows: list[dict[str, Any]] | None = None,
    history: list[dict[str, Any]] | None = None,
    tasks: list[dict[str, str]] | None = None,
    touched: dict[str, list[str]] | None = None,
    all_tasks: bool = False,
    changed: list[str] | None = None,
) -> dict[str, Any]:
    """The parameters of `ingest/write` and `ingest/lock_executions`: one map, `$write` (the
    statement's header says why, and what each entry does); what is left out is empty, so that part
    of the statement does nothing."""
    return {"write": {"now": now, "nonce": uuid.uuid4().hex, "eids": eids or [], "rows": rows or [],
                      "history": history or [], "tasks": tasks or [], "touched": touched or {},
                      "allTasks": all_tasks, "changed": changed or []}}


def _conflict(eid: str, task_id: str, attempt_number: int, differing: list[str]) -> ConflictError:
    return ConflictError(
        f"attempt {attempt_number} of task {task_id!r} in execution {eid!r} was already recorded "
        f"with different content ({', '.join(differing) or 'content'} differ)",
        errors=[{"field": f"result.{k}", "message": "differs from the recorded attempt"} for k in differing],
    )


def _task_results(write: TaskResultsWrite, conflicts: list[dict], recorded: list[dict]) -> dict[int, EventResult]:
    """Answer each event from what the statement reported; a conflict refuses the whole write."""
    if conflicts:
        first = min(conflicts, key=lambda c: c["idx"])
        eid, _teid, task_id, attempt_number = write.meta[first["idx"]]
        raise _conflict(eid, task_id, attempt_number, first["differing"])
    results = dict(write.duplicates)
    for rec in recorded:
        eid, teid, task_id, attempt_number = write.meta[rec["idx"]]
        data = {"id": teid, "executionId": eid, "taskId": task_id, "attemptNumber": attempt_number}
        if rec["created"] or rec["upgraded"]:
            results[rec["idx"]] = _result("created", data, eid)
        elif rec["redefined"]:
            # The attempt is a replay, but the task's definition changed: say which fields.
            results[rec["idx"]] = _result("updated", {**data, "updated": [f"task.{k}" for k in rec["redefined"]]}, eid)
        else:
            results[rec["idx"]] = _result("replayed", data, eid)
    return results


def _record_task_results(batch: _Batch, items: list[tuple[int, str, schemas.TaskResultIn]]) -> dict[int, EventResult]:
    """A run of task results inside a transaction that already holds the execution locks."""
    write = task_results_write(now=batch.now, items=items)
    # No $eids: the transaction holds their locks already, and refreshes their counters once, at its end.
    ((conflicts, recorded, _),) = graph.run("ingest/write", write_params(now=batch.now, **write.params))
    results = _task_results(write, conflicts, recorded)
    for eid, task_ids in write.touched.items():
        batch.touched.setdefault(eid, set()).update(task_ids)
    batch.changed |= {r.execution_id for r in results.values() if r.changed and r.execution_id}
    return results


def _apply_task_results(events: list[tuple[int, Any]], now: int) -> dict[int, EventResult]:
    """Only task results: the whole write is one statement in one auto-commit transaction."""
    write = task_results_write(now=now, items=[(idx, ev.executionId, ev) for idx, ev in events])
    params = write_params(now=now, eids=write.execution_ids, touched=write.touched, **write.params)
    ((conflicts, recorded, executions),) = graph.write_statement(lambda: graph.run("ingest/write", params))
    results = _task_results(write, conflicts, recorded)
    counters = {c["executionId"]: c for c in executions}
    for result in results.values():
        result.data["execution"] = counters[result.execution_id]
    return results


# ---------------------------------------------------------------- start, finish, plan


def _differing(wanted: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    return [k for k in wanted if wanted[k] != stored[k]]


def _already_recorded(eid: str, what: str, differing: list[str], stored: dict[str, Any]) -> ConflictError:
    return ConflictError(
        f"execution {eid!r} was already {what} with different {', '.join(differing)}",
        errors=[{"field": k, "message": f"already recorded as {stored[k]!r}"} for k in differing],
    )


def _record_start(batch: _Batch, ev: schemas.ExecutionStartIn) -> EventResult:
    eid = ev.executionId
    ((started, plan_id, total, start_time, finished, end_time, _cancelled, has_tasks),) = graph.run(
        "ingest/read_execution_state", {"eid": eid}
    )
    if batch.limits.plans is not None and not started and (has_tasks or finished):
        # Checked before the write too (_refusals); here, under the execution's lock, it also
        # catches another token's first result landing between that check and this write.
        raise _others_before_start(batch.limits, eid)
    if started:
        stored = {"planId": plan_id, "totalTasks": total, "startTime": start_time}
        differing = _differing({"planId": ev.planId, "totalTasks": ev.totalTasks, "startTime": ev.startTime}, stored)
        if differing:
            raise _already_recorded(eid, "started", differing, stored)
        return _result("replayed", {}, eid)
    if finished and end_time is not None and end_time < ev.startTime:
        raise InvalidInput(
            "startTime is after the execution's recorded endTime",
            errors=[{"field": "startTime", "message": f"must not be after endTime {end_time}"}],
        )
    graph.run(
        "ingest/record_start",
        {"eid": eid, "planId": ev.planId, "totalTasks": ev.totalTasks, "startTime": ev.startTime, "now": batch.now},
    )
    batch.changed.add(eid)
    return _result("created", {}, eid)


def _record_finish(batch: _Batch, eid: str, ev: schemas.ExecutionFinishIn) -> EventResult:
    ((started, _plan, _total, start_time, finished, end_time, cancelled, _has_tasks),) = graph.run(
        "ingest/read_execution_state", {"eid": eid}
    )
    if finished:
        stored = {"endTime": end_time, "cancelled": cancelled}
        differing = _differing({"endTime": ev.endTime, "cancelled": ev.cancelled}, stored)
        if differing:
            raise _already_recorded(eid, "finished", differing, stored)
        return _result("replayed", {}, eid)
    if started and start_time is not None and ev.endTime < start_time:
        raise InvalidInput(
            "endTime is before the execution's startTime",
            errors=[{"field": "endTime", "message": f"must not be before startTime {start_time}"}],
        )
    graph.run("ingest/record_finish", {"eid": eid, "endTime": ev.endTime, "cancelled": ev.cancelled})
    batch.changed.add(eid)
    return _result("created", {}, eid)


def plan_task_models(tasks: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What statements read of a plan's task definitions besides their JSON text: the models that
    price its tasks ({taskId, model}, for the ingest/_keep_plan_task_models fragment)."""
    return [{"taskId": t["id"], "model": t["recommendedModel"]}
            for t in tasks if isinstance(t.get("id"), str) and isinstance(t.get("recommendedModel"), str)
            and t["recommendedModel"]]


def _record_plan(batch: _Batch, plan_id: str, ev: schemas.PlanIn) -> EventResult:
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
    ((existed, same),) = graph.run(
        "ingest/upsert_plan",
        {"planId": plan_id, "props": props, "contentHash": content_hash, "now": batch.now,
         "taskModels": plan_task_models(tasks)},
    )
    outcome: Outcome = "replayed" if same else "updated" if existed else "created"
    return _result(outcome, {"planId": plan_id, "title": props["title"], "taskCount": len(tasks)})


# ---------------------------------------------------------------- applying events


def _event_execution_id(ev: Any) -> str | None:
    # A plan event names no execution (an `executionId` in its body is an ignored extra field).
    return None if isinstance(ev, schemas.PlanEvent) else ev.executionId


def _apply_in_tx(events: list[tuple[int, Any]], now: int, limits: ExecutionLimits) -> dict[int, EventResult]:
    """Apply (index, event) pairs in order inside the open transaction."""
    batch = _Batch(now=now, limits=limits)
    eids = sorted({eid for _, ev in events if (eid := _event_execution_id(ev))})
    if eids:
        # Lock in a fixed order so that concurrent batches cannot deadlock on each other.
        graph.run("ingest/lock_executions", write_params(now=batch.now, eids=eids))
    results: dict[int, EventResult] = {}
    pos = 0
    while pos < len(events):
        idx, ev = events[pos]
        if isinstance(ev, schemas.TaskResultEvent):
            run = []
            while pos < len(events) and isinstance(events[pos][1], schemas.TaskResultEvent):
                run.append((events[pos][0], events[pos][1].executionId, events[pos][1]))
                pos += 1
            results.update(_record_task_results(batch, run))
            continue
        if isinstance(ev, schemas.StartEvent):
            results[idx] = _record_start(batch, ev)
        elif isinstance(ev, schemas.FinishEvent):
            results[idx] = _record_finish(batch, ev.executionId, ev)
        elif isinstance(ev, schemas.PlanEvent):
            results[idx] = _record_plan(batch, ev.planId, ev)
        else:  # pragma: no cover - the schema's discriminator admits nothing else
            raise TypeError(type(ev))
        pos += 1
    if eids:
        ((_, _, executions),) = graph.run("ingest/write", write_params(
            now=batch.now, eids=eids, changed=sorted(batch.changed),
            touched={eid: sorted(task_ids) for eid, task_ids in batch.touched.items()}))
        counters = {c["executionId"]: c for c in executions}
        for result in results.values():
            if result.execution_id:
                result.data["execution"] = counters[result.execution_id]
    return results


def apply(
    events: list[tuple[int, Any]],
    *,
    limits: ExecutionLimits = UNLIMITED,
    received_at: int | None = None,
    dry_run: bool = False,
) -> dict[int, EventResult]:
    """Apply validated events together: one statement for task results only, else one transaction.
    The events are within `limits` (see _refusals); a start is checked again under its lock.
    `received_at`: the receive time to record (`lastEventAt`, `created`, `updated`), by default now;
    an import passes when the source last heard of the execution, so that staleness stays true.
    `dry_run`: the same writes in a transaction that is rolled back (what would happen)."""
    now = clock.now_ms() if received_at is None else received_at
    if dry_run:
        return graph.rolled_back(lambda: _apply_in_tx(events, now, limits))
    if all(isinstance(ev, schemas.TaskResultEvent) for _, ev in events):
        return _apply_task_results(events, now)
    return graph.write_transaction(lambda: _apply_in_tx(events, now, limits))


def apply_one_by_one(
    events: list[tuple[int, Any]],
    *,
    catch: tuple[type[Exception], ...] = (ServiceError,),
    limits: ExecutionLimits = UNLIMITED,
    received_at: int | None = None,
    dry_run: bool = False,
) -> dict[int, Any]:
    """Each event in its own transaction, after their joint write was refused: the good ones land
    and each refused one gets its own reason (an exception of a `catch` kind)."""
    answers: dict[int, Any] = {}
    refused_starts: dict[str, Forbidden] = {}
    for idx, ev in events:
        eid = _event_execution_id(ev)
        if eid in refused_starts:
            # A plan-limited token's start refused under the lock: its events to that execution
            # were let through only because of that start.
            answers[idx] = refused_starts[eid]
            continue
        try:
            answers[idx] = apply([(idx, ev)], limits=limits, received_at=received_at, dry_run=dry_run)[idx]
        except catch as exc:
            answers[idx] = exc
            if isinstance(exc, Forbidden) and isinstance(ev, schemas.StartEvent):
                refused_starts[ev.executionId] = exc
    return answers


# ---------------------------------------------------------------- limited tokens


def _others_before_start(limits: ExecutionLimits, eid: str) -> Forbidden:
    # Another token's results (or finish) arrived before any start: a plan-limited token claiming
    # the execution by starting it would be given them to read, and mix its own with them.
    return limits.refuse("executionId", f"execution {eid!r} was posted to before its start, by a token not limited "
                         "to this token's plans")


def _refusals(limits: ExecutionLimits, events: list[tuple[int, Any]]) -> dict[int, Forbidden]:
    """The events (in order) outside `limits`, each with its 403. An execution-id prefix is checked on
    the id. A plan limit is checked on the execution's stored planId (it never changes once set), or
    on the start this token sends before, in the same batch: an execution it may not start, or one
    not started yet, takes none of its task results or finish. One read, only for plan limits."""
    refused: dict[int, Forbidden] = {}
    plans: dict[str, str | None] = {}
    if limits.plans is not None:
        eids = sorted({eid for _, ev in events if (eid := _event_execution_id(ev))})
        plans = dict(graph.read("ingest/execution_plans", {"eids": eids})) if eids else {}
    for idx, ev in events:
        if isinstance(ev, schemas.PlanEvent):
            if limits.plans is None and limits.prefixes is not None:
                refused[idx] = limits.refuse("planId", "a token limited to execution ids may not write plans")
            elif limits.plans is not None and ev.planId not in limits.plans:
                refused[idx] = limits.refuse("planId", f"plan {ev.planId!r} is not one this token may write")
            continue
        eid = ev.executionId
        if not limits.id_allowed(eid):
            refused[idx] = limits.refuse("executionId", f"execution id {eid!r} is outside this token's prefixes")
        elif limits.plans is None:
            continue
        elif isinstance(ev, schemas.StartEvent):
            if ev.planId not in limits.plans:
                refused[idx] = limits.refuse("planId", f"plan {ev.planId!r} is not one this token may write")
            elif eid in plans and plans[eid] is None:
                refused[idx] = _others_before_start(limits, eid)
            elif eid in plans and plans[eid] not in limits.plans:
                refused[idx] = limits.refuse("executionId", f"execution {eid!r} is of a plan this token may not write")
            elif eid not in plans:
                plans[eid] = ev.planId
        elif eid not in plans or plans[eid] not in limits.plans:
            # Unknown, not started yet, or another plan's: nothing tells that this token may write it.
            refused[idx] = limits.refuse(
                "executionId", f"execution {eid!r} has no start of a plan this token may write; send the start first"
            )
    return refused


def _within(limits: ExecutionLimits, event: Any) -> Any:
    if limits.limited and (refused := _refusals(limits, [(0, event)])):
        raise refused[0]
    return event


def _as_event(event_class: type, payload: Any, **fields: Any) -> Any:
    # Extra fields in a body may be named like the event's own (`type`, `executionId`): the
    # path and the endpoint decide those, so drop the body's copies.
    body = {k: v for k, v in dict(payload).items() if k not in fields}
    return event_class.model_construct(**body, **fields)


def _apply_one(event: Any, limits: ExecutionLimits) -> EventResult:
    """One event, refused with Forbidden (nothing written) if it is outside `limits`."""
    return apply([(0, _within(limits, event))], limits=limits)[0]


def plan_upsert(*, plan_id: str, plan: schemas.PlanIn, limits: ExecutionLimits = UNLIMITED) -> EventResult:
    return _apply_one(_as_event(schemas.PlanEvent, plan, type="plan", planId=plan_id), limits)


def execution_start(*, start: schemas.ExecutionStartIn, limits: ExecutionLimits = UNLIMITED) -> EventResult:
    return _apply_one(_as_event(schemas.StartEvent, start, type="execution_started"), limits)


def task_result_record(
    *, execution_id: str, task_result: schemas.TaskResultIn, limits: ExecutionLimits = UNLIMITED, size: int = 0
) -> EventResult:
    """Record one posted task result; `size` is its request body's length in bytes (what group
    commit counts against INGEST_GROUP_COMMIT_MAX_BYTES; the caller knows it without re-encoding)."""
    from .group_commit import group_commit

    event = _as_event(schemas.TaskResultEvent, task_result, type="task_result", executionId=execution_id)
    commit = group_commit()
    # A result needs no check under the lock (_refusals: what it is checked on never changes), so it
    # may join the group's write.
    return _apply_one(event, limits) if commit is None else commit.submit(_within(limits, event), size)


def execution_finish(
    *, execution_id: str, finish: schemas.ExecutionFinishIn, limits: ExecutionLimits = UNLIMITED
) -> EventResult:
    event = _as_event(schemas.FinishEvent, finish, type="execution_finished", executionId=execution_id)
    return _apply_one(event, limits)


# ---------------------------------------------------------------- batches


@dataclass
class BatchItem:
    """One event of a batch and what became of it: a result, or the reason it was refused."""

    index: int
    type: str | None
    answer: EventResult | ServiceError


@dataclass
class BatchResult:
    items: list[BatchItem]
    transactions: int


_EVENT = TypeAdapter(schemas.Event)


def _apply_in_parts(
    events: list[tuple[int, Any]], refused_starts: dict[str, Forbidden], **options: Any
) -> tuple[dict[int, EventResult | ServiceError], int]:
    """Apply events in order in one transaction; (answers, transactions used). `options`: as for
    `apply`.

    Too large for one transaction (Neo4j's db.memory.transaction.max: its memory grows with the
    number of events and with their texts, docs/reliability.md, "Memory"), the events are split in
    two halves, each applied the same way in order, so a batch that fits the body limit is stored in
    as few transactions as Neo4j can hold; only an event too large on its own is refused (413). A
    part that runs past Neo4j's transaction timeout (a busy database) is split the same way, so that
    the parts stored are kept and a retry of the batch finds them replayed; one event that times out
    on its own makes the request a 503 to come back. Any other refusal falls back to one transaction
    per event.

    `refused_starts` (shared by the parts of one batch): starts refused under their lock (a
    plan-limited token's); a later part's events to such an execution are refused the same way, as
    apply_one_by_one does within one part."""
    answers: dict[int, EventResult | ServiceError] = {}
    for idx, ev in events:
        if (eid := _event_execution_id(ev)) in refused_starts:
            answers[idx] = refused_starts[eid]
    events = [(idx, ev) for idx, ev in events if idx not in answers]
    if not events:
        return answers, 0
    try:
        got: dict[int, Any] = dict(apply(events, **options))
        transactions = 1
    except (TooLargeToStore, TransactionTimedOut) as exc:
        if len(events) == 1:
            if isinstance(exc, TransactionTimedOut):
                raise
            return {**answers, events[0][0]: exc}, 1
        half = len(events) // 2
        first, first_transactions = _apply_in_parts(events[:half], refused_starts, **options)
        second, second_transactions = _apply_in_parts(events[half:], refused_starts, **options)
        return {**answers, **first, **second}, 1 + first_transactions + second_transactions
    except ServiceError:
        got = apply_one_by_one(events, **options)
        transactions = 1 + len(events)
    for idx, ev in events:
        if isinstance(ev, schemas.StartEvent) and isinstance(got[idx], Forbidden):
            refused_starts[ev.executionId] = got[idx]
    return {**answers, **got}, transactions


def events_apply(
    *,
    events: list[dict[str, Any]],
    limits: ExecutionLimits = UNLIMITED,
    received_at: int | None = None,
    dry_run: bool = False,
    size: int = 0,
) -> BatchResult:
    """Validate each event of a batch, then apply the valid ones in order in one transaction (split
    in parts when Neo4j cannot hold it in one, `_apply_in_parts`); if any is refused, fall back to one
    transaction per event so that each gets its own answer and the good ones still land. An invalid
    event is refused on its own, naming its fields, and so is one outside `limits` (403), before
    anything is written. `received_at` and `dry_run`: as for `apply`.

    `size` is the request body's length in bytes: a batch larger than INGEST_BATCH_PART_MAX_BYTES is
    applied from the start in that many consecutive parts of equal counts, one transaction each, rather
    than tried whole first (its memory in Neo4j follows its bytes: the whole would be refused only
    after most of the work, and would run longest)."""
    items: dict[int, BatchItem] = {}
    valid: list[tuple[int, Any]] = []
    for index, raw in enumerate(events):
        try:
            valid.append((index, _EVENT.validate_python(raw)))
        except PydanticValidationError as exc:
            errors = schemas.field_errors(exc.errors())
            error = InvalidInput("invalid fields: " + ", ".join(e["field"] for e in errors), errors=errors)
            kind = raw.get("type")
            items[index] = BatchItem(index, kind if isinstance(kind, str) else None, error)
    if limits.limited and valid:
        kinds = {index: event.type for index, event in valid}
        for index, error in _refusals(limits, valid).items():
            items[index] = BatchItem(index, kinds[index], error)
        valid = [(index, event) for index, event in valid if index not in items]
    transactions = 0
    parts = min(len(valid), max(1, -(-size // settings.INGEST_BATCH_PART_MAX_BYTES)))
    refused_starts: dict[str, Forbidden] = {}
    for part in range(parts):
        chunk = valid[part * len(valid) // parts:(part + 1) * len(valid) // parts]
        answers, used = _apply_in_parts(chunk, refused_starts, limits=limits, received_at=received_at,
                                        dry_run=dry_run)
        transactions += used
        for index, event in chunk:
            items[index] = BatchItem(index, event.type, answers[index])
    return BatchResult(items=[items[i] for i in sorted(items)], transactions=transactions)
