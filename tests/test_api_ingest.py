"""Ingest semantics: idempotency, conflicts, disorder, retries, attempts, QC, batches."""

import hashlib
import json

from executions.models import TaskAttempt
from tests.support.graph import cypher

E = "exec-1"
T0 = 1_763_000_000_000


def _ok(status="success", **extra):
    return {"status": status, "duration": 1000, "tokens": {"input": 10, "output": 5}, "toolCalls": 1, **extra}


def _counters(ingest, execution_id=E):
    body = ingest.get(execution_id).json()
    return {k: body[k] for k in ("status", "tasksSuccessful", "tasksFailed", "tokensTotal", "toolCalls", "version")}


def test_it_answers_a_replayed_task_result_with_success_and_changes_nothing(ingest):
    ingest.start(E, "p", 2, T0)
    first = ingest.task(E, "a", _ok())
    before = _counters(ingest)
    again = ingest.task(E, "a", _ok())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True
    assert _counters(ingest) == before
    assert before["tasksSuccessful"] == 1 and before["tokensTotal"] == 15
    assert cypher("MATCH (a:TaskAttempt) RETURN count(a)") == [[1]]


def test_it_refuses_a_different_payload_for_a_recorded_attempt_naming_what_differs(ingest):
    ingest.start(E, "p", 1, T0)
    ingest.task(E, "a", _ok(output="first"))
    response = ingest.task(E, "a", _ok(output="second", toolCalls=7))
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict"
    assert {e["field"] for e in body["errors"]} == {"result.output", "result.toolCalls"}
    assert "output" in body["detail"] and "toolCalls" in body["detail"]
    assert cypher("MATCH (t:TaskExecution) RETURN t.output, t.toolCalls") == [["first", 1]]


def test_it_leaves_no_half_written_graph_when_a_write_is_refused(ingest):
    ingest.start(E, "p", 1, T0)
    ingest.task(E, "a", _ok(output="first"))
    snapshot = cypher("MATCH (n) RETURN count(n), sum(size(keys(n)))")
    assert ingest.task(E, "a", _ok(output="other"), task={"id": "a", "title": "New title"}).status_code == 409
    assert cypher("MATCH (n) RETURN count(n), sum(size(keys(n)))") == snapshot
    assert cypher("MATCH (t:TaskExecution) RETURN t.taskTitle") == [["a"]]


def test_it_treats_a_replayed_start_as_success_and_a_different_one_as_a_conflict(ingest):
    assert ingest.start(E, "p", 3, T0).status_code == 201
    replay = ingest.start(E, "p", 3, T0)
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    conflict = ingest.start(E, "p", 4, T0)
    assert conflict.status_code == 409
    assert [e["field"] for e in conflict.json()["errors"]] == ["totalTasks"]


def test_it_treats_a_replayed_finish_as_success_and_a_different_one_as_a_conflict(ingest):
    ingest.start(E, "p", 1, T0)
    assert ingest.finish(E, T0 + 5).status_code == 201
    assert ingest.finish(E, T0 + 5).status_code == 200
    conflict = ingest.finish(E, T0 + 5, cancelled=True)
    assert conflict.status_code == 409
    assert [e["field"] for e in conflict.json()["errors"]] == ["cancelled"]


def test_it_keeps_a_task_result_that_arrives_before_its_execution_started(ingest):
    response = ingest.task(E, "a", _ok("failure", error="boom"))
    assert response.status_code == 201
    execution = response.json()["execution"]
    assert (execution["status"], execution["started"], execution["tasksFailed"]) == ("running", False, 1)
    start = ingest.start(E, "plan-x", 4, T0).json()["execution"]
    assert (start["started"], start["planId"], start["tasksTotal"], start["tasksFailed"]) == (True, "plan-x", 4, 1)
    assert cypher("MATCH (:OrchestrationExecution {executionId: $e})-[:EXECUTES_PLAN]->(p:Plan) RETURN p.planId", {"e": E}) == [["plan-x"]]
    assert cypher("MATCH (e:OrchestrationExecution) RETURN count(e)") == [[1]]


