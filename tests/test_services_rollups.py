"""The failure report's rollups: kept exact by the writes themselves (ingest/_roll_up_execution),
whatever the order, replays and concurrency, and rebuilt from the facts by rollups_rebuild."""

from __future__ import annotations

import hashlib
import io
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command

from executions import graph, pricing, selectors, services
from executions.models import NO_MODEL, ModelPrice
from executions.selectors.failure_report import (
    REPORT_EXAMPLE_LIMIT,
    REPORT_GROUP_LIMIT,
    _error_groups,
    report_trend_buckets,
)
from executions.signatures import error_key
from tests.support.graph import cypher
from tests.support.rollups import DAY_MS, db_hits, example_keys, recomputed_rollups, stored_rollups

T0 = 1_763_164_800_000  # a UTC midnight
# Whitespace variants of one text (Cypher's trim: not the no-break space, which stays a text of its
# own), an empty one, texts shared by issues and fixes.
ISSUES = ["missing tests", "wrong format", "  missing tests ", "\tmissing tests\n", "no summary", " ",
          "add tests", "no\u00a0summary", "wrong format\u00a0"]
FIXES = ["add tests", " add tests", "emit JSON", "add tests\n"]
ERRORS = ["Connection refused", "Timeout after 30s", None]


def _verdict(rng: random.Random, *, passed: bool) -> dict:
    issues = [] if passed else rng.sample(ISSUES, 2)
    if issues and rng.random() < 0.3:
        issues.append(issues[0].strip())  # a text repeated inside one attempt's list
    return {"passed": passed, "score": 80 if passed else 30, "feedback": "", "issues": issues,
            "requiredFixes": [] if passed else rng.sample(FIXES, rng.randrange(1, 3))}


def _attempt(rng: random.Random, *, number: int, last: bool, when: int, history: bool) -> dict:
    status = "success" if last and rng.random() < 0.7 else "failure"
    result = {
        "status": status, "attemptNumber": number, "duration": 60_000, "timestamp": when,
        "tokens": {"input": rng.randrange(200), "output": rng.randrange(100)},
        # Priced throughout (its price changes between days), priced from a later day on, never priced,
        # and none: the task's plan recommends one for some tasks (PLAN_MODELS).
        "model": rng.choice([" ACME-A ", "acme-b", "unpriced-model", None]),
    }
    if status == "failure" and (error := rng.choice(ERRORS)):
        result["error"] = error
    if rng.random() < 0.4:
        result["qcVerification"] = _verdict(rng, passed=status == "success" and rng.random() < 0.5)
    if number > 1 and (history or rng.random() < 0.3):
        # QC history: earlier attempts' verdicts, which create them when their own results are late.
        result["qcVerificationHistory"] = [_verdict(rng, passed=False) for _ in range(number - 1)]
    return result


# What the plans recommend for the tasks whose results name no model ("ops" recommends none).
PLAN_MODELS = {"etl": {"task-0": "Acme-A", "task-1": "unpriced-plan-model"}, "docs": {"task-0": "acme-b"}}


def _prices() -> None:
    """acme-a from long before the load, cheaper from its third day; acme-b from its second day only."""
    for model, since, inp, out in (("acme-a", T0 - 10 * DAY_MS, "2.5", "10"), ("acme-a", T0 + 2 * DAY_MS, "1.25", "5"),
                                   ("acme-b", T0 + DAY_MS, "0.333333", "1.7")):
        ModelPrice.objects.create(model=model, input_per_million=Decimal(inp), output_per_million=Decimal(out),
                                  effective_from=datetime.fromtimestamp(since / 1000, UTC))


