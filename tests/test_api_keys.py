"""Task executions and attempts are keyed by (executionId, taskId[, attemptNumber]), never by the
joined "<executionId>-<taskId>" string that Mimir returns as their id."""

from __future__ import annotations

import html
import io
import re
from urllib.parse import quote

import pytest
from django.core.management import call_command

from executions import selectors
from tests.support.graph import cypher

T0 = 1_763_000_000_000


def _ok(**extra):
    return {"status": "success", "duration": 100, "tokens": {"input": 3, "output": 2}, **extra}


def _counters(ingest, execution_id):
    body = ingest.get(execution_id).json()
    return (body["tasksSuccessful"], body["tasksFailed"], body["tokensTotal"], [t["taskId"] for t in body["taskExecutions"]])


def test_it_keeps_two_pairs_whose_joined_ids_collide_apart(ingest):
    ingest.start("kx-a-b", "p", 1, T0)
    ingest.start("kx-a", "p", 1, T0)
    first = ingest.task("kx-a-b", "c", _ok(output="from kx-a-b"))
    second = ingest.task("kx-a", "b-c", _ok(output="from kx-a", toolCalls=4))
    assert (first.status_code, second.status_code) == (201, 201), second.json()
    # Mimir's id is the same string for both; the task executions are not the same.
    assert first.json()["id"] == second.json()["id"] == "kx-a-b-c"
    assert _counters(ingest, "kx-a-b") == (1, 0, 5, ["c"])
    assert _counters(ingest, "kx-a") == (1, 0, 5, ["b-c"])
    assert cypher("MATCH (t:TaskExecution) RETURN t.executionId, t.taskId, t.output ORDER BY t.executionId") == [
        ["kx-a", "b-c", "from kx-a"], ["kx-a-b", "c", "from kx-a-b"]]
    assert cypher("MATCH (a:TaskAttempt) RETURN count(a)") == [[2]]
    # Replays stay replays, each of its own pair.
    assert ingest.task("kx-a", "b-c", _ok(output="from kx-a", toolCalls=4)).json()["replayed"] is True
    assert ingest.task("kx-a-b", "c", _ok(output="other")).status_code == 409


IDS = [
    ("dashes", "run-2025-11-01", "task-1-b"),
    ("dots", "release.v1.2", "step.3.1"),
    ("hash", "run#7", "task#1"),
    ("colon and at", "mimir:exec@host", "qc:review@2"),
    ("unicode", "exécution-ü", "任务-一"),
    ("percent and question mark", "50%?done", "a?b=c&d"),
]


@pytest.mark.parametrize("label, execution_id, task_id", IDS, ids=[i[0] for i in IDS])
def test_it_records_and_shows_ids_of_any_printable_text(ingest, signed_in, label, execution_id, task_id):
    assert ingest.start(execution_id, "plan." + task_id, 1, T0).status_code == 201
    answer = ingest.task(execution_id, task_id, _ok(output=f"output of {label}"), task={"id": task_id, "title": label})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["id"] == f"{execution_id}-{task_id}"
    assert ingest.finish(execution_id, T0 + 1000).status_code == 201
    assert _counters(ingest, execution_id) == (1, 0, 5, [task_id])
    # The pages find it by the same pair, through percent-encoded URLs.
    task = selectors.task_detail(execution_id=execution_id, task_id=task_id)
    assert task["task"]["output"] == f"output of {label}"
    page = signed_in.get(f"/executions/{quote(execution_id, safe='')}/tasks/{quote(task_id, safe='')}")
    assert page.status_code == 200 and f"output of {label}" in page.content.decode()
    detail = signed_in.get(f"/executions/{quote(execution_id, safe='')}")
    assert detail.status_code == 200
    # The live page links the task by a URL that leads back to it.
    links = re.findall(r'href="(/executions/[^"]+/tasks/[^"]+)"', detail.content.decode())
    assert links and all(signed_in.get(html.unescape(link)).status_code == 200 for link in set(links))


@pytest.mark.parametrize("bad", ["a/b", "a b", ".", "..", "tab\there", "x" * 201])
def test_it_refuses_ids_that_cannot_be_one_url_segment(ingest, bad):
    response = ingest.start(bad, "p", 1, T0)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["executionId"]


