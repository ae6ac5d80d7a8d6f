"""The demo simulator (`manage.py simulate`): its plans, its scripted executions, its HTTP client, and
what it streams through the real ingest API into the graph."""

from __future__ import annotations

import io
import json
import random
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from executions import schemas
from executions.demo.loader import load_demo_plans
from executions.demo.scripting import plan_stages, script_execution
from executions.demo.transport import ClientApi, TokenRejected
from executions.management.commands.simulate import IngestClient, _finished_line
from tests.support.graph import cypher

PLANS = load_demo_plans()
TRANSFORMER_IDS = sorted({t["id"] for p in PLANS for t in p.tasks if t["taskType"] == "transformer"})
DAY_MS = 86_400_000


# ---------------------------------------------------------------- the demo plans


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.plan_id)
def test_each_demo_plan_is_a_valid_mimir_shaped_plan(plan):
    schemas.PlanIn.model_validate(plan.workflow)
    tasks = {t["id"]: t for t in plan.tasks}
    assert 6 <= len(tasks) <= 12
    assert 2 <= len(plan.workflow["parallelGroups"]) <= 4
    for group in plan.workflow["parallelGroups"]:
        members = {tid for tid, t in tasks.items() if t.get("parallelGroup") == group["id"]}
        assert set(group["taskIds"]) == members and len(members) >= 2
    for task in tasks.values():
        assert task["taskType"] in ("agent", "transformer")
        assert set(task["dependencies"]) <= set(tasks)
        if task["taskType"] == "agent":
            assert task["prompt"] and task["agentRoleDescription"] and task["qcRole"]
            assert task["verificationCriteria"] and task["maxRetries"] >= 1
    # Every task lands in exactly one stage (no cycles), and the members of a group run together.
    stages = plan_stages(tasks=plan.tasks)
    assert sorted(t["id"] for stage in stages for t in stage) == sorted(tasks)
    assert all(len({t.get("parallelGroup") for t in stage}) == 1 for stage in stages)


