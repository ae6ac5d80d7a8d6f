"""The TypeScript drop-in for Mimir (clients/typescript): its own tests (`npm test`: the TypeScript
build, then Node's test runner with Mimir's twelve documented examples and the retry tests) run
against a live server, then the graph must hold exactly what they wrote, each replay counted once."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from executions import services
from tests.conftest import REPO
from tests.support.graph import cypher

pytestmark = pytest.mark.slow  # npm, tsc and a Node process against the live server

PACKAGE = REPO / "clients" / "typescript"


def _npm(*args: str, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    npm = shutil.which("npm")
    assert npm, "npm is needed (Node 20 with npm: scripts/system_packages.sh installs them for make test)"
    return subprocess.run([npm, *args], cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def node_run(live_server, transactional_db, shipped_prices):
    # Both scopes: the Node tests read back what they wrote; the shipped prices price gpt-4.1.
    token = services.ingest_token_create(name="mimir-typescript", scopes=("read", "write"))
    env = {**os.environ, "MIMIR_DASHBOARD_URL": live_server.url, "MIMIR_DASHBOARD_TOKEN": token,
           "NO_UPDATE_NOTIFIER": "1", "npm_config_fund": "false", "npm_config_audit": "false"}
    installed_lock = PACKAGE / "node_modules" / ".package-lock.json"
    if not installed_lock.exists() or installed_lock.stat().st_mtime < (PACKAGE / "package-lock.json").stat().st_mtime:
        installed = _npm("ci", env=env, timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    run = _npm("test", env=env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _execution(execution_id: str) -> dict:
    rows = cypher(
        "MATCH (e:OrchestrationExecution {executionId: $e}) "
        "RETURN e {.status, .tasksTotal, .tasksSuccessful, .tasksFailed, .tokensInput, .tokensOutput, .tokensTotal, "
        ".toolCalls, .planId, .durationMs}, "
        "[(e)-[:FAILED_TASK]->(t) | t.taskId], "
        "COUNT { (e)-[:HAS_TASK_EXECUTION]->()-[:HAS_ATTEMPT]->() }",
        {"e": execution_id},
    )
    assert len(rows) == 1, f"{execution_id}: {rows}"
    execution, failed, attempts = rows[0]
    return {**execution, "failed": failed, "attempts": attempts}


def _counts(status, total, ok, bad, tin, tout, calls):
    return {"status": status, "tasksTotal": total, "tasksSuccessful": ok, "tasksFailed": bad,
            "tokensInput": tin, "tokensOutput": tout, "tokensTotal": tin + tout, "toolCalls": calls}


def test_it_runs_mimirs_examples_and_retries_through_the_typescript_package_exactly(node_run):
    # Node's TAP summary: every test ran and passed (none skipped or left as todo).
    assert "# tests 21" in node_run and "# pass 21" in node_run and "# fail 0" in node_run, node_run
    expected = {
        # examples 4, 1, 2, 3
        "exec-1763134573643": (_counts("running", 5, 2, 1, 3000, 1200, 8), ["task-2"], 3),
        # examples 7, 8 (running until it finishes, the failure counted at once)
        "exec-1763134573644": (_counts("running", 5, 1, 1, 1800, 550, 4), ["task-2"], 2),
        "exec-1763134573645": (_counts("running", 3, 3, 0, 3100, 1500, 10), [], 3),  # example 9
        "exec-1763134573646": (_counts("completed", 3, 3, 0, 0, 0, 0), [], 3),  # example 10
        "exec-1763134573647": (_counts("failed", 3, 2, 1, 60, 6, 0), ["task-2"], 3),  # example 11
        "exec-1763134573648": (_counts("cancelled", 3, 2, 0, 0, 0, 0), [], 2),  # example 12
        "exec-1763134573649": (_counts("running", 3, 0, 0, 0, 0, 0), [], 0),  # example 6
        # retries: one attempt each, however many requests it took
        "ts-retry-503": (_counts("running", 1, 1, 0, 100, 1, 2), [], 1),
        "ts-retry-reset": (_counts("running", 1, 1, 0, 100, 1, 2), [], 1),
        "ts-retry-hang": (_counts("running", 1, 1, 0, 100, 1, 2), [], 1),
        # every call made twice, counted once
        "ts-replay": (_counts("completed", 2, 2, 0, 2000, 2, 4), [], 2),
        # a finalize whose copy of a result conflicts: the recorded one stands
        "ts-finalize-conflict": (_counts("completed", 1, 1, 0, 10, 1, 2), [], 1),
        # one result carrying its QC history: two attempts
        "ts-attempts": (_counts("running", 1, 1, 0, 300, 30, 4), [], 2),
        # Mimir's own objects, typed as Mimir declares them (test/mimir-types.test.ts)
        "ts-mimir-types": (_counts("completed", 1, 1, 0, 10, 5, 1), [], 1),
    }
    for execution_id, (counts, failed, attempts) in expected.items():
        stored = _execution(execution_id)
        assert {k: stored[k] for k in counts} == counts, execution_id
        assert (stored["failed"], stored["attempts"]) == (failed, attempts), execution_id
    assert _execution("exec-1763134573646")["durationMs"] == 16_000
    # Example 5: the execution named by its start time, linked to the plan of the same time.
    (row,) = cypher("MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p:Plan {registered: true}) "
                    "WHERE e.tasksTotal = 12 RETURN e.executionId, p.planId")
    assert row[1] == "plan-" + row[0].removeprefix("exec-")
    # Nothing else was written: the unreachable and the refused calls left no trace.
    assert cypher("MATCH (e:OrchestrationExecution) RETURN count(e)") == [[len(expected) + 1]]
    assert cypher("MATCH (t:TaskExecution {executionId: 'ts-refused'}) RETURN count(t)") == [[0]]
