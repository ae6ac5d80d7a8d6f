"""manage.py install_schema: safe to run again, and quiet about rules that already exist; rederive_graph refuses a bad argument."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.graph import cypher


def test_it_installs_the_schema_again_printing_only_its_summary(capsys):
    out = io.StringIO()
    call_command("install_schema", stdout=out)  # the session already installed it once
    assert out.getvalue().startswith("schema installed: ")
    assert "already exists" not in capsys.readouterr().out
    # The MERGE keys are backed by uniqueness constraints.
    constraints = {(row[0], tuple(row[1])) for row in cypher(
        "SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type WHERE type = 'UNIQUENESS' "
        "RETURN labelsOrTypes[0], properties")}
    assert {("Plan", ("planId",)), ("OrchestrationExecution", ("executionId",)),
            ("TaskExecution", ("executionId", "taskId")),
            ("TaskAttempt", ("executionId", "taskId", "attemptNumber"))} <= constraints
    # The keys older versions joined from ids are gone: they would refuse distinct pairs.
    assert not {("TaskExecution", ("taskExecutionId",)), ("TaskAttempt", ("attemptId",))} & constraints


# A second JVM (`own_neo4j`), so slow: any schema change empties the Neo4j's plan cache, and on the
# suite's (kept) server that made it plan every statement of the run once more.
@pytest.mark.slow
def test_it_drops_a_retired_key_and_index_left_by_an_older_version(own_neo4j):
    cypher("CREATE CONSTRAINT old_task_key IF NOT EXISTS FOR (t:TaskExecution) REQUIRE t.taskExecutionId IS UNIQUE")
    # An index of older versions that misled the planner (tests/test_cypher_statements.py).
    cypher("CREATE INDEX attempt_number IF NOT EXISTS FOR (a:TaskAttempt) ON (a.attemptNumber)")
    cypher("CREATE INDEX index_TaskExecution_taskId IF NOT EXISTS FOR (t:TaskExecution) ON (t.taskId)")
    call_command("install_schema", stdout=io.StringIO())
    assert cypher("SHOW CONSTRAINTS YIELD name WHERE name = 'old_task_key' RETURN name") == []
    assert cypher("SHOW INDEXES YIELD name WHERE name IN ['attempt_number', 'index_TaskExecution_taskId'] "
                  "RETURN name") == []


def test_it_refuses_a_rederive_batch_size_below_one():
    with pytest.raises(CommandError, match="--batch-size must be at least 1") as refused:
        call_command("rederive_graph", batch_size=0, stdout=io.StringIO())
    assert refused.value.returncode == 2
