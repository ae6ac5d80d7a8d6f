"""The ingest API as an orchestrator calls it, through Django's test client (the full stack:
middleware, auth, django-ninja), with a bearer token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote


def _segment(value: str) -> str:
    """An id as one URL path segment (ids may hold '#', '?', '%' and any script's letters)."""
    return quote(value, safe="")


class Ingest:
    """Real HTTP through Django's full stack with a bearer token; each call answers the response."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def send(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json"):
        """Any request under /api/v1: a str or bytes `body` is sent as it is, anything else as JSON."""
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return getattr(self.client, method)(
            f"/api/v1{path}", data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {self.token}"
        )

    def plan(self, plan_id: str, body: dict):
        return self.send("put", f"/plans/{_segment(plan_id)}", body)

    def start(self, execution_id: str, plan_id: str, total_tasks: int, start_time: Any):
        body = {"executionId": execution_id, "planId": plan_id, "totalTasks": total_tasks, "startTime": start_time}
        return self.send("post", "/executions", body)

    def task(self, execution_id: str, task_id: str, result: dict, task: dict | None = None):
        body: dict[str, Any] = {"taskId": task_id, "result": result}
        if task is not None:
            body["task"] = task
        return self.send("post", f"/executions/{_segment(execution_id)}/tasks", body)

    def finish(self, execution_id: str, end_time: Any, cancelled: bool = False):
        return self.send("post", f"/executions/{_segment(execution_id)}/finish", {"endTime": end_time, "cancelled": cancelled})

    def events(self, events: list[dict]):
        return self.send("post", "/events", {"events": events})

    def get(self, execution_id: str):
        return self.client.get(f"/api/v1/executions/{_segment(execution_id)}", HTTP_AUTHORIZATION=f"Bearer {self.token}")
