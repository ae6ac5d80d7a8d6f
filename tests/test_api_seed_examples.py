"""The worked examples of Mimir's persistence module (the seed document), through our ingest API.

Where Mimir is wrong (status flips to failed mid-run, caller-supplied counters, dropped days),
the test asserts the corrected behaviour.
"""

from tests.support.graph import cypher

EXEC = "exec-1763134573643"


def test_it_persists_a_successful_task_with_qc_and_returns_the_composite_id(ingest):
    ingest.start(EXEC, "plan-kolache-recipe", 5, 1763134573643)
    result = {
        "taskId": "task-1", "status": "success", "output": "✅ Environment validated successfully",
        "duration": 5000, "tokens": {"input": 1000, "output": 500}, "toolCalls": 3,
        "qcVerification": {"passed": True, "score": 95, "feedback": "All checks passed"},
    }
    response = ingest.task(EXEC, "task-1", result, task={"id": "task-1", "title": "Validate environment"})
    assert response.status_code == 201, response.content
    assert response.json()["id"] == "exec-1763134573643-task-1"
    (row,) = cypher(
        "MATCH (:OrchestrationExecution {executionId: $e})-[:HAS_TASK_EXECUTION]->(t:TaskExecution) "
        "RETURN t.taskExecutionId, t.taskTitle, t.status, t.qcPassed, t.qcScore, t.qcFeedback, t.qcIssues, "
        "t.tokensTotal, t.toolCalls, t.durationMs, t.attemptNumber",
        {"e": EXEC},
    )
    assert row == [f"{EXEC}-task-1", "Validate environment", "success", True, 95, "All checks passed", [], 1500, 3, 5000, 1]
    assert cypher("MATCH (:OrchestrationExecution)-[r:FAILED_TASK]->() RETURN count(r)") == [[0]]


def test_it_persists_a_failed_task_with_issues_as_lists_and_a_failed_task_link(ingest):
    ingest.start(EXEC, "plan-kolache-recipe", 5, 1763134573643)
    failed = {
        "taskId": "task-2", "status": "failure", "error": "Timeout waiting for API response", "duration": 30000,
        "tokens": {"input": 800, "output": 100},
        "qcVerification": {"passed": False, "score": 45, "issues": ["Incomplete data", "Missing validation"],
                           "requiredFixes": ["Retry with timeout handling", "Add error recovery"]},
    }
    assert ingest.task(EXEC, "task-2", failed).status_code == 201
    (row,) = cypher(
        "MATCH (e:OrchestrationExecution {executionId: $e})-[:FAILED_TASK]->(t:TaskExecution) "
        "RETURN t.taskTitle, t.error, t.qcIssues, t.qcRequiredFixes, e.tasksFailed",
        {"e": EXEC},
    )
    # Without a task definition the title falls back to the task id.
    assert row == ["task-2", "Timeout waiting for API response", ["Incomplete data", "Missing validation"],
                   ["Retry with timeout handling", "Add error recovery"], 1]


def test_it_stores_the_attempt_number_of_a_retried_task(ingest):
    ingest.start(EXEC, "plan-kolache-recipe", 5, 1763134573643)
    retry = {"taskId": "task-3", "status": "success", "output": "Completed on second attempt", "duration": 8000,
             "attemptNumber": 2, "tokens": {"input": 1200, "output": 600}, "toolCalls": 5}
    body = ingest.task(EXEC, "task-3", retry).json()
    assert body["attemptNumber"] == 2
    assert cypher("MATCH (t:TaskExecution {taskExecutionId: $id}) RETURN t.attemptNumber, t.attemptCount",
                  {"id": f"{EXEC}-task-3"}) == [[2, 1]]


def test_it_creates_a_running_execution_with_zero_counters(ingest):
    response = ingest.start(EXEC, "plan-kolache-recipe", 5, 1763134573643)
    assert response.status_code == 201, response.content
    execution = response.json()["execution"]
    assert execution["status"] == "running"
    assert execution["tasksTotal"] == 5
    assert [execution[k] for k in ("tasksSuccessful", "tasksFailed", "tokensInput", "tokensOutput", "tokensTotal", "toolCalls")] == [0] * 6


def test_it_links_the_execution_to_its_real_plan_whichever_arrives_first(ingest):
    ts = 1763134573643
    ingest.plan(f"plan-{ts}", {"title": "Plan: kolache", "tasks": [{"id": "task-1", "title": "Dough"}]})
    ingest.start(f"exec-{ts}", f"plan-{ts}", 12, ts)
    # And the other order: execution first, plan later.
    ingest.start("exec-2", "plan-later", 1, ts)
    ingest.plan("plan-later", {"title": "Plan: later", "tasks": []})
    rows = cypher("MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p:Plan) RETURN e.executionId, p.planId, p.title, p.registered ORDER BY e.executionId")
    assert rows == [["exec-1763134573643", "plan-1763134573643", "Plan: kolache", True], ["exec-2", "plan-later", "Plan: later", True]]
    # Mimir's bug 1: the link must not use the execution id as the plan id.
    assert cypher("MATCH (p:Plan) WHERE p.planId STARTS WITH 'exec-' RETURN count(p)") == [[0]]