def _load(rng: random.Random, executions: int) -> list[tuple[str, dict]]:
    """(path, body) posts of a random load: plans and no plan over several days, retries, QC
    failures, start events that arrive after the results and move the execution to the day before."""
    calls: list[tuple[str, dict]] = []
    for n in range(executions):
        eid = f"run-{n}"
        plan = rng.choice(["etl", "docs", "ops", None])
        # Late in the day: the attempts run past midnight, so the start moves the execution back a day.
        start = T0 + rng.randrange(4) * DAY_MS + rng.choice([3_600_000, 23 * 3_600_000])
        tasks = rng.randrange(1, 5)
        for t in range(tasks):
            attempts = rng.randrange(1, 4)
            # Some earlier attempts are known only from the last one's QC history.
            history_only = rng.random() < 0.25
            for number in range(1, attempts + 1):
                when = start + 2 * 3_600_000 + (t * 4 + number) * 60_000
                result = _attempt(rng, number=number, last=number == attempts, when=when, history=history_only)
                if number == attempts or not history_only:
                    calls.append((f"/executions/{eid}/tasks", {"taskId": f"task-{t}", "result": result}))
        if plan is not None:
            calls.append(("/executions", {"executionId": eid, "planId": plan, "totalTasks": tasks, "startTime": start}))
            if rng.random() < 0.7:
                calls.append((f"/executions/{eid}/finish", {"endTime": start + DAY_MS // 2,
                                                             "cancelled": rng.random() < 0.1}))
    calls += rng.sample(calls, len(calls) // 5)  # replays
    rng.shuffle(calls)
    return calls


def _as_events(calls: list[tuple[str, dict]]) -> dict:
    """The same posts as one /events batch."""
    events = []
    for path, body in calls:
        if path == "/executions":
            events.append({"type": "execution_started", **body})
        elif path.endswith("/finish"):
            events.append({"type": "execution_finished", "executionId": path.split("/")[2], **body})
        else:
            events.append({"type": "task_result", "executionId": path.split("/")[2], **body})
    return {"events": events}


@pytest.fixture
def live_post(live_server, transactional_db):
    headers = {"Authorization": f"Bearer {services.ingest_token_create(name='rollups')}"}

    def post(path: str, body: dict, method: str = "post") -> int:
        return requests.request(method, f"{live_server.url}/api/v1{path}", json=body, headers=headers,
                                timeout=120).status_code

    return post


@pytest.mark.slow
def test_it_keeps_rollups_equal_to_a_recomputation_after_a_random_parallel_load(live_post):
    rng = random.Random(15)
    _prices()
    # Before the load: a plan re-PUT does not re-roll the executions already written (_roll_up_rework).
    for plan, models in PLAN_MODELS.items():
        tasks = [{"id": task, "recommendedModel": model} for task, model in models.items()]
        assert live_post(f"/plans/{plan}", {"title": plan, "tasks": tasks}, method="put") == 200
    calls = _load(rng, executions=80)
    # Most posts one by one (group commit joins concurrent results), some as /events batches (one
    # transaction for a mix of starts, results and finishes).
    singles, batched = calls[: len(calls) * 3 // 4], calls[len(calls) * 3 // 4:]
    posts = [("single", c) for c in singles] + [("batch", batched[i:i + 8]) for i in range(0, len(batched), 8)]
    rng.shuffle(posts)

    def send(post):
        kind, what = post
        return live_post(*what) if kind == "single" else live_post("/events", _as_events(what))

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, posts))

    assert set(statuses) <= {200, 201, 207}, statuses
    expected = recomputed_rollups()
    # The load reaches every kind of row, and moved executions (the start came late) left no trace.
    assert len(expected["ReportDay"]) > 8 and expected["ReportRetryDay"]
    assert {error for _, error in expected["ReportErrorDay"].values()} == set(ERRORS)
    # Rework of every kind of model: its own (normalized), the plan's, none; on several days.
    models = {key[2] for key in expected["ReportReworkDay"]}
    assert {"acme-a", "acme-b", "unpriced-model", "unpriced-plan-model", NO_MODEL} <= models
    assert len({key[3] for key in expected["ReportReworkDay"]}) > 3
    # QC texts on several plans, whitespace variants counted as one text, history attempts among them.
    assert len({key[0] for key in expected["ReportQcDay"]}) > 2
    assert cypher("MATCH (a:TaskAttempt {source: 'history', qcPassed: false}) RETURN count(a) > 0") == [[True]]
    assert stored_rollups() == expected
    stored, recomputed = example_keys()
    assert stored == recomputed and {keys[2] for keys in recomputed.values()} == {"FAILED_TASK", "RETRIED_TASK", None}
    services.rollups_rebuild(batch_size=7)
    assert stored_rollups() == expected
    assert example_keys()[0] == recomputed
    report = _assert_rollups_answer_as_the_executions(started_from=T0 - DAY_MS, started_to=T0 + 6 * DAY_MS)
    total = report["totals"]["reworkCost"]
    assert total.pricedAttempts and total.amount > 0
    assert total.unpricedAttempts and {"acme-b", "unpriced-model", "unpriced-plan-model"} <= set(total.unpricedModels)
    _assert_rollups_answer_as_the_executions(started_from=T0 + DAY_MS, started_to=T0 + 2 * DAY_MS, plan_id="etl")


