"""Every Cypher statement of the app, planned by the real Neo4j: a typo, an unknown function or a
broken include fails here, before any request runs it."""

from __future__ import annotations

import re

import pytest
from neomodel import db

from executions import cypher


def _operators(plan) -> list[tuple[str, str]]:
    found = [(plan["operatorType"], plan.get("args", {}).get("Details", ""))]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


TASK_INDEXES = {
    "TaskAttempt(executionId, taskId, attemptNumber)", "TaskExecution(executionId, taskId)",
    "TaskExecution(reportPlanKey, taskId, reportLink, reportDay, timestamp)",
    "TaskExecution(reportPlanKey, reportLink, reportDay, timestamp)",
    "TaskExecution(reportErrorKey, reportPlanKey, reportDay, timestamp)",
    "TaskExecution(reportPlanKey, reportQcFailed, reportDay, timestamp)",
}


@pytest.mark.parametrize("name", cypher.statement_names())
def test_it_plans_every_statement(name):
    text = cypher.statement(name)
    assert "@project" not in text and "//@include" not in text
    # EXPLAIN plans without running, so parameters need no values.
    with db.driver.session(database=db._database_name) as session:
        plan = session.run("EXPLAIN " + text).consume().plan
    # Task executions and attempts are found by their keys or the failure report's indexes, never by
    # an index of one property that every run of a plan shares (a task id, an attempt number).
    for op, details in _operators(plan):
        for index in re.findall(r":(Task(?:Execution|Attempt)\([^)]*\))", details):
            assert index in TASK_INDEXES, (name, op, details)


def test_it_expands_includes_and_projections_from_the_models():
    text = cypher.statement("ingest/write")
    assert "MERGE (e:OrchestrationExecution {executionId: eid})" in text  # the lock fragment
    assert "SET t += latest {.attemptNumber, .status, .output," in text
    counters = re.search(r"collect\(e \{([^}]*)\}\) AS executions", text).group(1)
    assert ".tasksSuccessful" in counters and ".version" in counters


def test_the_write_statement_takes_its_lists_inside_one_map_parameter():
    # Neo4j keys its parse and plan caches by each list or string parameter's size (a power of ten):
    # a list of its own would make every new size of write parse and plan the statement again.
    for name in ("ingest/write", "ingest/lock_executions"):
        assert set(re.findall(r"\$(\w+)", cypher.statement(name))) == {"write"}, name


def test_the_write_finds_attempts_and_task_executions_by_their_keys_alone():
    # Left to statistics, Neo4j planned the write's conflict check as a seek of every attempt with
    # that number in the graph (by an index on the number that older versions made), and a task
    # execution the write refreshed as a seek of every task execution with that task id.
    with db.driver.session(database=db._database_name) as session:
        session.run("CALL db.awaitIndexes(300)").consume()  # the planner uses only indexes online
        # Planned afresh against the schema as it is, not taken from the plan cache.
        plan = session.run("CYPHER replan=force EXPLAIN " + cypher.statement("ingest/write")).consume().plan
    operators = _operators(plan)
    for label, key in (("TaskAttempt", "executionId, taskId, attemptNumber"), ("TaskExecution", "executionId, taskId")):
        seeks = [(op, details) for op, details in operators if f":{label}(" in details]
        assert seeks, f"the write finds no {label} by an index"
        for op, details in seeks:
            assert op.startswith("NodeUniqueIndexSeek"), (op, details)
            assert f"{label}({key})" in details, details


def test_it_refuses_a_fragment_as_a_statement():
    with pytest.raises(ValueError, match="fragment"):
        cypher.statement("ingest/_lock_executions")


def test_it_finds_every_statement_and_no_fragment():
    names = cypher.statement_names()
    assert "ingest/write" in names and "report/qc" in names
    assert not [n for n in names if n.rsplit("/", 1)[-1].startswith("_")]