def test_it_recomputes_status_when_a_late_result_arrives_after_finish(ingest):
    ingest.start(E, "p", 2, T0)
    ingest.task(E, "a", _ok())
    # One of the two announced tasks is reported: incomplete (see the test of that rule below).
    assert ingest.finish(E, T0 + 10).json()["execution"]["status"] == "incomplete"
    late = ingest.task(E, "b", _ok("failure")).json()["execution"]
    assert (late["status"], late["tasksFailed"]) == ("failed", 1)


def test_it_counts_a_task_that_failed_then_passed_as_successful_and_keeps_both_attempts(ingest):
    ingest.start(E, "p", 1, T0)
    failed = _ok("failure", error="missing tests", attemptNumber=1,
                 qcVerification={"passed": False, "score": 40, "feedback": "no tests", "issues": ["No tests"], "requiredFixes": ["Add tests"]})
    assert ingest.task(E, "a", failed).json()["execution"]["tasksFailed"] == 1
    assert cypher("MATCH ()-[r:FAILED_TASK]->() RETURN count(r)") == [[1]]
    passed = _ok(attemptNumber=2, output="with tests", qcVerification={"passed": True, "score": 92, "feedback": "good"})
    execution = ingest.task(E, "a", passed).json()["execution"]
    assert (execution["tasksSuccessful"], execution["tasksFailed"]) == (1, 0)
    # Retries cost real tokens: both attempts are counted.
    assert execution["tokensTotal"] == 30
    assert cypher("MATCH ()-[r:FAILED_TASK]->() RETURN count(r)") == [[0]]
    rows = cypher("MATCH (:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt) RETURN a.attemptNumber, a.status, a.qcScore, a.qcIssues ORDER BY a.attemptNumber")
    assert rows == [[1, "failure", 40, ["No tests"]], [2, "success", 92, []]]
    assert cypher("MATCH (t:TaskExecution) RETURN t.attemptNumber, t.attemptCount, t.output") == [[2, 2, "with tests"]]


def test_it_keeps_the_latest_attempt_when_an_earlier_one_arrives_late(ingest):
    ingest.start(E, "p", 1, T0)
    ingest.task(E, "a", _ok(attemptNumber=2, output="second"))
    execution = ingest.task(E, "a", _ok("failure", attemptNumber=1, output="first")).json()["execution"]
    assert (execution["tasksSuccessful"], execution["tasksFailed"]) == (1, 0)
    assert cypher("MATCH (t:TaskExecution) RETURN t.status, t.output, t.attemptNumber") == [["success", "second", 2]]


def test_it_fills_earlier_attempts_from_the_qc_verification_history(ingest):
    ingest.start(E, "p", 1, T0)
    history = [
        {"passed": False, "score": 30, "feedback": "wrong format", "issues": ["Not JSON"], "requiredFixes": ["Emit JSON"]},
        {"passed": False, "score": 60, "feedback": "almost", "issues": ["Missing field"], "requiredFixes": ["Add id"]},
        {"passed": True, "score": 90, "feedback": "ok"},
    ]
    ingest.task(E, "a", _ok(attemptNumber=3, qcVerification=history[-1], qcVerificationHistory=history))
    rows = cypher("MATCH (a:TaskAttempt) RETURN a.attemptNumber, a.source, a.status, a.qcScore, a.qcRequiredFixes ORDER BY a.attemptNumber")
    assert rows == [[1, "history", "failure", 30, ["Emit JSON"]], [2, "history", "failure", 60, ["Add id"]], [3, "result", "success", 90, []]]
    # The full record of attempt 2 arriving later upgrades the history entry.
    ingest.task(E, "a", _ok("failure", attemptNumber=2, output="v2", qcVerification=history[1]))
    assert cypher("MATCH (a:TaskAttempt {attemptNumber: 2}) RETURN a.source, a.output") == [["result", "v2"]]
    assert cypher("MATCH (t:TaskExecution) RETURN t.attemptNumber, t.attemptCount, t.status") == [[3, 3, "success"]]