def _report_params(*, started_from: int, started_to: int, plan_id: str | None = None) -> dict:
    _, origin, size = report_trend_buckets(started_from=started_from, started_to=started_to)
    return {"started_from": started_from, "started_to": started_to, "plan_id": plan_id, "origin": origin,
            "bucket_ms": size, "examples": REPORT_EXAMPLE_LIMIT, "limit": REPORT_GROUP_LIMIT,
            "prices": pricing.price_table().param}


def _same_examples(ours: list[dict], theirs: list[dict]) -> bool:
    # The order differs on purpose (newest day first); below the limit they are the same ones.
    key = lambda xs: sorted((x["executionId"], x["taskId"]) for x in xs)  # noqa: E731
    return len(ours) == len(theirs) and (len(ours) == REPORT_EXAMPLE_LIMIT or key(ours) == key(theirs))


def _assert_rollups_answer_as_the_executions(**kwargs) -> dict:
    """The statements over rollups (report/days/*) answer what those over the executions do."""
    params = _report_params(**kwargs)
    table = pricing.price_table()
    ours, theirs = graph.read("report/days/trend", params), graph.read("report/trend", params)
    assert [r[:-1] for r in ours] == [r[:-1] for r in theirs]
    # The rework cost: the days path prices rollup sums, the other each attempt; the same Cost.
    bucket_costs = [pricing.cost(r[-1], table) for r in theirs]
    assert [pricing.rollup_cost(r[-1], table) for r in ours] == bucket_costs
    ours, theirs = graph.read("report/days/by_plan", params), graph.read("report/by_plan", params)
    assert [r[:7] for r in ours] == [r[:7] for r in theirs]
    plan_costs = [pricing.cost(r[8], table) for r in theirs]
    assert [pricing.rollup_cost(r[8], table) for r in ours] == plan_costs
    assert all(_same_examples(a[7], b[7]) for a, b in zip(ours, theirs, strict=True))
    # And the report itself (whole days: the rollups) answers those costs.
    report = selectors.failure_report(started_from=kwargs["started_from"], started_to=kwargs["started_to"],
                                      plan_id=kwargs.get("plan_id"))
    assert [b["reworkCost"] for b in report["trend"] if b["reworkCost"] != pricing.NO_COST] == [
        c for c in bucket_costs if c != pricing.NO_COST]
    assert report["totals"]["reworkCost"] == sum(bucket_costs, pricing.NO_COST)
    assert [p["reworkCost"] for p in report["by_plan"]] == plan_costs
    (total, ours), ((their_total, theirs),) = graph.read("report/days/by_task", params)[0], graph.read(
        "report/by_task", params)
    fields = ("planId", "taskId", "taskTitle", "tasks", "failed")
    assert (total, [[g[f] for f in fields] for g in ours]) == (their_total, [[g[f] for f in fields] for g in theirs])
    assert all(_same_examples(a["examples"], b["examples"]) for a, b in zip(ours, theirs, strict=True))
    (total, retried, ours), (their_total, their_retried, theirs) = (
        graph.read("report/days/retried", params)[0], graph.read("report/retried", params)[0])
    fields = ("planId", "taskId", "taskTitle", "retried", "maxAttempts", "totalAttempts", "reworkTokens")
    assert (total, retried, [[g[f] for f in fields] for g in ours]) == (
        their_total, their_retried, [[g[f] for f in fields] for g in theirs])
    assert all(_same_examples(a["examples"], b["examples"]) for a, b in zip(ours, theirs, strict=True))
    assert ours and all(x["attempts"] > 1 for g in ours for x in g["examples"])
    (failed, *ours), (their_failed, *theirs) = graph.read("report/days/qc", params)[0], graph.read("report/qc", params)[0]
    assert failed == their_failed > 0
    for our_top, their_top in zip(ours, theirs, strict=True):
        fields = ("text", "attempts")
        assert our_top and [[t[f] for f in fields] for t in our_top] == [[t[f] for f in fields] for t in their_top]
        assert all(_same_examples(a["examples"], b["examples"]) for a, b in zip(our_top, their_top, strict=True))
    ours, theirs = _error_groups(source="report/days", params=params), _error_groups(source="report", params=params)
    fields = ("signature", "failed", "variants", "sample")
    assert ours and [[g[f] for f in fields] for g in ours] == [[g[f] for f in fields] for g in theirs]
    assert all(_same_examples(a["examples"], b["examples"]) for a, b in zip(ours, theirs, strict=True))
    return report