def test_it_counts_a_successful_task_and_aggregates_its_tokens(ingest):
    ingest.start(EXEC, "p", 5, 1763134573643)
    body = ingest.task(EXEC, "task-1", {"taskId": "task-1", "status": "success", "duration": 5000,
                                        "tokens": {"input": 1000, "output": 500}, "toolCalls": 3}).json()
    execution = body["execution"]
    assert (execution["status"], execution["tasksSuccessful"], execution["tasksFailed"]) == ("running", 1, 0)
    assert (execution["tokensInput"], execution["tokensOutput"], execution["tokensTotal"], execution["toolCalls"]) == (1000, 500, 1500, 3)


def test_it_shows_a_failure_at_once_while_the_execution_keeps_running(ingest):
    ingest.start(EXEC, "p", 5, 1763134573643)
    ingest.task(EXEC, "task-1", {"status": "success", "duration": 5000})
    body = ingest.task(EXEC, "task-2", {"status": "failure", "error": "API timeout", "duration": 30000,
                                        "tokens": {"input": 800, "output": 50}, "toolCalls": 1}).json()
    execution = body["execution"]
    assert (execution["status"], execution["tasksSuccessful"], execution["tasksFailed"]) == ("running", 1, 1)
    assert cypher("MATCH (:OrchestrationExecution {executionId: $e})-[:FAILED_TASK]->(t) RETURN t.taskId", {"e": EXEC}) == [["task-2"]]


def test_it_aggregates_tokens_across_tasks_from_stored_results_not_caller_counters(ingest):
    ingest.start(EXEC, "p", 3, 1763134573643)
    results = [({"input": 1000, "output": 500}, 3), ({"input": 1200, "output": 600}, 5), ({"input": 900, "output": 400}, 2)]
    for i, (tokens, calls) in enumerate(results, start=1):
        body = ingest.task(EXEC, f"task-{i}", {"status": "success", "duration": 1, "tokens": tokens, "toolCalls": calls}).json()
    execution = body["execution"]
    assert (execution["tokensInput"], execution["tokensOutput"], execution["tokensTotal"], execution["toolCalls"]) == (3100, 1500, 4600, 10)
    assert execution["tasksSuccessful"] == 3


def _run(ingest, statuses, *, cancelled=False, start=1763134573643, end=None):
    ingest.start(EXEC, "p", len(statuses), start)
    for i, status in enumerate(statuses, start=1):
        ingest.task(EXEC, f"task-{i}", {"status": status, "duration": 1000 * i, **({"error": "Timeout"} if status == "failure" else {})})
    return ingest.finish(EXEC, end if end is not None else start + 16000, cancelled=cancelled)


def test_it_completes_an_execution_whose_tasks_all_passed(ingest):
    response = _run(ingest, ["success", "success", "success"])
    assert response.status_code == 201, response.content
    execution = response.json()["execution"]
    assert (execution["status"], execution["durationMs"], execution["endTime"]) == ("completed", 16000, 1763134573643 + 16000)


def test_it_marks_an_execution_with_any_failed_task_failed(ingest):
    execution = _run(ingest, ["success", "failure", "success"]).json()["execution"]
    assert (execution["status"], execution["tasksSuccessful"], execution["tasksFailed"]) == ("failed", 2, 1)


def test_it_marks_a_cancelled_execution_cancelled(ingest):
    execution = _run(ingest, ["success", "success"], cancelled=True).json()["execution"]
    assert execution["status"] == "cancelled"
    assert execution["tasksSuccessful"] == 2


def test_it_keeps_whole_days_in_the_duration(ingest):
    start = 1763134573643
    end = start + 3 * 86_400_000 + 5 * 3_600_000 + 42
    execution = _run(ingest, ["success"], start=start, end=end).json()["execution"]
    assert execution["durationMs"] == 3 * 86_400_000 + 5 * 3_600_000 + 42


def test_it_accepts_iso_8601_times(ingest):
    ingest.start(EXEC, "p", 1, "2025-11-14T15:36:13.643Z")
    execution = ingest.finish(EXEC, "2025-11-15T15:36:13.643+00:00").json()["execution"]
    assert execution["startTime"] == 1763134573643
    assert execution["durationMs"] == 86_400_000
