"""Tokens limited to plans or execution-id prefixes (issue #12 item 15), through Django's full stack
against the real Neo4j: a write outside the limits is a 403 naming the field and writes nothing, a
batch refuses only its events outside, and reads show only what is within."""

from __future__ import annotations

import pytest

from executions import schemas, services
from executions.errors import Forbidden
from executions.limits import ExecutionLimits
from executions.services import ingest as ingest_service
from tests.support.api import Ingest
from tests.support.graph import cypher
from tests.support.pages import PLAN, T0, result, run


@pytest.fixture
def limited(client, db):
    """An Ingest client whose token (read and write) has the given limits."""

    def create(name: str, **limits) -> Ingest:
        return Ingest(client, services.ingest_token_create(name=name, scopes=("read", "write"), **limits))

    return create


def _forbidden(response, field: str, words: str) -> dict:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["error"] == "forbidden" and words in body["detail"], body
    assert [e["field"] for e in body["errors"]] == [field], body
    return body


def _executions() -> list[list]:
    return cypher("MATCH (e:OrchestrationExecution) RETURN e.executionId, e.planId, e.started, e.tasksSuccessful "
                  "ORDER BY e.executionId")


# ---------------------------------------------------------------- writes


def test_a_prefix_limited_token_writes_only_ids_with_its_prefixes_checked_on_the_id(limited):
    team = limited("team-a", execution_prefixes=["team-a-", "shared-a-"])
    assert team.start("team-a-1", "etl", 1, T0).status_code == 201
    # A result before its start is fine: the id alone says it is within.
    assert team.task("shared-a-2", "t0", result()).status_code == 201
    for response in (team.start("team-b-1", "etl", 1, T0), team.task("team-b-1", "t0", result()),
                     team.finish("team-b-1", T0 + 1), team.task("team-a", "t0", result())):
        body = _forbidden(response, "executionId", "is outside this token's prefixes")
        assert "this token is limited to execution ids starting with 'team-a-', 'shared-a-'" in body["detail"]
    # Plans are shared by every execution of every token: not its to write.
    _forbidden(team.plan("etl", PLAN), "planId", "a token limited to execution ids may not write plans")
    assert _executions() == [["shared-a-2", None, False, 1], ["team-a-1", "etl", True, 0]]
    assert cypher("MATCH (p:Plan) RETURN p.planId, p.registered") == [["etl", False]]


def test_a_plan_limited_token_starts_its_plans_executions_and_then_writes_only_those(ingest, limited):
    etl = limited("etl-only", plans=["etl", "etl-v2"])
    run(ingest, "ops-1", plan_id="ops", tasks=1, finish=False)
    assert etl.plan("etl", PLAN).status_code == 200
    _forbidden(etl.plan("ops", PLAN), "planId", "plan 'ops' is not one this token may write")
    assert etl.start("etl-1", "etl", 2, T0).status_code == 201
    assert etl.task("etl-1", "t0", result()).status_code == 201
    _forbidden(etl.start("etl-2", "ops", 1, T0), "planId", "plan 'ops' is not one this token may write")
    # Another plan's execution: refused as such, not answered 409 (its start differs) or 201.
    _forbidden(etl.start("ops-1", "etl", 1, T0), "executionId", "is of a plan this token may not write")
    for response in (etl.task("ops-1", "t1", result()), etl.finish("ops-1", T0 + 1)):
        _forbidden(response, "executionId", "has no start of a plan this token may write")
    # No start yet: nothing says the execution is of its plans, so it must send the start first.
    for response in (etl.task("etl-3", "t0", result()), etl.finish("etl-3", T0 + 1)):
        _forbidden(response, "executionId", "send the start first")
    assert etl.finish("etl-1", T0 + 10_000).status_code == 201
    assert etl.start("etl-1", "etl", 2, T0).json()["replayed"] is True
    assert _executions() == [["etl-1", "etl", True, 1], ["ops-1", "ops", True, 1]]
    assert cypher("MATCH (p:Plan {planId: 'ops'}) RETURN p.registered") == [[False]]


