"""Executions at chosen ages for the retention tests, written through the real ingest API, and what
the graph holds after a prune (counts by label, orphans, transactions counted)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from executions import graph as graph_access
from tests.support.graph import cypher

DAY = 86_400_000
# The tests' today: 90 days before it, the cutoff is 2026-03-03 00:00 UTC.
NOW = int(datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp() * 1000)
CUTOFF_90D = int(datetime(2026, 3, 3, tzinfo=UTC).timestamp() * 1000)
OLD = NOW - 120 * DAY
RECENT = NOW - 10 * DAY
PLAN = {"title": "Nightly", "tasks": [{"id": "t0", "title": "First", "recommendedModel": "gpt-4o"}]}
LABELS = ("OrchestrationExecution", "TaskExecution", "TaskAttempt", "Plan", "PlanTask", "ReportDay", "PruneRun")


def execution(ingest, eid: str, *, start: int, tasks: int = 2, attempts: int = 1, fail: bool = False,
              finish: bool = True, plan: str = "nightly") -> None:
    """An execution of `tasks` tasks of `attempts` attempts each (the earlier ones failed); with
    `fail` the first task's last attempt fails too (the execution ends `failed`)."""
    assert ingest.start(eid, plan, tasks, start).status_code == 201
    events = []
    for i in range(tasks):
        for n in range(1, attempts + 1):
            failed = n < attempts or (fail and i == 0)
            events.append({"type": "task_result", "executionId": eid, "taskId": f"t{i}", "result": {
                "status": "failure" if failed else "success", "duration": 1000, "attemptNumber": n,
                "tokens": {"input": 10, "output": 5}, "timestamp": start + (i * attempts + n) * 60_000,
                **({"error": f"boom {i}"} if failed else {}),
            }})
    response = ingest.events(events)
    assert response.status_code == 200, response.content
    if finish:
        assert ingest.finish(eid, start + 3_600_000).status_code == 201


def counts() -> dict[str, int]:
    return {label: cypher(f"MATCH (n:{label}) RETURN count(n)")[0][0] for label in LABELS}


def execution_ids() -> list[str]:
    return [r[0] for r in cypher("MATCH (e:OrchestrationExecution) RETURN e.executionId ORDER BY e.executionId")]


def orphans() -> tuple[int, int]:
    """(attempts without a task execution, task executions without an execution)."""
    ((attempts, tasks),) = cypher(
        "RETURN COUNT { MATCH (a:TaskAttempt) WHERE NOT (:TaskExecution)-[:HAS_ATTEMPT]->(a) },"
        " COUNT { MATCH (t:TaskExecution) WHERE NOT (:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t) }")
    return attempts, tasks


def rollup_rows() -> list[list]:
    """Every rollup row (labels starting with Report) with its properties: a prune must leave them
    as they are."""
    rows = cypher("MATCH (n) WHERE any(label IN labels(n) WHERE label STARTS WITH 'Report') "
                  "RETURN labels(n), properties(n)")
    return sorted(rows, key=repr)


class Interrupted(Exception):
    """What stops a prune between two batches in the tests."""


class TransactionNodes:
    """Counts the nodes each write transaction removed (installed over `graph.write_transaction`),
    and can make one of them fail before it commits, as an interruption would."""

    def __init__(self, monkeypatch, *, fail_at: int | None = None):
        self.removed: list[int] = []
        self.fail_at = fail_at
        real = graph_access.write_transaction

        def counting(fn: Any) -> Any:
            before = _nodes()
            if self.fail_at is not None and len(self.removed) + 1 == self.fail_at:
                def failing() -> Any:
                    fn()
                    raise Interrupted("stopped mid-prune")
                real(failing)
            result = real(fn)
            self.removed.append(before - _nodes())
            return result

        monkeypatch.setattr(graph_access, "write_transaction", counting)


def _nodes() -> int:
    return cypher("MATCH (n) RETURN count(n)")[0][0]