def test_it_reads_as_much_for_the_report_whatever_the_number_of_executions(ingest):
    """Without failures (no examples to look up, no rework to price) the report's counts read only
    rollup rows: as many database hits for 12 executions a day as for 3."""

    def hits(per_day: int) -> list[int]:
        events = []
        for n in range(per_day):
            for day, plan in ((0, "etl"), (1, "etl"), (1, "docs")):
                eid = f"{plan}-{day}-{n}"
                events.append({"type": "execution_started", "executionId": eid, "planId": plan, "totalTasks": 2,
                               "startTime": T0 + day * DAY_MS + n})
                events += [{"type": "task_result", "executionId": eid, "taskId": t,
                            "result": {"status": "success", "duration": 5, "timestamp": T0 + day * DAY_MS + n + 5}}
                           for t in ("a", "b")]
        assert ingest.events(events).status_code == 200
        params = _report_params(started_from=T0, started_to=T0 + 3 * DAY_MS)
        counts = graph.read("report/days/trend", params)
        assert sum(row[1] for row in counts) == 3 * per_day
        return [db_hits(name, params) for name in ("report/days/trend", "report/days/by_plan", "report/days/by_task",
                                                 "report/days/retried", "report/days/qc")]

    few = hits(3)
    cypher("MATCH (n) DETACH DELETE n")
    assert hits(12) == few


def test_it_reads_as_much_for_the_error_groups_whatever_the_number_of_failures(ingest):
    """Error groups read one rollup row per plan, day and exact text: as many database hits for 12
    failed executions a day as for 3, when they fail with the same texts."""

    def hits(per_day: int) -> int:
        events = []
        for n in range(per_day):
            for day in (0, 1):
                eid = f"etl-{day}-{n}"
                events.append({"type": "execution_started", "executionId": eid, "planId": "etl", "totalTasks": 1,
                               "startTime": T0 + day * DAY_MS + n})
                events.append({"type": "task_result", "executionId": eid, "taskId": "a",
                               "result": {"status": "failure", "duration": 5, "timestamp": T0 + day * DAY_MS + n + 5,
                                          "error": ERRORS[n % 2]}})
        assert ingest.events(events).status_code == 200
        params = _report_params(started_from=T0, started_to=T0 + 3 * DAY_MS)
        assert sum(row[1] for row in graph.read("report/days/by_error", params)) == 2 * per_day
        return db_hits("report/days/by_error", params)

    few = hits(3)
    cypher("MATCH (n) DETACH DELETE n")
    assert hits(12) == few


def _start(ingest, eid: str, plan: str, start: int) -> None:
    assert ingest.start(eid, plan, 1, start).status_code == 201


def _result(ingest, eid: str, task: str, status: str, *, when: int, attempt: int = 1,
            qc_issues: list[str] | None = None) -> None:
    result = {"status": status, "attemptNumber": attempt, "duration": 1000, "timestamp": when,
              "tokens": {"input": 10, "output": 5}}
    if qc_issues is not None:
        result["qcVerification"] = {"passed": False, "score": 10, "issues": qc_issues, "requiredFixes": []}
    assert ingest.task(eid, task, result).status_code in (200, 201)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_it_moves_every_contribution_when_a_late_start_moves_the_execution_to_another_day(ingest):
    _result(ingest, "e1", "a", "failure", when=T0 + DAY_MS + 3_600_000, qc_issues=[" No tests", "No tests "])
    _result(ingest, "e1", "a", "success", when=T0 + DAY_MS + 7_200_000, attempt=2)
    assert stored_rollups()["ReportDay"] == {("", T0 + DAY_MS): (1, 0, 0, 1, 0, 30, 15, 1, 1)}
    assert stored_rollups()["ReportQcDay"] == {("", T0 + DAY_MS, "issue", _sha("No tests")): (1, "No tests")}

    _start(ingest, "e1", "etl", T0 + 23 * 3_600_000)

    assert stored_rollups() == {
        "ReportDay": {("etl", T0): (1, 0, 0, 1, 0, 30, 15, 1, 1)},
        "ReportTaskDay": {("etl", T0, "a"): (1, 0, 1, 2, 15)},
        "ReportRetryDay": {("etl", T0, "a", 2): 1},
        "ReportErrorDay": {},
        # The failed attempt stays on its own day (its price's), with the execution's plan and day.
        "ReportReworkDay": {("etl", T0, NO_MODEL, T0 + DAY_MS): (10, 5, 1)},
        "ReportQcDay": {("etl", T0, "issue", _sha("No tests")): (1, "No tests")},
    }
    assert stored_rollups() == recomputed_rollups()
    stored, recomputed = example_keys()
    assert stored == recomputed == {("e1", "a"): ("etl", T0, "RETRIED_TASK", None, True)}


