"""Mimir's own graph in the test Neo4j, beside ours (label :Node, as Mimir writes it): the shipped
sample (../shared/reference/mimir-graph-sample, written by Mimir's real persistence code; its
graph.jsonl, the same graph as its graph.cypher) and a
generated one of any size, with the same shapes and the same bugs in its stored values."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.graph import cypher

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "mimir-graph-sample"

# The sample README's truth per scenario: status, tasksSuccessful, tasksFailed, tokensTotal,
# toolCalls, durationMs (None: it never finished, so it has none).
TRUTH = {
    "exec-1796110314856": ("completed", 8, 0, 48_882, 22, 1_321),  # all-success
    "exec-1796110316274": ("completed", 11, 0, 123_109, 203, 1_069),  # qc-retry-then-pass
    "exec-1796110317372": ("failed", 7, 1, 72_722, 22, 514),  # permanent-failure
    "exec-1796110317904": ("cancelled", 6, 0, 51_722, 32, 393),  # cancelled
    "exec-1796110321409": ("running", 4, 0, 18_930, 12, None),  # crash
    "exec-1796110318441": ("running", 1, 0, 5_000, 5, None),  # replay
    # The README says `completed`: Mimir's view. They announced one task and reported none, which our
    # model calls `incomplete` (docs/design.md); every other value is the README's.
    "exec-1796110318654-26h": ("incomplete", 0, 0, 0, 0, 93_600_000),
    "exec-1796110318673-32d1h": ("incomplete", 0, 0, 0, 0, 2_768_400_000),
    "exec-1796110318695-59min": ("incomplete", 0, 0, 0, 0, 3_540_000),
}
ORPHAN = "exec-1796110318309-never-created"
# What Mimir stored on those nodes (the README's "stored" halves), for the report's repairs.
STORED = {
    "exec-1796110314856": {"tokensTotal": 27_153, "toolCalls": 16},
    "exec-1796110316274": {"tokensTotal": 73_728, "toolCalls": 115},
    "exec-1796110317372": {"tokensTotal": 30_261, "toolCalls": 5},
    "exec-1796110317904": {"tokensTotal": 22_973, "toolCalls": 14},
    "exec-1796110321409": {"tokensTotal": 6_420, "toolCalls": 5},
    "exec-1796110318441": {"tokensTotal": 10_000, "toolCalls": 10},
}
STORED_DURATIONS = {"exec-1796110318654-26h": 7_200_000, "exec-1796110318673-32d1h": 3_600_000}
# The plans the executions ran, known from the README's workflows (plan nodes are memory-<n>-<ms>,
# created in the order complex-lambda-test, codebase-improvement-cycle, vacation-planner).
PLANS = {
    "exec-1796110314856": "memory-1-1796110314685",
    "exec-1796110316274": "memory-2-1796110314743",
    "exec-1796110317372": "memory-3-1796110314798",
    "exec-1796110317904": "memory-3-1796110314798",
    "exec-1796110321409": "memory-1-1796110314685",
}


def load_sample() -> None:
    """Write the sample's graph.jsonl (its nodes, then its relationships, with their original Cypher
    types) into the test Neo4j: the graph graph.cypher recreates, in a few parameterised statements
    instead of one planned statement per node."""
    lines = SAMPLE / "graph.jsonl"
    if not lines.exists():
        pytest.skip(f"the Mimir graph sample is not beside this clone ({SAMPLE})")
    nodes, links = [], {}
    for line in lines.read_text().splitlines():
        item = json.loads(line)
        if item["kind"] == "node":
            assert item["labels"] == ["Node"], item["labels"]
            nodes.append({k: _typed(v, item["types"][k]) for k, v in item["properties"].items()})
        else:
            links.setdefault(item["type"], []).append({"start": item["start"], "end": item["end"]})
    cypher("CREATE CONSTRAINT node_id_unique IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE")
    cypher("CREATE INDEX node_type IF NOT EXISTS FOR (n:Node) ON (n.type)")
    cypher("UNWIND $nodes AS props CREATE (n:Node) SET n = props", {"nodes": nodes})
    for kind, pairs in links.items():
        assert kind in ("HAS_TASK_EXECUTION", "FAILED_TASK", "EXECUTES_PLAN", "HAS_EXECUTION"), kind
        cypher(f"UNWIND $pairs AS p MATCH (a:Node {{id: p.start}}), (b:Node {{id: p.end}}) CREATE (a)-[:{kind}]->(b)",
               {"pairs": pairs})


def _typed(value, kind: str):
    if kind == "DATETIME":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "FLOAT":
        return float(value)
    return value


def _iso(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def generate(*, executions: int, tasks_per_execution: int, seed: int = 7) -> dict[str, dict[str, int]]:
    """Write a Mimir graph of `executions` x `tasks_per_execution` task executions, stored the way
    Mimir stores them: tokens and tool calls of each execution node short (only some tasks counted),
    durations without their whole days, a crashed execution now and then (`running`, no end). Answers
    the truth per execution: tasksSuccessful, tasksFailed, tokensTotal, toolCalls, durationMs."""
    rng = random.Random(seed)
    start0 = 1_790_000_000_000
    execution_rows, task_rows, truth = [], [], {}
    for n in range(executions):
        eid = f"exec-{start0 + n * 1000}"
        start = start0 + n * 1000
        crashed = n % 50 == 7
        end = start + rng.randint(1_000, 3 * 86_400_000)
        ok = bad = tokens = calls = 0
        for k in range(tasks_per_execution):
            failed = rng.random() < 0.05
            tin, tout, tc = rng.randint(0, 9_000), rng.randint(0, 3_000), rng.randint(0, 30)
            ok, bad = ok + (not failed), bad + failed
            tokens, calls = tokens + tin + tout, calls + tc
            task_rows.append({
                "eid": eid, "id": f"{eid}-task-{k}", "taskId": f"task-{k}", "status": "failure" if failed else "success",
                "tokensInput": tin, "tokensOutput": tout, "tokensTotal": tin + tout, "toolCalls": tc,
                "attemptNumber": 2 if failed else 1, "qcPassed": not failed, "qcScore": 30 if failed else 90,
                "qcIssues": "Too short\nNo sources" if failed else "", "timestamp": _iso(start + k),
                "duration": rng.randint(10, 100_000),
            })
        execution_rows.append({
            "id": eid, "status": "running" if crashed else "failed" if bad else "completed",
            "startTime": _iso(start), "endTime": None if crashed else _iso(end),
            "duration": 0 if crashed else (end - start) % 86_400_000,
            "tasksTotal": tasks_per_execution, "tasksSuccessful": ok, "tasksFailed": bad,
            # Mimir adds only the last result of each group: here, roughly a third of the tasks.
            "tokensTotal": tokens // 3, "toolCalls": calls // 3, "updated": _iso(start + 5_000),
        })
        truth[eid] = {"tasksSuccessful": ok, "tasksFailed": bad, "tokensTotal": tokens, "toolCalls": calls,
                      "durationMs": None if crashed else end - start}
    for i in range(0, len(execution_rows), 500):
        cypher(
            "UNWIND $rows AS r CREATE (e:Node {type: 'orchestration_execution'}) SET e = r, "
            "e.type = 'orchestration_execution', e.planId = r.id, e.created = r.startTime",
            {"rows": execution_rows[i : i + 500]},
        )
    for i in range(0, len(task_rows), 2_000):
        cypher(
            "UNWIND $rows AS r MATCH (e:Node {id: r.eid}) "
            "CREATE (e)-[:HAS_TASK_EXECUTION]->(t:Node {type: 'task_execution'}) "
            "SET t = r, t.type = 'task_execution', t.executionId = r.eid, t.taskTitle = 'Task ' + r.taskId, "
            "t.output = 'done', t.updated = r.timestamp, t.qcRoleDescription = 'QC' REMOVE t.eid "
            "FOREACH (_ IN CASE WHEN r.status = 'failure' THEN [1] ELSE [] END | CREATE (e)-[:FAILED_TASK]->(t))",
            {"rows": task_rows[i : i + 2_000]},
        )
    return truth