def test_a_plan_limited_token_may_not_start_an_execution_another_token_posted_results_to_before_its_start(ingest, limited):
    # Starting it would hand the token those results to read, and mix its own posts with them.
    assert ingest.task("early-1", "t0", result(output="someone else's")).status_code == 201
    assert ingest.finish("early-2", T0 + 1).status_code == 201
    etl = limited("etl-only", plans=["etl"])
    for eid in ("early-1", "early-2"):
        _forbidden(etl.start(eid, "etl", 1, T0), "executionId", "was posted to before its start")
    assert _executions() == [["early-1", None, False, 1], ["early-2", None, False, 0]]
    # The token that posted them may start it.
    assert ingest.start("early-1", "etl", 1, T0).status_code == 201


def test_a_start_is_checked_again_under_its_lock_for_a_result_that_landed_after_the_first_check(ingest, limited):
    # The start passed its check (no such execution yet); another token's result then lands first.
    start = schemas.StartEvent(type="execution_started", executionId="raced", planId="etl", totalTasks=1, startTime=T0)
    limits = ExecutionLimits(plans=frozenset({"etl"}))
    assert ingest_service._refusals(limits, [(0, start)]) == {}
    assert ingest.task("raced", "t0", result()).status_code == 201
    with pytest.raises(Forbidden, match="was posted to before its start"):
        ingest_service.apply([(0, start)], limits=limits)
    assert _executions() == [["raced", None, False, 1]]


def test_a_token_with_both_limits_writes_only_executions_within_both(limited):
    both = limited("both", plans=["etl"], execution_prefixes=["a-"])
    assert both.start("a-1", "etl", 1, T0).status_code == 201
    _forbidden(both.start("b-1", "etl", 1, T0), "executionId", "outside this token's prefixes")
    _forbidden(both.start("a-2", "ops", 1, T0), "planId", "plan 'ops' is not one")
    assert both.plan("etl", PLAN).status_code == 200
    assert [row[0] for row in _executions()] == ["a-1"]


def test_a_batch_refuses_each_event_outside_the_limits_in_its_item_and_lands_the_others(ingest, limited):
    run(ingest, "ops-1", plan_id="ops", tasks=1, finish=False)
    etl = limited("etl-only", plans=["etl"])
    events = [
        {"type": "task_result", "executionId": "etl-1", "taskId": "t0", "result": result()},  # before its start
        {"type": "execution_started", "executionId": "etl-1", "planId": "etl", "totalTasks": 2, "startTime": T0},
        {"type": "task_result", "executionId": "etl-1", "taskId": "t1", "result": result()},  # after it: within
        {"type": "task_result", "executionId": "ops-1", "taskId": "t9", "result": result()},
        {"type": "execution_started", "executionId": "ops-2", "planId": "ops", "totalTasks": 1, "startTime": T0},
        {"type": "task_result", "executionId": "ops-2", "taskId": "t0", "result": result()},
        {"type": "plan", "planId": "etl", **PLAN},
        {"type": "plan", "planId": "ops", **PLAN},
        {"type": "execution_finished", "executionId": "etl-1", "endTime": T0 + 10_000},
    ]
    response = etl.events(events)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [403, 201, 201, 403, 403, 403, 200, 403, 201]
    assert [r["body"]["errors"][0]["field"] for r in results if r["status"] == 403] == [
        "executionId", "executionId", "planId", "executionId", "planId"]
    assert results[2]["body"]["execution"]["tasksSuccessful"] == 1
    assert _executions() == [["etl-1", "etl", True, 1], ["ops-1", "ops", True, 1]]
    assert cypher("MATCH (p:Plan) RETURN p.planId, p.registered ORDER BY p.planId") == [["etl", True], ["ops", False]]