def test_it_moves_the_error_rows_with_the_execution_and_drops_them_when_the_task_passes(ingest):
    result = {"status": "failure", "attemptNumber": 1, "duration": 1000, "timestamp": T0 + DAY_MS + 3_600_000,
              "error": "KeyError: 'user_42'"}
    assert ingest.task("e1", "a", result).status_code == 201
    assert ingest.task("e1", "b", {**result, "error": None}).status_code == 201
    key = error_key("KeyError: 'user_42'")
    assert stored_rollups()["ReportErrorDay"] == {
        ("", T0 + DAY_MS, key): (1, "KeyError: 'user_42'"), ("", T0 + DAY_MS, ""): (1, None)}

    _start(ingest, "e1", "etl", T0 + 23 * 3_600_000)
    assert stored_rollups()["ReportErrorDay"] == {("etl", T0, key): (1, "KeyError: 'user_42'"), ("etl", T0, ""): (1, None)}

    _result(ingest, "e1", "a", "success", when=T0 + DAY_MS + 7_200_000, attempt=2)
    assert stored_rollups()["ReportErrorDay"] == {("etl", T0, ""): (1, None)}
    assert stored_rollups() == recomputed_rollups()


def test_it_gives_attempts_stored_before_error_keys_theirs_when_the_graph_is_rederived(ingest):
    _start(ingest, "e1", "etl", T0)
    _result(ingest, "e1", "a", "failure", when=T0 + 1000)
    assert ingest.task("e1", "b", {"status": "failure", "attemptNumber": 1, "duration": 5, "timestamp": T0 + 2000,
                                   "error": "Timeout after 30s"}).status_code == 201
    expected = recomputed_rollups()
    # As a version before error rollups left it.
    cypher("MATCH (a:TaskAttempt) REMOVE a.errorKey")
    cypher("MATCH (t:TaskExecution) REMOVE t.errorKey")
    cypher("MATCH (e:OrchestrationExecution) REMOVE e.rolledErrorKeys, e.rolledErrorCounts")
    cypher("MATCH (r:ReportErrorDay) DELETE r")
    assert services.executions_need_rederive()

    call_command("rederive_graph", "--if-needed", stdout=io.StringIO())

    assert not services.executions_need_rederive()
    assert stored_rollups() == expected
    assert sorted(cypher("MATCH (a:TaskAttempt) RETURN a.errorKey")) == sorted(
        [[error_key(None)], [error_key("Timeout after 30s")]])


def test_it_gives_task_executions_written_before_example_keys_theirs_when_the_graph_is_rederived(ingest):
    _start(ingest, "e1", "etl", T0)
    _result(ingest, "e1", "a", "failure", when=T0 + 1000, qc_issues=["No tests"])
    _result(ingest, "e1", "b", "success", when=T0 + 2000, attempt=2)
    _result(ingest, "e2", "a", "success", when=T0 + DAY_MS + 5000)
    stored, expected = example_keys()
    assert stored == expected == {
        ("e1", "a"): ("etl", T0, "FAILED_TASK", error_key(None), True),
        ("e1", "b"): ("etl", T0, "RETRIED_TASK", None, None),
        ("e2", "a"): ("", T0 + DAY_MS, None, None, None),
    }
    params = _report_params(started_from=T0, started_to=T0 + 2 * DAY_MS)
    report = graph.read("report/days/by_plan", params)
    # As a version before these keys left the task executions (the rows were already rolled up).
    cypher("MATCH (t:TaskExecution) REMOVE t.reportPlanKey, t.reportDay, t.reportLink, t.reportErrorKey, "
           "t.reportQcFailed")
    assert services.executions_need_rederive()
    assert [row[7] for row in graph.read("report/days/by_plan", params)] == [[], []]

    call_command("rederive_graph", "--if-needed", stdout=io.StringIO())

    assert not services.executions_need_rederive()
    assert example_keys()[0] == expected
    assert graph.read("report/days/by_plan", params) == report
    assert [[x["taskId"] for x in row[7]] for row in report] == [["a"], []]