def _write_as_the_old_version():
    """The graph the previous version wrote for execution `kx-a-b` task `c` (two attempts) and
    execution `kx-a` task `b-c`, whose result hit the shared "kx-a-b-c" node: attempts keyed by
    "<taskExecutionId>#<n>", task executions by "<executionId>-<taskId>", and the second execution
    linked to the first one's task execution."""
    cypher("""
        CREATE (e1:OrchestrationExecution {executionId: 'kx-a-b', status: 'completed', started: true, finished: true,
                cancelled: false, startTime: $t0, endTime: $t0 + 10, tasksTotal: 1, version: 3, created: $t0,
                updated: $t0, lastEventAt: $t0, tasksSuccessful: 1, tasksFailed: 0, tokensTotal: 10})
        CREATE (e2:OrchestrationExecution {executionId: 'kx-a', status: 'completed', started: true, finished: true,
                cancelled: false, startTime: $t0, endTime: $t0 + 10, tasksTotal: 1, version: 3, created: $t0,
                updated: $t0, lastEventAt: $t0, tasksSuccessful: 1, tasksFailed: 0, tokensTotal: 5})
        CREATE (t:TaskExecution {taskExecutionId: 'kx-a-b-c', executionId: 'kx-a-b', taskId: 'c', status: 'success',
                attemptNumber: 2, attemptCount: 2, timestamp: $t0 + 5, created: $t0})
        CREATE (e1)-[:HAS_TASK_EXECUTION]->(t), (e2)-[:HAS_TASK_EXECUTION]->(t), (e1)-[:RETRIED_TASK]->(t)
        CREATE (t)-[:HAS_ATTEMPT]->(:TaskAttempt {attemptId: 'kx-a-b-c#1', attemptNumber: 1, source: 'result',
                status: 'failure', tokensInput: 3, tokensOutput: 2, tokensTotal: 5, toolCalls: 0, timestamp: $t0 + 2})
        CREATE (t)-[:HAS_ATTEMPT]->(:TaskAttempt {attemptId: 'kx-a-b-c#2', attemptNumber: 2, source: 'result',
                status: 'success', tokensInput: 3, tokensOutput: 2, tokensTotal: 5, toolCalls: 0, timestamp: $t0 + 5})
    """, {"t0": T0})


def test_it_migrates_a_graph_keyed_by_joined_strings(ingest):
    _write_as_the_old_version()
    out = io.StringIO()
    call_command("rederive_graph", if_needed=True, stdout=out)
    report = out.getvalue()
    assert "2 attempts given their (executionId, taskId) key" in report
    assert "1 task executions of other executions unlinked from kx-a" in report
    assert cypher("MATCH (a:TaskAttempt) RETURN a.executionId, a.taskId, a.attemptNumber, a.attemptId "
                  "ORDER BY a.attemptNumber") == [["kx-a-b", "c", 1, None], ["kx-a-b", "c", 2, None]]
    # kx-a no longer claims kx-a-b's task; its counters are derived again from what it has.
    assert _counters(ingest, "kx-a") == (0, 0, 0, [])
    assert _counters(ingest, "kx-a-b") == (1, 0, 10, ["c"])
    # Writes after the migration find the migrated attempts by their key: a replay is a replay.
    replay = ingest.task("kx-a-b", "c", {"status": "success", "attemptNumber": 2, "duration": 0,
                                          "tokens": {"input": 3, "output": 2}, "output": ""})
    assert replay.status_code in (200, 409)
    assert cypher("MATCH (a:TaskAttempt {executionId: 'kx-a-b', taskId: 'c'}) RETURN count(a)") == [[2]]
    # kx-a's own result now lands as its own task execution.
    assert ingest.task("kx-a", "b-c", _ok()).status_code == 201
    assert _counters(ingest, "kx-a") == (1, 0, 5, ["b-c"])
    # A second run has nothing left to do.
    again = io.StringIO()
    call_command("rederive_graph", if_needed=True, stdout=again)
    assert again.getvalue().strip() == "every execution has its derived facts"
