"""Test data for the dashboard pages, created through the real ingest API (the `ingest` fixture)."""

from __future__ import annotations

from typing import Any

T0 = 1_763_000_000_000  # 2025-11-13 02:13:20 UTC


def result(status: str = "success", **extra: Any) -> dict[str, Any]:
    body = {"status": status, "duration": 60_000, "tokens": {"input": 1000, "output": 250}, "toolCalls": 2}
    body.update(extra)
    return body


def run(ingest, execution_id: str, *, plan_id: str = "plan-a", tasks: int = 3, failed: tuple[int, ...] = (),
        start: int = T0, finish: bool = True, title: str = "Task") -> None:
    """An execution of `tasks` tasks (ids t0..tN-1, 60 s each, parallel groups of 3), some failed."""
    assert ingest.start(execution_id, plan_id, tasks, start).status_code == 201
    for i in range(tasks):
        status = "failure" if i in failed else "success"
        extra: dict[str, Any] = {"timestamp": start + (i + 1) * 60_000, "output": f"output of {i}"}
        if status == "failure":
            extra["error"] = f"boom {i}"
            extra["qcVerification"] = {"passed": False, "score": 20, "feedback": "bad", "issues": [f"issue {i}"],
                                       "requiredFixes": [f"fix {i}"]}
        task = {"id": f"t{i}", "title": f"{title} {i}", "parallelGroup": i // 3}
        response = ingest.task(execution_id, f"t{i}", result(status, **extra), task=task)
        assert response.status_code == 201, response.content
    if finish:
        assert ingest.finish(execution_id, start + (tasks + 1) * 60_000).status_code == 201


def strays(ingest, count: int, *, first_at: int, prefix: str = "typo-") -> list[str]:
    """`count` task results posted (in one batch) to execution ids no start event ever names, as an
    orchestrator with a mistyped id does: each creates an execution, first known at `first_at` + i s
    (its attempt's start). Answers their ids."""
    ids = [f"{prefix}{i:04}" for i in range(count)]
    events = [{"type": "task_result", "executionId": eid, "taskId": "t0",
               "result": result(timestamp=first_at + i * 1000 + 60_000)} for i, eid in enumerate(ids)]
    response = ingest.events(events)
    assert response.status_code == 200 and {r["status"] for r in response.json()["results"]} == {201}, response.content
    return ids


PLAN = {
    "title": "Build the API",
    "description": "Three tasks, two in parallel.",
    "tasks": [
        {"id": "design", "title": "Design the schema", "parallelGroup": 1},
        {"id": "api", "title": "Write the endpoints", "parallelGroup": 2, "dependencies": ["design"]},
        {"id": "docs", "title": "Write the docs", "parallelGroup": 2, "dependencies": ["design"]},
    ],
}
