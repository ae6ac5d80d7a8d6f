"""Parallel, replayed and out-of-order posts against a live, multi-threaded server: counters stay exact."""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from executions import services
from tests.support.graph import cypher

pytestmark = pytest.mark.slow  # many clients at once against the live server

T0 = 1_763_000_000_000


@pytest.fixture
def live_ingest(live_server, transactional_db):
    token = services.ingest_token_create(name="parallel")
    session_headers = {"Authorization": f"Bearer {token}"}

    def post(path, body):
        response = requests.post(f"{live_server.url}/api/v1{path}", json=body, headers=session_headers, timeout=60)
        return response.status_code, response.json()

    return post


def test_it_keeps_counters_exact_under_parallel_replayed_and_early_posts(live_ingest):
    rng = random.Random(7)
    tasks = 96
    failing = {f"t{i}" for i in rng.sample(range(tasks), 17)}
    retried = {f"t{i}" for i in rng.sample(range(tasks), 11)}  # failed first, then passed on attempt 2
    calls = []
    for i in range(tasks):
        tid = f"t{i}"
        status = "failure" if tid in failing else "success"
        result = {"status": status, "duration": 100 + i, "tokens": {"input": i, "output": 2 * i}, "toolCalls": i % 4}
        if tid in retried and tid not in failing:
            calls.append(("/executions/e/tasks", {"taskId": tid, "result": {**result, "status": "failure", "attemptNumber": 1}}))
            calls.append(("/executions/e/tasks", {"taskId": tid, "result": {**result, "attemptNumber": 2}}))
        else:
            calls.append(("/executions/e/tasks", {"taskId": tid, "result": result}))
    calls += rng.sample(calls, len(calls) // 5)  # replays
    rng.shuffle(calls)
    calls.insert(len(calls) // 2, ("/executions", {"executionId": "e", "planId": "p", "totalTasks": tasks, "startTime": T0}))

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda c: live_ingest(*c), calls))

    assert {status for status, _ in answers} <= {200, 201}, [a for a in answers if a[0] not in (200, 201)][:3]
    expected_failed = len(failing)
    expected_tokens = sum(3 * i for i in range(tasks)) + sum(3 * int(t[1:]) for t in retried - failing)
    rows = cypher(
        "MATCH (e:OrchestrationExecution {executionId: 'e'}) "
        "RETURN e.tasksSuccessful, e.tasksFailed, e.tokensTotal, e.tasksTotal, e.started, "
        "size([(e)-[:FAILED_TASK]->(t) | t]), size([(e)-[:HAS_TASK_EXECUTION]->(t) | t])"
    )
    assert rows == [[tasks - expected_failed, expected_failed, expected_tokens, tasks, True, expected_failed, tasks]]
    assert cypher("MATCH (a:TaskAttempt) RETURN count(a)") == [[tasks + len(retried - failing)]]


def test_it_records_parallel_executions_without_interference(live_ingest):
    def run(n):
        eid = f"exec-{n}"
        out = [live_ingest("/executions", {"executionId": eid, "planId": "p", "totalTasks": 5, "startTime": T0 + n})]
        out += [live_ingest(f"/executions/{eid}/tasks", {"taskId": f"t{i}", "result": {"status": "success", "duration": 1}}) for i in range(5)]
        out.append(live_ingest(f"/executions/{eid}/finish", {"endTime": T0 + n + 1000}))
        return out

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = [r for batch in pool.map(run, range(24)) for r in batch]
    assert all(status == 201 for status, _ in results)
    assert cypher("MATCH (e:OrchestrationExecution) WHERE e.status = 'completed' AND e.tasksSuccessful = 5 AND e.durationMs = 1000 RETURN count(e)") == [[24]]
    assert cypher("MATCH (p:Plan {planId: 'p'})<-[:EXECUTES_PLAN]-(e) RETURN count(e)") == [[24]]
