"""Reads from the graph of record. Views and API handlers call these; no Cypher lives elsewhere.

Each selector is a small fixed number of Cypher statements, whatever the number of tasks.
"""

from __future__ import annotations

from typing import Any

import neo4j.exceptions
from neomodel import db

from .services import DatabaseUnavailable

EXECUTION_FIELDS = (
    "executionId planId status started finished cancelled startTime endTime durationMs tasksTotal "
    "tasksSuccessful tasksFailed tokensInput tokensOutput tokensTotal toolCalls lastEventAt version created updated"
).split()

TASK_EXECUTION_FIELDS = (
    "taskExecutionId executionId taskId taskTitle parallelGroup qcRoleDescription status output error prompt "
    "agentRoleDescription durationMs tokensInput tokensOutput tokensTotal toolCalls attemptNumber attemptCount "
    "qcPassed qcScore qcFeedback qcIssues qcRequiredFixes timestamp"
).split()

ATTEMPT_FIELDS = (
    "attemptId attemptNumber source status output error prompt agentRoleDescription durationMs tokensInput "
    "tokensOutput tokensTotal toolCalls qcPassed qcScore qcFeedback qcIssues qcRequiredFixes timestamp"
).split()


def _projection(var: str, fields: list[str]) -> str:
    return var + " {" + ", ".join(f".{f}" for f in fields) + "}"


def read(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """Run a read query; a Neo4j that cannot be reached becomes DatabaseUnavailable."""
    try:
        rows, _ = db.cypher_query(query, params or {})
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(str(exc)) from exc
    return rows


def execution_get(*, execution_id: str) -> dict[str, Any] | None:
    """The execution with its counters and its task executions (latest attempt each), or None."""
    rows = read(
        f"""
        MATCH (e:OrchestrationExecution {{executionId: $eid}})
        OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
        WITH e, t ORDER BY t.timestamp, t.taskId
        RETURN {_projection('e', EXECUTION_FIELDS)} AS execution,
               [x IN collect(t) | {_projection('x', TASK_EXECUTION_FIELDS)}] AS tasks,
               [(e)-[:FAILED_TASK]->(f:TaskExecution) | f.taskId] AS failedTaskIds
        """,
        {"eid": execution_id},
    )
    if not rows:
        return None
    execution, tasks, failed = rows[0]
    return {**execution, "taskExecutions": tasks, "failedTaskIds": sorted(failed)}


def database_is_up() -> bool:
    try:
        read("RETURN 1")
    except DatabaseUnavailable:
        return False
    return True
