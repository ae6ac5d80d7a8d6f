"""The four kinds of ingest event, as the batch endpoint (`POST /api/v1/events`) takes them. The
direct calls send the same bodies to their own endpoints (`direct`), so both ways send one thing."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

Body = dict[str, Any]


def dump(value: BaseModel | Body) -> Body:
    """A model as the JSON it stands for (the fields that were set), a dict as it is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    return dict(value)


def now_ms() -> int:
    return int(time.time() * 1000)


def start_event(execution_id: str, *, plan_id: str, total_tasks: int, start_time: int | str | None) -> Body:
    return {"type": "execution_started", "executionId": execution_id, "planId": plan_id,
            "totalTasks": total_tasks, "startTime": now_ms() if start_time is None else start_time}


def task_event(execution_id: str, task_id: str, *, result: BaseModel | Body, task: BaseModel | Body | None) -> Body:
    event = {"type": "task_result", "executionId": execution_id, "taskId": task_id, "result": dump(result)}
    if task is not None:
        event["task"] = dump(task)
    return event


def finish_event(execution_id: str, *, end_time: int | str | None, cancelled: bool) -> Body:
    return {"type": "execution_finished", "executionId": execution_id,
            "endTime": now_ms() if end_time is None else end_time, "cancelled": cancelled}


def plan_event(plan_id: str, *, plan: BaseModel | Body) -> Body:
    return {**dump(plan), "type": "plan", "planId": plan_id}


def segment(value: str) -> str:
    """An id as one URL path segment (ids may hold '#', '?', '%' and any script)."""
    return quote(value, safe="")


def direct(event: Body) -> tuple[str, str, Body]:
    """The event's own endpoint: (method, path under /api/v1, body)."""
    body = {k: v for k, v in event.items() if k != "type"}
    kind = event["type"]
    if kind == "execution_started":
        return "POST", "/executions", body
    if kind == "plan":
        return "PUT", f"/plans/{segment(body.pop('planId'))}", body
    execution = segment(body.pop("executionId"))
    if kind == "task_result":
        return "POST", f"/executions/{execution}/tasks", body
    if kind == "execution_finished":
        return "POST", f"/executions/{execution}/finish", body
    raise ValueError(f"unknown event type {kind!r}")
