"""Reads of executions and their tasks, for the pages and the API. Each selector is a small fixed
number of Cypher statements, whatever the number of tasks."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from .. import clock, graph, pricing
from ..errors import InvalidInput
from ..limits import ExecutionLimits

# Long texts of an attempt (output, prompt, error: up to the ingest body limit each) are read as
# their first this many characters, with their sizes; the pages render a head of that
# (rendering.MARKDOWN_MAX_CHARS at most) and link the whole text (`attempt_text`).
TEXT_EXCERPT_CHARS = 64 * 1024
ATTEMPT_TEXT_FIELDS = ("output", "prompt", "error")
# The live page shows at most this much of a failed task's error; the task page shows more.
LIVE_ERROR_CHARS = 2_000


def with_derived(execution: dict[str, Any], now: int) -> dict[str, Any]:
    """Adds `stale`, `elapsedMs` (start→end, or start→now while running) and `tasksPending` (announced
    tasks not reported yet, while running; once finished they are `tasksMissing`)."""
    running = execution.get("status") == "running"
    last = execution.get("lastEventAt")
    stale_before = now - settings.EXECUTION_STALE_AFTER_SECONDS * 1000
    execution["stale"] = bool(running and last is not None and last < stale_before)
    start, end = execution.get("startTime"), execution.get("endTime")
    if start is not None and end is not None:
        execution["elapsedMs"] = max(0, end - start)
    elif start is not None and running:
        execution["elapsedMs"] = max(0, now - start)
    else:
        execution["elapsedMs"] = execution.get("durationMs")
    total = execution.get("tasksTotal") or 0
    done = (execution.get("tasksSuccessful") or 0) + (execution.get("tasksFailed") or 0)
    execution["tasksPending"] = max(0, total - done) if running else 0
    return execution


def execution_get(*, execution_id: str) -> dict[str, Any] | None:
    """The execution with its counters (and stale/elapsed/pending) and its task executions (latest
    attempt each), each with its `cost` (pricing.Cost), or None."""
    table = pricing.price_table()
    rows = graph.read("pages/execution_get", {"eid": execution_id, "prices": table.param})
    if not rows:
        return None
    execution, tasks, failed = rows[0]
    execution["cost"] = pricing.cost(execution["cost"], table)
    return {**with_derived(execution, clock.now_ms()), "taskExecutions": pricing.with_costs(tasks, table),
            "failedTaskIds": sorted(failed)}


START_EVENTS = ("received", "missing")


def _list_filters(
    *,
    status: str | None,
    plan_id: str | None,
    search: str | None,
    started_from: date | None,
    started_to: date | None,
    start_event: str | None,
    limits: ExecutionLimits | None,
) -> dict[str, Any]:
    """The list's filter parameters (cypher/pages/_execution_filters), each None when not used."""
    search = search.strip().lower() if search else ""
    return {
        "status": status or None,
        "planId": plan_id or None,
        "started": {"received": True, "missing": False}.get(start_event or ""),
        "fromMs": clock.day_start_ms(started_from) if started_from else None,
        "toMs": clock.day_start_ms(started_to + timedelta(days=1)) if started_to else None,
        "q": search or None,
        "limitPlans": sorted(limits.plans) if limits and limits.plans is not None else None,
        "limitPrefixes": list(limits.prefixes) if limits and limits.prefixes is not None else None,
    }