def test_a_batch_whose_start_is_refused_under_its_lock_refuses_the_events_that_start_let_through(ingest, limited):
    limits = ExecutionLimits(plans=frozenset({"etl"}))
    start = schemas.StartEvent(type="execution_started", executionId="raced", planId="etl", totalTasks=1, startTime=T0)
    later = schemas.TaskResultEvent.model_validate(
        {"type": "task_result", "executionId": "raced", "taskId": "t1", "result": result()})
    assert ingest_service._refusals(limits, [(0, start), (1, later)]) == {}
    assert ingest.task("raced", "t0", result()).status_code == 201
    answers = ingest_service.apply_one_by_one([(0, start), (1, later)], limits=limits)
    assert isinstance(answers[0], Forbidden) and answers[1] is answers[0]
    assert _executions() == [["raced", None, False, 1]]


# ---------------------------------------------------------------- reads


@pytest.fixture
def two_plans(ingest):
    run(ingest, "etl-1", plan_id="etl", tasks=2, failed=(1,))
    run(ingest, "etl-2", plan_id="etl", tasks=1, start=T0 + 1000)
    run(ingest, "a-ops-1", plan_id="ops", tasks=1, start=T0 + 2000)
    assert ingest.task("a-stray", "t0", result()).status_code == 201


def _get(reader: Ingest, path: str, **params):
    return reader.client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {reader.token}")


def _list(reader: Ingest, **params) -> list[str]:
    response = _get(reader, "/executions", **params)
    assert response.status_code == 200, response.content
    return [e["executionId"] for e in response.json()["executions"]]


def test_a_plan_limited_token_reads_only_its_plans_executions(two_plans, limited):
    etl = limited("etl-reader", plans=["etl"])
    assert _list(etl) == ["etl-2", "etl-1"]
    assert _list(etl, limit=1, cursor=_get(etl, "/executions", limit=1).json()["nextCursor"]) == ["etl-1"]
    assert _list(etl, plan="ops") == [] and _list(etl, start_event="missing") == []
    assert _get(etl, "/executions/etl-1").json()["failedTaskIds"] == ["t1"]
    assert _get(etl, "/executions/etl-1/tasks/t1").status_code == 200
    # Another plan's execution and an unknown one answer alike: the answer does not tell them apart.
    for path in ("/executions/a-ops-1", "/executions/a-stray", "/executions/nothing", "/executions/a-ops-1/tasks/t0",
                 "/executions/nothing/tasks/t0"):
        _forbidden(_get(etl, path), "executionId", "is not one this token may read")
    assert _get(etl, "/plans/etl").status_code == 200
    assert _get(etl, "/reports/failures", plan="etl").status_code == 200
    _forbidden(_get(etl, "/plans/ops"), "plan", "plan 'ops' is not one this token may read")
    _forbidden(_get(etl, "/reports/failures", plan="ops"), "plan", "plan 'ops'")
    _forbidden(_get(etl, "/plans"), "token", "this read spans every plan")
    _forbidden(_get(etl, "/reports/failures"), "plan", "this read spans every plan")


def test_a_prefix_limited_token_reads_only_ids_with_its_prefixes(two_plans, limited):
    team = limited("a-reader", execution_prefixes=["a-"])
    assert _list(team) == ["a-stray", "a-ops-1"]
    assert _get(team, "/executions/a-ops-1").status_code == 200
    # Within its prefix, a missing execution is just missing.
    assert _get(team, "/executions/a-nothing").status_code == 404
    _forbidden(_get(team, "/executions/etl-1"), "executionId", "is not one this token may read")
    # A plan's executions may lie outside its prefixes.
    _forbidden(_get(team, "/plans/ops"), "plan", "plan 'ops' is not one this token may read")


def test_an_unlimited_token_writes_and_reads_everything_as_before(two_plans, ingest):
    assert [e["executionId"] for e in _get(ingest, "/executions").json()["executions"]] == [
        "a-stray", "a-ops-1", "etl-2", "etl-1"]
    assert _get(ingest, "/plans").status_code == 200