def _texts(value) -> list[str]:
    """Every string value in a JSON document (the prose, not the keys)."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _texts(item)]


def _six_word_runs(texts: list[str]) -> set[tuple[str, ...]]:
    runs = set()
    for text in texts:
        words = re.findall(r"[a-z0-9']+", text.lower())
        runs |= {tuple(words[i:i + 6]) for i in range(len(words) - 5)}
    return runs


def test_the_demo_plans_do_not_reuse_the_prose_of_the_mimir_samples(sample_workflows):
    theirs = _six_word_runs(_texts(sample_workflows))
    ours = _six_word_runs(_texts([[p.workflow, p.simulation] for p in PLANS]))
    assert not ours & theirs


# ---------------------------------------------------------------- scripted executions


def test_a_seed_scripts_the_same_execution_every_time():
    def story(seed: str):
        script = script_execution(plan=PLANS[0], rng=random.Random(seed))
        return [(a.number, a.result, a.work_ms) for run in script.task_runs for a in run.attempts]

    assert story("7/live/0") == story("7/live/0")
    assert story("7/live/0") != story("7/live/1")


def test_a_retry_visibly_addresses_the_fixes_qc_required():
    retried = next(
        run for i in range(200)
        for run in script_execution(plan=PLANS[i % len(PLANS)], rng=random.Random(i)).task_runs
        if len(run.attempts) > 1
    )
    first, second = retried.attempts[:2]
    verdict = first.result["qcVerification"]
    assert first.result["status"] == "failure" and verdict["passed"] is False
    assert verdict["issues"] and len(verdict["issues"]) == len(verdict["requiredFixes"])
    assert f"Addressed QC: {verdict['requiredFixes'][0]}" in second.result["output"]
    assert verdict["requiredFixes"][0] in second.result["prompt"]
    assert second.result["qcVerificationHistory"][0] == verdict


def test_a_task_that_errors_fails_for_good_and_stops_the_execution():
    def errored(run) -> bool:  # an error other than QC running out of retries
        return not run.attempts[-1].result.get("error", "QC").startswith("QC")

    scripts = (script_execution(plan=PLANS[i % len(PLANS)], rng=random.Random(i)) for i in range(500))
    script = next(s for s in scripts if any(errored(run) for run in s.task_runs))
    failed = [run for run in script.task_runs if not run.succeeded]
    assert all(run in script.stages[-1] for run in failed)
    assert failed[0].attempts[-1].result["status"] == "failure" and "qcVerification" not in failed[0].attempts[-1].result
    assert not script.cancelled


# ---------------------------------------------------------------- the HTTP client


class _FlakyServer(BaseHTTPRequestHandler):
    """Answers 503 (Retry-After: 0) to the first two posts, then 201."""

    posts = 0

    def do_POST(self):
        type(self).posts += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        status, body = (503, {"error": "unavailable", "detail": "down"}) if self.posts <= 2 else (201, {"replayed": False})
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_the_client_sends_the_same_post_again_until_the_server_answers():
    _FlakyServer.posts = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    warnings = []
    try:
        client = IngestClient(base_url=f"http://127.0.0.1:{server.server_port}", token="t",
                              stop=threading.Event(), warn=warnings.append)
        answer = client.send(method="POST", path="/executions", body={"executionId": "e"})
    finally:
        server.shutdown()
    assert answer == {"replayed": False}
    assert _FlakyServer.posts == 3
    assert len(warnings) == 2 and "503" in warnings[0] and "answering again" in warnings[1]


class _RefusingServer(BaseHTTPRequestHandler):
    """Answers every post with the status in `status` (an ingest API error body)."""

    status = 401
    posts = 0

    def do_POST(self):
        type(self).posts += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        payload = json.dumps({"error": "refused", "detail": f"status {self.status}"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [401, 422])
def test_through_the_python_client_a_refused_token_stops_the_run_and_a_refused_post_is_warned_once(status):
    _RefusingServer.status, _RefusingServer.posts = status, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    warnings = []
    api = ClientApi(base_url=f"http://127.0.0.1:{server.server_port}", token="t", stop=threading.Event(),
                    warn=warnings.append)
    body = {"executionId": "e", "planId": "p", "totalTasks": 1, "startTime": 1}
    try:
        if status == 401:
            with pytest.raises(TokenRejected, match="401"):
                api.start_execution(body=body)
        else:
            assert api.start_execution(body=body) is None
    finally:
        server.shutdown()
    # A 4xx is never retried, by the client or by the simulator.
    assert _RefusingServer.posts == 1
    assert warnings == ([] if status == 401 else ["start e refused: HTTP 422 status 422"])


def test_the_client_gives_up_quietly_when_stopping_and_the_server_is_unreachable():
    stop = threading.Event()
    stop.set()
    client = IngestClient(base_url="http://127.0.0.1:9", token="t", stop=stop, warn=lambda line: None)
    assert client.send(method="POST", path="/executions", body={}) is None


def test_a_finish_left_unconfirmed_by_a_stop_says_so_and_points_to_no_warning():
    plan = load_demo_plans()[0]
    script = script_execution(plan=plan, rng=random.Random(3))
    line = _finished_line(execution_id="exec-1", script=script, answer=None, posted=Counter(), seconds=1.0,
                          stopping=True)
    assert "stopped by signal" in line and "warnings" not in line
    line = _finished_line(execution_id="exec-1", script=script, answer=None, posted=Counter(), seconds=1.0,
                          stopping=False)
    assert "see the warnings above" in line


# ---------------------------------------------------------------- through a live server


@pytest.mark.slow  # the simulator's threads against the live server
@pytest.mark.parametrize("via_client", [False, True], ids=["plain-http", "python-client"])
def test_the_simulator_streams_consistent_executions_through_the_live_api(live_server, transactional_db, via_client):
    # One run for all the checks: a cold Neo4j makes the first run the slow part of this file.
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("simulate", url=live_server.url, executions=3, backfill=2, speed=5_000, seed=1,
                 concurrency=3, via_client=via_client, stdout=stdout, stderr=stderr)
    assert ("through the Python client" in stdout.getvalue()) is via_client
    assert "refused" not in stderr.getvalue() and "not reported as replayed" not in stderr.getvalue()
    _assert_plans_registered()
    _assert_executions_agree_with_their_tasks()
    _assert_retries_kept_with_their_qc_history()
    _assert_qc_verdicts_hold_lists()
    _assert_one_line_per_execution_started_and_finished(stdout.getvalue())


def _assert_plans_registered():
    assert cypher("MATCH (p:Plan) WHERE p.registered RETURN p.planId, p.taskCount ORDER BY p.planId") == [
        [p.plan_id, len(p.tasks)] for p in sorted(PLANS, key=lambda p: p.plan_id)
    ]


def _assert_executions_agree_with_their_tasks():
    rows = cypher(
        """
        MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p:Plan)
        CALL (e) {
          OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
          RETURN count(CASE WHEN t.status = 'success' THEN 1 END) AS ok,
                 count(CASE WHEN t.status = 'failure' THEN 1 END) AS bad
        }
        CALL (e) {
          OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
          RETURN coalesce(sum(a.tokensTotal), 0) AS tokens, coalesce(sum(a.toolCalls), 0) AS calls
        }
        RETURN e {.executionId, .status, .finished, .cancelled, .startTime, .tasksTotal, .tasksSuccessful,
                  .tasksFailed, .tokensTotal, .toolCalls}, p.taskCount, ok, bad, tokens, calls,
               size([(e)-[:FAILED_TASK]->(f) | f])
        """
    )
    assert len(rows) == 5  # 2 backfilled + 3 live
    for execution, task_count, ok, bad, tokens, calls, failed_links in rows:
        assert execution["executionId"].startswith("exec-")
        assert execution["tasksTotal"] == task_count
        assert (execution["tasksSuccessful"], execution["tasksFailed"]) == (ok, bad)
        # Tokens and tool calls count every attempt: retries cost real tokens.
        assert (execution["tokensTotal"], execution["toolCalls"]) == (tokens, calls) and tokens > 0
        assert failed_links == bad
        assert execution["finished"] is True
        if execution["cancelled"]:
            assert execution["status"] == "cancelled"
        elif bad:
            assert execution["status"] == "failed"
        else:
            assert execution["status"] == "completed" and ok == task_count
    # The backfill lies in the last two weeks (at least an hour back); the live ones started just now.
    starts = sorted(execution["startTime"] for execution, *_ in rows)
    assert starts[-1] - 14 * DAY_MS <= starts[0]
    assert sum(starts[-1] - start > DAY_MS / 24 for start in starts) == 2


def _assert_retries_kept_with_their_qc_history():
    retried = cypher(
        """
        MATCH (t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt) WHERE t.attemptCount > 1
        WITH t, a ORDER BY a.attemptNumber
        RETURN t.taskExecutionId, collect(a {.attemptNumber, .source, .output, .prompt, .qcPassed, .qcRequiredFixes})
        """
    )
    assert retried
    for _, attempts in retried:
        assert [a["attemptNumber"] for a in attempts] == list(range(1, len(attempts) + 1))
        assert all(a["source"] == "result" for a in attempts)  # every attempt was posted with its output
        first, second = attempts[:2]
        assert first["qcPassed"] is False and first["qcRequiredFixes"]
        assert second["output"] != first["output"] and second["prompt"] != first["prompt"]
        assert f"Addressed QC: {first['qcRequiredFixes'][0]}" in second["output"]


def _assert_qc_verdicts_hold_lists():
    verdicts = cypher("MATCH (a:TaskAttempt) WHERE a.qcPassed IS NOT NULL RETURN a.qcPassed, a.qcIssues, a.qcRequiredFixes")
    assert verdicts
    for passed, issues, fixes in verdicts:
        assert isinstance(issues, list) and isinstance(fixes, list)
        assert all(isinstance(text, str) and text for text in issues + fixes)
        assert passed or (issues and fixes)
    # Transformers run no QC: "no QC" stays null, not an empty verdict.
    no_qc = cypher("MATCH (t:TaskExecution) WHERE t.taskId IN $ids RETURN DISTINCT t.qcPassed, t.qcIssues",
                   {"ids": TRANSFORMER_IDS})
    assert no_qc == [[None, None]]


def _assert_one_line_per_execution_started_and_finished(stdout: str):
    lines = stdout.splitlines()
    assert any("created ingest token demo-simulator-" in line for line in lines)
    assert any("backfilled 2 executions" in line for line in lines)
    assert sum(" started " in line for line in lines) == 3
    assert sum(" finished " in line for line in lines) == 3