def execution_list(
    *,
    status: str | None = None,
    plan_id: str | None = None,
    search: str | None = None,
    started_from: date | None = None,
    started_to: date | None = None,
    start_event: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> dict[str, Any]:
    """Executions newest first by first-known time (`firstKnownAt`: the start, or for one whose start
    event never arrived, its first attempt's start), filtered, one page of them.

    `search` matches (case-insensitively) execution ids, plan ids and task titles. The days filter
    `firstKnownAt`; `started_to` is inclusive (the whole day, UTC). `start_event`: "received", or
    "missing" (only task results or a finish arrived: a stray post, or a start still on its way).
    Returns {"executions", "page", "per_page", "has_next", "has_previous", "plan_ids",
    "any_running"}; one Cypher statement.
    """
    page = max(1, page)
    params = {
        **_list_filters(
            status=status, plan_id=plan_id, search=search, started_from=started_from, started_to=started_to,
            start_event=start_event, limits=None,
        ),
        "skip": (page - 1) * per_page,
        "limit": per_page + 1,
    }
    ((plan_ids, executions),) = graph.read("pages/execution_list", params)
    now = clock.now_ms()
    executions = [with_derived(e, now) for e in executions]
    has_next = len(executions) > per_page
    executions = executions[:per_page]
    return {
        "executions": executions,
        "page": page,
        "per_page": per_page,
        "has_next": has_next,
        "has_previous": page > 1,
        "plan_ids": plan_ids,
        "any_running": any(e["status"] == "running" for e in executions),
    }


# The list's order as a position (firstKnownAt, executionId), both descending. A cursor is such a
# position, base64url-encoded JSON: it names where a page ended, not how many rows came before, so
# that pages stay put while executions are written.
_BEFORE_ALL = 2**63 - 1  # a key above every stored one (Neo4j integers are 64-bit)
_BAD_CURSOR = "is not a cursor from a previous page of this list"


def _cursor_encode(execution: dict[str, Any]) -> str:
    raw = json.dumps([execution["firstKnownAt"], execution["executionId"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[int, str]:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError):
        position = None
    if not (
        isinstance(position, list)
        and len(position) == 2
        and type(position[0]) is int and 0 <= position[0] < _BEFORE_ALL
        and isinstance(position[1], str) and 0 < len(position[1]) <= 200
    ):
        raise InvalidInput(f"cursor {_BAD_CURSOR}", errors=[{"field": "cursor", "message": _BAD_CURSOR}])
    return position[0], position[1]


def execution_page(
    *,
    status: str | None = None,
    plan_id: str | None = None,
    search: str | None = None,
    started_from: date | None = None,
    started_to: date | None = None,
    start_event: str | None = None,
    limits: ExecutionLimits | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> dict[str, Any]:
    """The list (`execution_list`'s order, filters and rows) for the API: up to `limit` executions
    after `cursor` (None: from the top), only those within `limits` (a limited token's; None: all).
    Returns {"executions", "next_cursor"} (None on the last page); one Cypher statement. An
    execution written between two pages appears in the later one if it sorts after the cursor,
    else in neither; no other execution goes missing or repeats, but one whose first-known time
    moves meanwhile (docs/design.md). Raises InvalidInput naming `cursor` for a cursor this
    function did not make."""
    filters = _list_filters(
        status=status, plan_id=plan_id, search=search, started_from=started_from, started_to=started_to,
        start_event=start_event, limits=limits,
    )
    before = _cursor_decode(cursor) if cursor is not None else (_BEFORE_ALL, "")
    if filters["toMs"] is not None:
        # The day filter's end is a position too, (toMs, ""): right after every execution known
        # before toMs. Of two positions to continue after, the smaller one is further down the list.
        before = min(before, (filters["toMs"], ""))
    params = {
        **filters,
        "limit": limit + 1,
        "knownMin": filters["fromMs"] if filters["fromMs"] is not None else 0,
        "beforeKnown": before[0],
        "beforeId": before[1],
    }
    ((executions,),) = graph.read("api/execution_page", params)
    now = clock.now_ms()
    page = [with_derived(e, now) for e in executions[:limit]]
    return {"executions": page, "next_cursor": _cursor_encode(page[-1]) if len(executions) > limit else None}


def json_value(raw: Any) -> Any:
    """A JSONProperty's value as read by Cypher (its JSON text) → the value; None if unreadable."""
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None


def plan_tasks(raw: Any) -> list[dict[str, Any]]:
    """A plan's `tasks` JSON text → its task definitions (objects only; [] if unreadable)."""
    tasks = json_value(raw)
    return [t for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []


def execution_detail(*, execution_id: str) -> dict[str, Any] | None:
    """The live page: the execution (with stale/elapsed/pending), its plan title and its tasks (no
    outputs or prompts, at most LIVE_ERROR_CHARS of an error, `errorChars` its size) ordered by
    completion; the execution and each task with its `cost` (pricing.Cost); and `previous_run_id`:
    the latest other execution of its plan that started before it (None: there is none), to compare
    with. One Cypher statement (and one SQL query for the prices)."""
    table = pricing.price_table()
    rows = graph.read("pages/execution_detail",
                      {"eid": execution_id, "errorChars": LIVE_ERROR_CHARS, "prices": table.param})
    data = _live([row[:4] for row in rows], table)
    if data is not None:
        data["previous_run_id"] = rows[0][4]
    return data


def execution_changes(*, execution_id: str, since: int) -> dict[str, Any] | None:
    """The live page's poll after a change: {"execution" (as execution_detail has it), "tasks":
    every task execution in the page's order, as its whole row (as execution_detail has them, plus
    `changed: True`) when it changed after execution version `since` (or when that is not known),
    else as its place: {taskId, timestamp, durationMs, firstVersion, changedVersion}}. The page at
    version `since` showed exactly the task executions whose `firstVersion` is at most `since` (or
    None: written before it was kept). One Cypher statement (and one SQL query for the prices)."""
    table = pricing.price_table()
    return _live(graph.read("pages/execution_changes", {"eid": execution_id, "since": since,
                                                        "errorChars": LIVE_ERROR_CHARS, "prices": table.param}),
                 table)


def _live(rows: list[list[Any]], table: pricing.PriceTable) -> dict[str, Any] | None:
    """(execution, plan title, tasks, plan task definitions) as the live page reads them → its data, or None."""
    if not rows:
        return None
    execution, plan_title, tasks, raw_plan_tasks = rows[0]
    execution = with_derived(execution, clock.now_ms())
    execution["cost"] = pricing.cost(execution["cost"], table)
    pricing.with_costs([t for t in tasks if t is not None], table)
    execution["planTitle"] = plan_title
    # None: no plan uploaded (the graph is then drawn from the reported tasks alone).
    plan = plan_tasks(raw_plan_tasks) if raw_plan_tasks else None
    return {"execution": execution, "tasks": tasks, "plan_tasks": plan}


def execution_version(*, execution_id: str) -> dict[str, Any] | None:
    """{"version", "status"} of an execution, or None: the live page's cheap "anything new?" check."""
    rows = graph.read("pages/execution_version", {"eid": execution_id})
    if not rows:
        return None
    return {"version": rows[0][0], "status": rows[0][1]}


def task_detail(
    *, execution_id: str, task_id: str, text_chars: int | None = TEXT_EXCERPT_CHARS
) -> dict[str, Any] | None:
    """A task of an execution with every attempt, newest first. Each attempt says whether it has an
    output (`hasOutput`: a posted result, not only a QC verdict from history) and which older attempt
    with an output its own is compared with (`previousAttemptNumber`). The task and each attempt
    carry at most `text_chars` of `output`, `prompt` and `error` (None: the whole texts, as the read
    API answers them), and their full sizes (`outputChars`, `promptChars`, `errorChars`; None when
    absent). The task and each attempt carry their `cost` (pricing.Cost), each attempt the model it
    is priced as (`pricedModel`). One Cypher statement (and one SQL query for the prices)."""
    table = pricing.price_table()
    rows = graph.read("pages/task_detail",
                      {"eid": execution_id, "taskId": task_id, "chars": text_chars, "prices": table.param})
    if not rows:
        return None
    execution, task, attempts = rows[0]
    task["cost"] = pricing.cost(task["cost"], table)
    pricing.with_costs(attempts, table)
    for index, attempt in enumerate(attempts):
        attempt["hasOutput"] = attempt.get("source") == "result"
        previous = next((a for a in attempts[index + 1 :] if a.get("source") == "result"), None)
        attempt["previousAttemptNumber"] = previous["attemptNumber"] if previous else None
    return {"execution": with_derived(execution, clock.now_ms()), "task": task, "attempts": attempts}


def attempt_text(*, execution_id: str, task_id: str, attempt_number: int, field: str) -> str | None:
    """The whole `output`, `prompt` or `error` of an attempt, or None (no such attempt, or no such
    text). One Cypher statement."""
    if field not in ATTEMPT_TEXT_FIELDS:
        raise ValueError(f"not an attempt text: {field!r}")
    rows = graph.read("pages/attempt_text", {"eid": execution_id, "taskId": task_id,
                                             "attemptNumber": attempt_number, "field": field})
    return rows[0][0] if rows else None