def test_it_reads_as_many_task_executions_for_the_examples_whatever_the_number_of_failures_a_day(ingest):
    """A shown group's examples are the newest of each day by an index in timestamp order: as many
    database hits for 36 failed executions a day as for 12, for every kind of group."""

    def hits(per_day: int) -> list[int]:
        events = []
        for n in range(per_day):
            for day in (0, 1):
                eid = f"etl-{day}-{n}"
                at = T0 + day * DAY_MS + n * 1000
                events.append({"type": "execution_started", "executionId": eid, "planId": "etl", "totalTasks": 3,
                               "startTime": at})
                qc = {"passed": False, "score": 10, "issues": ["No tests"], "requiredFixes": ["Add tests"]}
                events += [
                    {"type": "task_result", "executionId": eid, "taskId": "a",
                     "result": {"status": "failure", "duration": 5, "timestamp": at + 5, "error": ERRORS[0],
                                "qcVerification": qc}},
                    {"type": "task_result", "executionId": eid, "taskId": "b",
                     "result": {"status": "success", "attemptNumber": 2, "duration": 5, "timestamp": at + 6}},
                    {"type": "task_result", "executionId": eid, "taskId": "c",
                     "result": {"status": "success", "duration": 5, "timestamp": at + 7}},
                ]
        assert ingest.events(events).status_code == 200
        params = _report_params(started_from=T0, started_to=T0 + 3 * DAY_MS)
        ((_, groups),) = graph.read("report/days/by_task", params)
        assert [len(g["examples"]) for g in groups] == [REPORT_EXAMPLE_LIMIT]
        groups = [{"group": 0, "keys": [error_key(ERRORS[0])]}]
        ((_, examples),) = graph.read("report/days/error_examples", {**params, "groups": groups})
        newest = range(per_day - 1, per_day - 1 - REPORT_EXAMPLE_LIMIT, -1)
        assert [x["executionId"] for x in examples] == [f"etl-1-{n}" for n in newest]
        return [db_hits(name, {**params, "groups": groups}) for name in (
            "report/days/by_plan", "report/days/by_task", "report/days/retried", "report/days/qc",
            "report/days/error_examples")]

    few = hits(12)
    cypher("MATCH (n) DETACH DELETE n")
    assert hits(36) == few


def test_it_writes_no_rollup_row_for_a_replay(ingest):
    _start(ingest, "e1", "etl", T0)
    _result(ingest, "e1", "a", "failure", when=T0 + 1000, qc_issues=["No tests"])
    before = cypher("MATCH (r:ReportDay) RETURN r.executions, r.failedTasks, r.reworkTokens")
    qc_before = cypher("MATCH (r:ReportQcDay) RETURN r.attempts, r.text, elementId(r)")

    _result(ingest, "e1", "a", "failure", when=T0 + 1000, qc_issues=["No tests"])

    assert cypher("MATCH (r:ReportDay) RETURN r.executions, r.failedTasks, r.reworkTokens") == before == [[1, 1, 15]]
    assert cypher("MATCH (r:ReportQcDay) RETURN r.attempts, r.text, elementId(r)") == qc_before
    assert [row[:2] for row in qc_before] == [[1, "No tests"]]


def test_it_rebuilds_rows_from_the_facts_and_keeps_the_days_before_the_prune_watermark(ingest):
    _start(ingest, "old", "etl", T0)
    _result(ingest, "old", "a", "failure", when=T0 + 1000)
    _start(ingest, "new", "etl", T0 + 2 * DAY_MS)
    _result(ingest, "new", "a", "success", when=T0 + 2 * DAY_MS + 1000)
    # Pruned: the old execution is gone, its day's rows stay; a wrong row of a later day is repaired.
    cypher("MATCH (e:OrchestrationExecution {executionId: 'old'})-[:HAS_TASK_EXECUTION]->(t)-[:HAS_ATTEMPT]->(a) "
           "DETACH DELETE e, t, a")
    cypher("CREATE (:PruneRun {before: $before})", {"before": T0 + DAY_MS})
    cypher("MATCH (r:ReportDay {day: $day}) SET r.tasks = 99", {"day": T0 + 2 * DAY_MS})

    rebuilt = services.rollups_rebuild(batch_size=1)

    assert (rebuilt.from_day, rebuilt.executions) == (T0 + DAY_MS, 1)
    assert stored_rollups()["ReportDay"] == {
        ("etl", T0): (1, 0, 0, 1, 1, 15, 15, 0, 0),
        ("etl", T0 + 2 * DAY_MS): (1, 0, 0, 1, 0, 15, 0, 0, 0),
    }