def test_it_keys_each_distinct_trimmed_qc_text_of_results_and_history_and_keeps_replays_replays(ingest):
    def sha(text):
        return hashlib.sha256(text.encode()).hexdigest()

    ingest.start(E, "p", 1, T0)
    history = [{"passed": False, "score": 30, "issues": [" Not JSON", "Not JSON\n", "", "Too long"],
                "requiredFixes": ["Emit JSON"]}]
    second = _ok("failure", attemptNumber=2, qcVerification={
        "passed": False, "score": 20, "issues": ["\tToo long ", "Not JSON", " "], "requiredFixes": []},
        qcVerificationHistory=history)
    assert ingest.task(E, "a", second).status_code == 201
    rows = cypher("MATCH (a:TaskAttempt) RETURN a.attemptNumber, a.source, a.qcIssueKeys, a.qcFixKeys "
                  "ORDER BY a.attemptNumber")
    # Aligned with the distinct trimmed non-empty texts, in the order they first appear.
    assert rows == [[1, "history", [sha("Not JSON"), sha("Too long")], [sha("Emit JSON")]],
                    [2, "result", [sha("Too long"), sha("Not JSON")], []]]
    assert ingest.task(E, "a", second).json()["replayed"] is True
    # No QC ran: no keys. Internal: reads do not show them.
    ingest.task(E, "b", _ok())
    assert cypher("MATCH (a:TaskAttempt {taskId: 'b'}) RETURN a.qcIssueKeys, a.qcFixKeys") == [[None, None]]
    assert not {"qcIssueKeys", "qcFixKeys"} & set(TaskAttempt.SHOWN_FIELDS)


def test_it_distinguishes_no_qc_from_a_failed_qc_with_score_zero(ingest):
    ingest.start(E, "p", 2, T0)
    ingest.task(E, "no-qc", _ok())
    ingest.task(E, "zero", _ok("failure", qcVerification={"passed": False, "score": 0, "feedback": "", "issues": [], "requiredFixes": []}))
    rows = cypher("MATCH (t:TaskExecution) RETURN t.taskId, t.qcPassed, t.qcScore, t.qcIssues ORDER BY t.taskId")
    assert rows == [["no-qc", None, None, None], ["zero", False, 0, []]]


def test_it_returns_the_execution_with_its_task_executions(ingest):
    ingest.start(E, "p", 2, T0)
    ingest.task(E, "a", _ok(), task={"id": "a", "title": "Alpha", "parallelGroup": 1})
    ingest.task(E, "b", _ok("failure", error="x"))
    body = ingest.get(E).json()
    assert body["executionId"] == E and body["tasksTotal"] == 2
    assert sorted((t["taskId"], t["taskTitle"], t["status"]) for t in body["taskExecutions"]) == [("a", "Alpha", "success"), ("b", "b", "failure")]
    assert body["failedTaskIds"] == ["b"]


def test_it_accepts_a_plan_in_mimir_workflow_format(ingest, mimir_format_workflow):
    response = ingest.plan("inventory-audit", mimir_format_workflow)
    assert response.status_code == 200, response.content
    assert response.json()["taskCount"] == 4
    rows = cypher("MATCH (p:Plan {planId: 'inventory-audit'}) RETURN p.title, p.registered, p.tasks, p.parallelGroups")
    title, registered, tasks, groups = rows[0]
    # `name` is Mimir's title field; dependencies and parallel groups are kept with the tasks.
    assert (title, registered) == ("Quarterly Inventory Audit", True)
    stored = {t["id"]: t for t in json.loads(tasks)}
    assert stored["merge-counts"]["dependencies"] == ["count-north", "count-south"]
    assert stored["audit-memo"]["parallelGroup"] == 2 and "parallelGroup" not in stored["merge-counts"]
    assert [g["name"] for g in json.loads(groups)] == ["Counting", "Reporting"]


def test_it_accepts_a_plan_from_a_real_mimir_workflow_file(ingest, sample_workflows):
    for name, workflow in sample_workflows.items():
        response = ingest.plan(name, workflow)
        assert response.status_code == 200, (name, response.content)
        assert response.json()["taskCount"] == len(workflow["tasks"])
    rows = cypher("MATCH (p:Plan {planId: 'vacation-planner'}) RETURN p.title, p.taskCount, p.registered, p.tasks")
    title, count, registered, tasks = rows[0]
    assert (title, count, registered) == ("Dream Vacation Planner", len(sample_workflows["vacation-planner"]["tasks"]), True)
    assert '"parallelGroup": 1' in tasks and '"dependencies"' in tasks


