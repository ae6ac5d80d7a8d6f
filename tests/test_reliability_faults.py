"""Neo4j goes away in the middle of a stream of events and comes back on the same data (on the
test's own Neo4j: the `own_neo4j` fixture of tests/conftest.py)."""

import time
from functools import partial

import pytest

from tests.support.graph import cypher

pytestmark = pytest.mark.slow  # a second JVM, stopped and started again

T0 = 1_763_000_000_000
EID = "fault-exec"


def _result(n: int, status: str, attempt: int = 1) -> dict:
    return {"status": status, "attemptNumber": attempt, "output": f"out {n}.{attempt}", "duration": 10 * n,
            "tokens": {"input": 100 + n, "output": 10 * attempt}, "toolCalls": n % 3,
            "timestamp": T0 + 1000 * n + attempt}


def _send_with_retries(ingest, send, log, *, max_tries=40, max_wait=0.5):
    """The orchestrator's retry loop: retry 503 (honoring Retry-After, capped for the test's sake)."""
    for _ in range(max_tries):
        response = send()
        log.append(response.status_code)
        if response.status_code != 503:
            return response
        assert response["Retry-After"].isdigit()
        time.sleep(min(float(response["Retry-After"]), max_wait))
    return response


def test_it_answers_503_while_neo4j_is_down_and_counts_nothing_twice_after_it_returns(ingest, client, own_neo4j):
    stop_neo4j, restart_neo4j = own_neo4j
    log: list[int] = []
    # task id -> list of (attempt, status); t3 fails then passes on attempt 2, t5 fails for good.
    plan = [(n, "failure" if n in (3, 5) else "success", 1) for n in range(1, 9)] + [(3, "success", 2)]

    # Before the outage: a result before the start, the start, and half of the results.
    assert ingest.task(EID, "t1", _result(1, "success")).status_code == 201
    assert ingest.start(EID, "plan", 8, T0).status_code == 201
    for n, status, attempt in plan[1:4]:
        assert ingest.task(EID, f"t{n}", _result(n, status, attempt)).status_code == 201

    stop_neo4j()
    down = ingest.task(EID, "t5", _result(5, "failure"))
    assert down.status_code == 503
    assert down["Retry-After"].isdigit() and int(down["Retry-After"]) >= 1
    assert down.json() == {"error": "unavailable", "detail": "the graph database is unreachable; retry later", "errors": []}
    assert b"Traceback" not in down.content
    assert ingest.get(EID).status_code == 503  # reads too
    assert client.get("/healthz").status_code == 503
    batch_down = ingest.events([{"type": "task_result", "executionId": EID, "taskId": "t6", "result": _result(6, "success")}])
    assert batch_down.status_code == 503 and batch_down["Retry-After"].isdigit()

    restart_neo4j()
    # The posts refused during the outage are retried and now land, exactly once.
    retried = _send_with_retries(ingest, lambda: ingest.task(EID, "t5", _result(5, "failure")), log)
    assert retried.status_code == 201 and retried.json()["replayed"] is False
    retried = _send_with_retries(ingest, lambda: ingest.events(
        [{"type": "task_result", "executionId": EID, "taskId": "t6", "result": _result(6, "success")}]), log)
    assert retried.status_code == 200 and retried.json()["results"][0]["status"] == 201
    # Replays of what was committed before the outage change nothing.
    for n, status, attempt in plan[:4]:
        replay = _send_with_retries(ingest, partial(ingest.task, EID, f"t{n}", _result(n, status, attempt)), log)
        assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert _send_with_retries(ingest, lambda: ingest.start(EID, "plan", 8, T0), log).json()["replayed"] is True
    for n, status, attempt in plan[6:]:
        assert _send_with_retries(ingest, partial(ingest.task, EID, f"t{n}", _result(n, status, attempt)), log).status_code == 201
    assert _send_with_retries(ingest, lambda: ingest.finish(EID, T0 + 60_000), log).status_code == 201
    assert client.get("/healthz").status_code == 200
    assert all(code in (200, 201, 503) for code in log), log

    attempts = {(n, a): _result(n, s, a) for n, s, a in plan}
    latest = {n: s for n, s, _ in sorted(plan, key=lambda p: p[2])}
    body = ingest.get(EID).json()
    assert {k: body[k] for k in ("tasksSuccessful", "tasksFailed", "tokensTotal", "toolCalls", "status", "tasksTotal")} == {
        "tasksSuccessful": sum(s == "success" for s in latest.values()),
        "tasksFailed": sum(s == "failure" for s in latest.values()),
        "tokensTotal": sum(r["tokens"]["input"] + r["tokens"]["output"] for r in attempts.values()),
        "toolCalls": sum(r["toolCalls"] for r in attempts.values()),
        "status": "failed",
        "tasksTotal": 8,
    }
    assert body["failedTaskIds"] == ["t5"]
    assert cypher("MATCH (:TaskExecution)-[r:HAS_ATTEMPT]->(a:TaskAttempt) RETURN count(r), count(DISTINCT a)") == [[9, 9]]
    assert cypher("MATCH (e:OrchestrationExecution)-[r:HAS_TASK_EXECUTION]->() RETURN count(r)") == [[8]]
