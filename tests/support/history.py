"""A plan run many times, for a task's history across runs (created through the real batch API)."""

from __future__ import annotations

from typing import Any

from tests.support.pages import T0

HOUR = 3_600_000
PLAN = {
    "title": "Nightly ETL",
    "tasks": [
        {"id": "extract", "title": "Extract the rows", "parallelGroup": 1},
        {"id": "load", "title": "Load the warehouse", "parallelGroup": 2, "dependencies": ["extract"]},
        {"id": "never-run", "title": "Not run yet", "parallelGroup": 3},
    ],
}
RUNS = 12
# Run index -> what sets it apart: run 7 took ten times as long, run 9 needed a second attempt (the
# first failed QC), run 4 did not run `extract` at all.
SLOW_RUN, RETRIED_RUN, SKIPPED_RUN = 7, 9, 4


def run_id(i: int) -> str:
    return f"etl-{i:02d}"


def _result(*, status: str, duration: int, tokens: int, at: int, score: int, attempt: int = 1) -> dict[str, Any]:
    return {"status": status, "duration": duration, "tokens": {"input": tokens, "output": 0}, "timestamp": at,
            "attemptNumber": attempt,
            "qcVerification": {"passed": status == "success", "score": score, "feedback": "", "issues": [],
                               "requiredFixes": []}}


def seed(ingest) -> None:
    """Plan `etl` run RUNS times, an hour apart (run 0 the oldest): `extract` takes 60-65 s and 1,000
    tokens with QC 90 each run, but for SLOW_RUN (600 s), RETRIED_RUN (a failed first attempt of
    400 tokens, then a pass) and SKIPPED_RUN (not run). Another plan runs a task with the same id,
    which must never show in this plan's history."""
    events: list[dict[str, Any]] = [{"type": "plan", "planId": "etl", **PLAN},
                                    {"type": "plan", "planId": "other", "title": "Other", "tasks": [{"id": "extract"}]}]
    for i in range(RUNS):
        start = T0 + i * HOUR
        eid = run_id(i)
        events.append({"type": "execution_started", "executionId": eid, "planId": "etl", "totalTasks": 2,
                       "startTime": start})
        if i != SKIPPED_RUN:
            duration = 600_000 if i == SLOW_RUN else 60_000 + (i % 6) * 1_000
            if i == RETRIED_RUN:
                events.append({"type": "task_result", "executionId": eid, "taskId": "extract",
                               "result": _result(status="failure", duration=30_000, tokens=400, at=start + 30_000,
                                                 score=40)})
            events.append({"type": "task_result", "executionId": eid, "taskId": "extract",
                           "result": _result(status="success", duration=duration, tokens=1_000,
                                             at=start + 100_000 + duration, score=90,
                                             attempt=2 if i == RETRIED_RUN else 1)})
        events.append({"type": "task_result", "executionId": eid, "taskId": "load",
                       "result": _result(status="success", duration=5_000, tokens=10, at=start + 800_000, score=95)})
        events.append({"type": "execution_finished", "executionId": eid, "endTime": start + 900_000})
    for i in range(3):
        eid = f"other-{i}"
        events.append({"type": "execution_started", "executionId": eid, "planId": "other", "totalTasks": 1,
                       "startTime": T0 + (RUNS + i) * HOUR})
        events.append({"type": "task_result", "executionId": eid, "taskId": "extract",
                       "result": _result(status="success", duration=1_000, tokens=5, at=T0 + (RUNS + i) * HOUR + 1_000,
                                         score=10)})
    response = ingest.events(events)
    assert response.status_code == 200, response.content
    assert {r["status"] for r in response.json()["results"]} <= {200, 201}, response.content


def use(shared_graph, client) -> None:
    """The dataset of `seed`, built once for the read-only tests that share it (`shared_graph`)."""
    from executions import services
    from tests.support.api import Ingest

    def build():
        seed(Ingest(client, services.ingest_token_create(name="history", scopes=("read", "write"))))

    shared_graph.use("task-history", build)