def test_it_replaces_a_plan_on_put_and_reports_an_identical_put_as_replayed(ingest):
    assert ingest.plan("p", {"title": "One", "tasks": [{"id": "a"}]}).json()["replayed"] is False
    assert ingest.plan("p", {"title": "One", "tasks": [{"id": "a"}]}).json()["replayed"] is True
    assert ingest.plan("p", {"title": "Two", "tasks": [{"id": "a"}, {"id": "b", "dependencies": ["a"]}]}).json()["taskCount"] == 2
    assert cypher("MATCH (p:Plan) RETURN p.title, p.taskCount") == [["Two", 2]]


def test_it_updates_a_task_definition_from_a_later_post_bumping_the_version_and_saying_so(ingest):
    ingest.start(E, "p", 1, T0)
    ingest.task(E, "a", _ok(), task={"id": "a", "title": "Old title", "qcRole": "reviewer"})
    before = _counters(ingest)["version"]
    changed = ingest.task(E, "a", _ok(), task={"id": "a", "title": "New title", "parallelGroup": 2, "qcRole": "reviewer"})
    assert changed.status_code == 200
    assert (changed.json()["replayed"], changed.json()["updated"]) == (False, ["task.title", "task.parallelGroup"])
    after = _counters(ingest)["version"]
    assert after > before
    assert cypher("MATCH (t:TaskExecution {taskId: 'a'}) RETURN t.taskTitle, t.parallelGroup, t.qcRoleDescription") == [
        ["New title", 2, "reviewer"]]
    # The same post again, or one without a definition, changes nothing and is a replay.
    for task in ({"id": "a", "title": "New title", "parallelGroup": 2}, None):
        again = ingest.task(E, "a", _ok(), task=task)
        assert (again.status_code, again.json()["replayed"], again.json()["updated"]) == (200, True, [])
    assert _counters(ingest)["version"] == after
    assert cypher("MATCH (a:TaskAttempt) RETURN count(a)") == [[1]]


def test_it_answers_a_changed_plan_put_as_an_update_and_the_same_one_as_a_replay(ingest):
    plan = {"title": "Plan", "tasks": [{"id": "a"}]}
    first, same = ingest.plan("p", plan), ingest.plan("p", plan)
    changed = ingest.plan("p", {**plan, "title": "Plan, renamed"})
    assert [(r.status_code, r.json()["replayed"]) for r in (first, same, changed)] == [(200, False), (200, True), (200, False)]


def test_it_names_a_field_that_a_conflicting_replay_sets_where_the_recorded_attempt_had_none(ingest):
    ingest.start(E, "p", 1, T0)
    ingest.task(E, "a", _ok())
    response = ingest.task(E, "a", _ok(error="now there is an error"))
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["result.error"]


def test_it_calls_a_finished_execution_with_tasks_never_reported_incomplete(ingest, signed_in):
    ingest.start(E, "p", 3, T0)
    ingest.task(E, "a", _ok())
    running = ingest.get(E).json()
    assert (running["status"], running["tasksMissing"]) == ("running", 0)
    ingest.finish(E, T0 + 1000)
    body = ingest.get(E).json()
    assert (body["status"], body["tasksSuccessful"], body["tasksMissing"]) == ("incomplete", 1, 2)
    assert "2 never reported" in signed_in.get(f"/executions/{E}").content.decode()
    assert "2 never reported" in signed_in.get("/?status=incomplete").content.decode()
    # A late result of a missing task is news: one is still missing.
    ingest.task(E, "b", _ok())
    assert (ingest.get(E).json()["status"], ingest.get(E).json()["tasksMissing"]) == ("incomplete", 1)
    ingest.task(E, "c", _ok())
    assert (ingest.get(E).json()["status"], ingest.get(E).json()["tasksMissing"]) == ("completed", 0)


def test_it_calls_an_execution_with_a_failed_task_failed_even_with_tasks_missing(ingest):
    ingest.start(E, "p", 3, T0)
    ingest.task(E, "a", _ok(status="failure"))
    ingest.finish(E, T0 + 1000)
    assert (ingest.get(E).json()["status"], ingest.get(E).json()["tasksMissing"]) == ("failed", 2)
