"""manage.py install_schema: safe to run again, and quiet about rules that already exist."""

import io

from django.core.management import call_command

from tests.conftest import cypher


def test_it_installs_the_schema_again_printing_only_its_summary(capsys):
    out = io.StringIO()
    call_command("install_schema", stdout=out)  # the session already installed it once
    assert out.getvalue().startswith("schema installed: ")
    assert "already exists" not in capsys.readouterr().out
    # The MERGE keys are backed by uniqueness constraints.
    constraints = {row[0] for row in cypher("SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type "
                                            "WHERE type = 'UNIQUENESS' RETURN labelsOrTypes[0] + '.' + properties[0]")}
    assert {"Plan.planId", "OrchestrationExecution.executionId", "TaskExecution.taskExecutionId",
            "TaskAttempt.attemptId"} <= constraints
