"""POST /api/v1/events: ordered batches, one transaction when possible, a result per event."""

from tests.support.graph import cypher

T0 = 1_763_000_000_000


def _task(execution_id, task_id, status="success", **extra):
    return {"type": "task_result", "executionId": execution_id, "taskId": task_id,
            "result": {"status": status, "duration": 10, "tokens": {"input": 1, "output": 2}, **extra}}


def test_it_applies_a_whole_run_in_one_transaction(ingest):
    events = [
        {"type": "plan", "planId": "p", "title": "Plan", "tasks": [{"id": "a"}, {"id": "b"}]},
        {"type": "execution_started", "executionId": "e1", "planId": "p", "totalTasks": 2, "startTime": T0},
        _task("e1", "a"),
        _task("e1", "b", "failure", error="bad"),
        {"type": "execution_finished", "executionId": "e1", "endTime": T0 + 1000},
    ]
    body = ingest.events(events).json()
    assert body["transactions"] == 1
    assert [r["status"] for r in body["results"]] == [200, 201, 201, 201, 201]
    final = body["results"][-1]["body"]["execution"]
    assert (final["status"], final["tasksSuccessful"], final["tasksFailed"], final["durationMs"]) == ("failed", 1, 1, 1000)


def test_it_gives_each_event_its_own_answer_when_one_is_refused(ingest):
    ingest.start("e1", "p", 2, T0)
    ingest.task("e1", "a", {"status": "success", "duration": 10})
    events = [
        _task("e1", "b"),
        {"type": "task_result", "executionId": "e1", "taskId": "a", "result": {"status": "failure", "duration": 99}},
        {"type": "execution_finished", "executionId": "e1", "endTime": T0 + 5},
        {"type": "task_result", "executionId": "e1", "taskId": "c", "result": {"status": "maybe"}},
    ]
    body = ingest.events(events).json()
    assert [r["status"] for r in body["results"]] == [201, 409, 201, 400]
    assert body["results"][3]["body"]["errors"][0]["field"] == "result.status"
    assert body["transactions"] > 1
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.status, e.tasksSuccessful, e.tasksFailed") == [["completed", 2, 0]]


def test_it_is_idempotent_when_a_whole_batch_is_replayed(ingest):
    events = [{"type": "execution_started", "executionId": "e1", "planId": "p", "totalTasks": 3, "startTime": T0}]
    events += [_task("e1", f"t{i}") for i in range(3)]
    first = ingest.events(events).json()
    second = ingest.events(events).json()
    assert [r["status"] for r in second["results"]] == [200, 200, 200, 200]
    assert first["results"][-1]["body"]["execution"] == {**second["results"][-1]["body"]["execution"]}
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.tasksSuccessful, e.tokensTotal") == [[3, 9]]


def test_it_handles_the_same_attempt_twice_inside_one_batch(ingest):
    body = ingest.events([_task("e1", "a"), _task("e1", "a")]).json()
    assert [r["status"] for r in body["results"]] == [201, 200]
    assert cypher("MATCH (a:TaskAttempt) RETURN count(a)") == [[1]]


def test_it_refuses_the_same_attempt_twice_with_different_content_inside_one_batch(ingest):
    body = ingest.events([_task("e1", "a"), _task("e1", "a", toolCalls=9), _task("e1", "b")]).json()
    # The batch falls back to one transaction per event: the first copy and the other task land.
    assert [r["status"] for r in body["results"]] == [201, 409, 201]
    assert body["results"][1]["body"]["errors"] == [{"field": "result.toolCalls", "message": "differs from the recorded attempt"}]
    assert cypher("MATCH (t:TaskExecution) RETURN t.taskId, t.toolCalls ORDER BY t.taskId") == [["a", 0], ["b", 0]]


def test_it_writes_a_run_of_task_results_with_one_cypher_statement(ingest, cypher_calls):
    ingest.start("e1", "p", 3, T0)
    cypher_calls.clear()
    body = ingest.events([_task("e1", "a"), _task("e1", "b", "failure"), _task("e2", "a")]).json()
    assert [r["status"] for r in body["results"]] == [201, 201, 201]
    assert len(cypher_calls) == 1
    assert body["results"][1]["body"]["execution"]["tasksFailed"] == 1
    assert cypher("MATCH (e)-[:FAILED_TASK]->(t) RETURN e.executionId, t.taskId") == [["e1", "b"]]


def test_it_writes_a_batch_larger_than_the_part_size_in_consecutive_parts_in_order(ingest, settings):
    # About 3 KiB of body per event and parts of 10 KiB: a part every three events or so, each its
    # own transaction; the two attempts of t0 lie in different parts and still land in order.
    settings.INGEST_BATCH_PART_MAX_BYTES = 10 * 1024
    events = [_task("e1", f"t{i}", output="o" * 3000) for i in range(10)]
    events += [_task("e1", "t0", "failure", attemptNumber=2, output="x" * 3000),
               {"type": "execution_finished", "executionId": "e1", "endTime": T0 + 1000}]
    response = ingest.events(events)
    body = response.json()
    parts = -(-len(response.wsgi_request.body) // settings.INGEST_BATCH_PART_MAX_BYTES)
    assert parts >= 3 and body["transactions"] == parts
    assert [r["status"] for r in body["results"]] == [201] * 12
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'e1'}) "
                  "RETURN e.tasksSuccessful, e.tasksFailed, e.finished") == [[9, 1, True]]
    # A small batch is still one transaction.
    assert ingest.events([_task("e2", "a")]).json()["transactions"] == 1
