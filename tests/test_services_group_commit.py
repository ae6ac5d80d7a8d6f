"""Group commit of results posted one per request (executions.services.group_commit.GroupCommit): results that
arrive while a write is in Neo4j go together in one statement, and each request gets its own answer."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from neomodel import db

from executions import schemas, services
from executions.errors import ConflictError
from tests.support.graph import cypher
from tests.support.waiting import wait_until


def _result(execution_id: str, task_id: str, **result: Any) -> Any:
    body = {"status": "success", "duration": 10, "tokens": {"input": 1, "output": 2}, **result}
    return schemas.TaskResultEvent.model_validate(
        {"type": "task_result", "executionId": execution_id, "taskId": task_id, "result": body}
    )


def _until(condition: Callable[[], bool], what: str) -> None:
    wait_until(condition, timeout=20, interval=0.005, what=lambda: f"waiting until {what}")


class _Held:
    """An open transaction holding an execution's write lock, so the writes after it have to wait."""

    def __init__(self, execution_id: str):
        self.session = db.driver.session()
        self.tx = self.session.begin_transaction()
        self.tx.run("MATCH (e:OrchestrationExecution {executionId: $eid}) SET e.lockNonce = 'held'", eid=execution_id)

    def release(self) -> None:
        self.tx.rollback()
        self.session.close()


class _Posts:
    """Submit events on their own threads; collect each one's answer or error."""

    def __init__(self, group: services.GroupCommit):
        self.group = group
        self.answers: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []

    def post(self, name: str, event: Any, size: int = 0) -> None:
        def run():
            try:
                self.answers[name] = self.group.submit(event, size)
            except Exception as exc:  # noqa: BLE001 - the test asserts on it
                self.answers[name] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> dict[str, Any]:
        for thread in self.threads:
            thread.join(30)
            assert not thread.is_alive(), "a request never got its answer"
        return self.answers


@contextlib.contextmanager
def _while_a_write_waits(group: services.GroupCommit, execution_id: str):
    """Post a result (as "first", task t-first) whose write waits for the execution's lock, held by
    another transaction; what is posted meanwhile waits for that write. The lock goes on exit."""
    held = _Held(execution_id)
    posts = _Posts(group)
    try:
        posts.post("first", _result(execution_id, "t-first"))
        _until(lambda: group.writing and group.waiting == 0, "the first result is being written")
        yield posts
    finally:
        held.release()


@pytest.fixture
def group() -> services.GroupCommit:
    return services.GroupCommit(max_size=64)


def test_it_writes_the_results_that_arrive_during_a_write_in_one_statement(group):
    services.task_result_record(execution_id="e1", task_result=_result("e1", "t0"))
    with _while_a_write_waits(group, "e1") as posts:
        posts.post("second", _result("e2", "t1", status="failure"))
        posts.post("third", _result("e1", "t2", tokens={"input": 5, "output": 5}))
        _until(lambda: group.waiting == 2, "two results wait for the first write")
        assert not posts.answers  # the first write is held by the lock, so nobody is answered yet
    answers = posts.join()

    # Two statements for three results: the first alone, the two that waited together.
    assert (group.writes, group.results) == (2, 3)
    assert {name: (a.outcome, a.data["id"], a.data["replayed"]) for name, a in answers.items()} == {
        "first": ("created", "e1-t-first", False), "second": ("created", "e2-t1", False),
        "third": ("created", "e1-t2", False),
    }
    # Each answer carries its own execution's counters, as a single write's answer does.
    assert answers["second"].data["execution"]["tasksFailed"] == 1
    assert answers["third"].data["execution"]["tasksSuccessful"] == 3
    assert cypher(
        "MATCH (e:OrchestrationExecution) RETURN e.executionId, e.tasksSuccessful, e.tasksFailed, e.tokensTotal, "
        "size([(e)-[:FAILED_TASK]->(t) | t]) ORDER BY e.executionId"
    ) == [["e1", 3, 0, 16, 0], ["e2", 0, 1, 3, 1]]
    assert not group.writing and group.waiting == 0


def test_it_refuses_only_the_conflicting_result_of_a_group(group):
    services.task_result_record(execution_id="e1", task_result=_result("e1", "t1", duration=10))
    with _while_a_write_waits(group, "e1") as posts:
        posts.post("conflict", _result("e1", "t1", duration=99))  # attempt 1 of t1, other content
        posts.post("good", _result("e1", "t2"))
        posts.post("replay", _result("e1", "t1", duration=10))  # attempt 1 of t1 again, same content
        _until(lambda: group.waiting == 3, "three results wait for the first write")
    answers = posts.join()

    assert isinstance(answers["conflict"], ConflictError) and "duration" in str(answers["conflict"])
    assert (answers["good"].outcome, answers["good"].data["replayed"]) == ("created", False)
    assert (answers["replay"].outcome, answers["replay"].data["replayed"]) == ("replayed", True)
    assert answers["first"].outcome == "created"
    # The refused group wrote nothing; then each of its results was written on its own (the
    # conflicting one refused again, so it counts as no write).
    assert (group.writes, group.results) == (3, 3)
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'e1'}) RETURN e.tasksSuccessful") == [[3]]
    assert cypher("MATCH (a:TaskAttempt {executionId: 'e1', taskId: 't1'}) RETURN a.attemptNumber, a.durationMs") == [[1, 10]]