def test_it_gives_attempts_written_before_qc_keys_their_keys_and_rebuilds_their_rows(ingest):
    _start(ingest, "e1", "etl", T0)
    _result(ingest, "e1", "a", "failure", when=T0 + 1000, qc_issues=["No tests", " No tests", "Too short"])
    _result(ingest, "e1", "b", "failure", when=T0 + 2000, qc_issues=["Too short"])
    expected = recomputed_rollups()
    # As an older version left them: no keys on the attempts, no QC rows, no QC contribution.
    cypher("MATCH (a:TaskAttempt) REMOVE a.qcIssueKeys, a.qcFixKeys")
    cypher("MATCH (r:ReportQcDay) DELETE r")
    cypher("MATCH (e:OrchestrationExecution) REMOVE e.rolledQcPlanKey, e.rolledQcDay, e.rolledQcKinds, "
           "e.rolledQcKeys, e.rolledQcCounts")
    assert services.executions_need_rederive()

    out = io.StringIO()
    call_command("rederive_graph", "--if-needed", "--batch-size", "1", stdout=out)
    assert "rollups rebuilt" in out.getvalue()

    assert stored_rollups() == expected
    assert expected["ReportQcDay"] == {("etl", T0, "issue", _sha("No tests")): (1, "No tests"),
                                       ("etl", T0, "issue", _sha("Too short")): (2, "Too short")}
    assert cypher("MATCH (a:TaskAttempt {taskId: 'a'}) RETURN a.qcIssueKeys, a.qcFixKeys") == [
        [[_sha("No tests"), _sha("Too short")], []]]
    assert not services.executions_need_rederive()


def test_rederive_graph_rolls_up_the_rework_of_executions_written_before_report_rework_day(ingest):
    _start(ingest, "e1", "etl", T0)
    _result(ingest, "e1", "a", "failure", when=T0 + 1000)
    expected = recomputed_rollups()
    assert expected["ReportReworkDay"] == {("etl", T0, NO_MODEL, T0): (10, 5, 1)}
    # What a graph written by the version before looks like: the other rollups, none of these.
    cypher("MATCH (r:ReportReworkDay) DELETE r")
    cypher("MATCH (e:OrchestrationExecution) REMOVE e.rolledReworkPlanKey, e.rolledReworkDay, e.rolledReworkModels, "
           "e.rolledReworkValues")
    out = io.StringIO()
    call_command("rederive_graph", "--if-needed", stdout=out)
    assert "rollups rebuilt" in out.getvalue()
    assert stored_rollups() == expected


def test_it_reads_as_much_for_the_trends_rework_cost_whatever_the_number_of_failed_attempts(ingest):
    """The trend's rework (in currency) reads ReportReworkDay rows, not the failed attempts: as many
    database hits for 12 executions a day with rework as for 3."""

    def hits(per_day: int) -> int:
        events = []
        for n in range(per_day):
            for day in (0, 1):
                eid = f"etl-{day}-{n}"
                when = T0 + day * DAY_MS + n
                events.append({"type": "execution_started", "executionId": eid, "planId": "etl", "totalTasks": 1,
                               "startTime": when})
                events += [{"type": "task_result", "executionId": eid, "taskId": "a",
                            "result": {"status": status, "attemptNumber": number, "duration": 5, "timestamp": when + 5,
                                       "tokens": {"input": 10, "output": 5}, "model": "acme-a"}}
                           for number, status in ((1, "failure"), (2, "success"))]
        assert ingest.events(events).status_code == 200
        params = _report_params(started_from=T0, started_to=T0 + 3 * DAY_MS)
        rework = [pricing.rollup_cost(row[-1], pricing.price_table()) for row in graph.read("report/days/trend", params)]
        assert [c.unpricedAttempts for c in rework] == [per_day, per_day]  # acme-a has no price here
        return db_hits("report/days/trend", params)

    few = hits(3)
    cypher("MATCH (n) DETACH DELETE n")
    assert hits(12) == few
