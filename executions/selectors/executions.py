"""Reads of executions and their tasks, for the pages and the API. Each selector is a small fixed
number of Cypher statements, whatever the number of tasks."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings

from .. import clock, graph

# Long texts of an attempt (output, prompt, error: up to the ingest body limit each) are read as
# their first this many characters, with their sizes; the pages render a head of that
# (rendering.MARKDOWN_MAX_CHARS at most) and link the whole text (`attempt_text`).
TEXT_EXCERPT_CHARS = 64 * 1024
ATTEMPT_TEXT_FIELDS = ("output", "prompt", "error")
# The live page shows at most this much of a failed task's error; the task page shows more.
LIVE_ERROR_CHARS = 2_000


def with_derived(execution: dict[str, Any], now: int) -> dict[str, Any]:
    """Adds `stale`, `elapsedMs` (start→end, or start→now while running) and `tasksPending`."""
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
    execution["tasksPending"] = max(0, total - done)
    return execution


def execution_get(*, execution_id: str) -> dict[str, Any] | None:
    """The execution with its counters and its task executions (latest attempt each), or None."""
    rows = graph.read("pages/execution_get", {"eid": execution_id})
    if not rows:
        return None
    execution, tasks, failed = rows[0]
    return {**execution, "taskExecutions": tasks, "failedTaskIds": sorted(failed)}


def execution_list(
    *,
    status: str | None = None,
    plan_id: str | None = None,
    search: str | None = None,
    started_from: date | None = None,
    started_to: date | None = None,
    page: int = 1,
    per_page: int = 25,
) -> dict[str, Any]:
    """Executions newest first (by startTime; not-yet-started ones first), filtered, one page of them.

    `search` matches (case-insensitively) execution ids, plan ids and task titles. `started_to` is
    inclusive (the whole day, UTC). Returns {"executions", "page", "per_page", "has_next",
    "has_previous", "plan_ids", "any_running"}; one Cypher statement.
    """
    page = max(1, page)
    search = search.strip().lower() if search else ""
    params = {
        "skip": (page - 1) * per_page,
        "limit": per_page + 1,
        "status": status or None,
        "planId": plan_id or None,
        "fromMs": clock.day_start_ms(started_from) if started_from else None,
        "toMs": clock.day_start_ms(started_to + timedelta(days=1)) if started_to else None,
        "q": search or None,
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


def execution_detail(*, execution_id: str) -> dict[str, Any] | None:
    """The live page: the execution (with stale/elapsed/pending), its plan title and its tasks (no
    outputs or prompts, at most LIVE_ERROR_CHARS of an error, `errorChars` its size) ordered by
    completion. One Cypher statement."""
    return _live(graph.read("pages/execution_detail", {"eid": execution_id, "errorChars": LIVE_ERROR_CHARS}))


def execution_changes(*, execution_id: str, since: int) -> dict[str, Any] | None:
    """The live page's poll after a change: {"execution" (as execution_detail has it), "tasks":
    every task execution in the page's order, as its whole row (as execution_detail has them, plus
    `changed: True`) when it changed after execution version `since` (or when that is not known),
    else as its place: {taskId, timestamp, durationMs, firstVersion, changedVersion}}. The page at
    version `since` showed exactly the task executions whose `firstVersion` is at most `since` (or
    None: written before it was kept). One Cypher statement."""
    return _live(graph.read("pages/execution_changes",
                            {"eid": execution_id, "since": since, "errorChars": LIVE_ERROR_CHARS}))


def _live(rows: list[list[Any]]) -> dict[str, Any] | None:
    """(execution, plan title, tasks) as the live page reads them → its data, or None."""
    if not rows:
        return None
    execution, plan_title, tasks = rows[0]
    execution = with_derived(execution, clock.now_ms())
    execution["planTitle"] = plan_title
    return {"execution": execution, "tasks": tasks}


def execution_version(*, execution_id: str) -> dict[str, Any] | None:
    """{"version", "status"} of an execution, or None: the live page's cheap "anything new?" check."""
    rows = graph.read("pages/execution_version", {"eid": execution_id})
    if not rows:
        return None
    return {"version": rows[0][0], "status": rows[0][1]}


def task_detail(*, execution_id: str, task_id: str) -> dict[str, Any] | None:
    """A task of an execution with every attempt, newest first. Each attempt says whether it has an
    output (`hasOutput`: a posted result, not only a QC verdict from history) and which older attempt
    with an output its own is compared with (`previousAttemptNumber`). The task and each attempt
    carry at most TEXT_EXCERPT_CHARS of `output`, `prompt` and `error`, and their full sizes
    (`outputChars`, `promptChars`, `errorChars`; None when absent). One Cypher statement."""
    rows = graph.read("pages/task_detail", {"eid": execution_id, "taskId": task_id, "chars": TEXT_EXCERPT_CHARS})
    if not rows:
        return None
    execution, task, attempts = rows[0]
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