def test_it_writes_at_most_max_size_results_per_statement():
    group = services.GroupCommit(max_size=2)
    services.task_result_record(execution_id="e1", task_result=_result("e1", "t0"))
    with _while_a_write_waits(group, "e1") as posts:
        for i in range(2, 7):
            posts.post(f"t{i}", _result("e1", f"t{i}"))
        _until(lambda: group.waiting == 5, "five results wait")
    answers = posts.join()
    assert all(a.outcome == "created" for a in answers.values()), answers
    assert (group.writes, group.results) == (4, 6)  # 1, then 2 + 2 + 1
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'e1'}) RETURN e.tasksSuccessful") == [[7]]


def test_it_writes_a_lone_result_at_once_and_records_it_like_a_single_write(group):
    answer = group.submit(_result("e1", "t1"))
    assert (answer.outcome, answer.data["replayed"], group.writes, group.results) == ("created", False, 1, 1)
    again = group.submit(_result("e1", "t1"))
    assert (again.outcome, again.data["replayed"]) == ("replayed", True)
    assert not group.writing


def _poison(execution_id: str) -> None:
    """An execution whose stored attempts already sum to the edge of Neo4j's integers: any further
    tokens make its counters overflow (Neo4j refuses the statement). Input bounds keep posts from
    getting there; a graph written before them, or by hand, may be."""
    services.task_result_record(execution_id=execution_id, task_result=_result(execution_id, "t0"))
    cypher("MATCH (a:TaskAttempt {executionId: $eid}) SET a.tokensInput = 2^62, a.tokensOutput = 2^62",
           {"eid": execution_id})
    cypher("MATCH (a:TaskAttempt {executionId: $eid}) SET a.tokensInput = toInteger(a.tokensInput), "
           "a.tokensOutput = toInteger(a.tokensOutput)", {"eid": execution_id})
    # And its task executions' sums of their attempts, which its counters add up (ingest/_refresh_tasks).
    cypher("MATCH (t:TaskExecution {executionId: $eid}) SET t.attemptsTokensInput = toInteger(2^62), "
           "t.attemptsTokensOutput = toInteger(2^62)", {"eid": execution_id})


def test_it_fails_only_the_result_whose_write_errs_and_lands_the_others_of_its_group(group):
    _poison("poisoned")
    services.task_result_record(execution_id="e1", task_result=_result("e1", "t0"))
    with _while_a_write_waits(group, "e1") as posts:
        posts.post("guilty", _result("poisoned", "t1", tokens={"input": 10_000, "output": 0}))
        posts.post("good", _result("e2", "t1"))
        posts.post("conflict", _result("e1", "t0", duration=99))
        _until(lambda: group.waiting == 3, "three results wait for the first write")
    answers = posts.join()

    assert not isinstance(answers["guilty"], services.EventResult), answers["guilty"]
    assert "overflow" in str(answers["guilty"]).lower()
    assert (answers["good"].outcome, answers["first"].outcome) == ("created", "created")
    assert isinstance(answers["conflict"], ConflictError)
    assert cypher("MATCH (e:OrchestrationExecution) WHERE e.executionId IN ['e1', 'e2'] "
                  "RETURN e.executionId, e.tasksSuccessful ORDER BY e.executionId") == [["e1", 2], ["e2", 1]]
    # Nothing of the guilty result was stored.
    assert cypher("MATCH (a:TaskAttempt {executionId: 'poisoned'}) RETURN count(a)") == [[1]]


def test_it_answers_an_unexpected_neo4j_error_as_json_that_says_to_retry(ingest):
    _poison("poisoned")
    response = ingest.task("poisoned", "t1", {"status": "success", "tokens": {"input": 10_000}})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["error"] == "internal" and "retry" in body["detail"]
    assert "Traceback" not in response.content.decode()


def test_it_never_puts_more_bytes_in_a_group_than_its_budget():
    # Five results of 400 bytes under a budget of 1,000 bytes: at most two per statement, however many
    # wait; one larger than the whole budget is written on its own.
    group = services.GroupCommit(max_size=64, max_bytes=1000)
    services.task_result_record(execution_id="e1", task_result=_result("e1", "t0"))
    with _while_a_write_waits(group, "e1") as posts:
        for i in range(5):
            posts.post(f"t{i}", _result("e1", f"t{i + 1}"), size=400)
            _until(lambda n=i + 1: group.waiting == n, f"{i + 1} results wait")
        posts.post("huge", _result("e1", "t-huge"), size=5_000)
        _until(lambda: group.waiting == 6, "six results wait")
    answers = posts.join()
    assert all(a.outcome == "created" for a in answers.values()), answers
    # The first alone, then 400 + 400, 400 + 400, 400 and the huge one alone: 4 statements for the
    # 6 that waited (without the byte budget, 1).
    assert (group.writes, group.results) == (5, 7)
    assert group.largest_group_bytes == 5_000
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'e1'}) RETURN e.tasksSuccessful") == [[8]]


def test_it_counts_each_post_by_its_body_length(ingest):
    from executions.services import group_commit

    commit = group_commit()
    commit.largest_group_bytes = 0
    body_output = "o" * 200_000
    response = ingest.task("e1", "t1", {"status": "success", "output": body_output})
    assert response.status_code == 201
    sent = len(response.wsgi_request.body)
    assert sent > 200_000 and commit.largest_group_bytes == sent
