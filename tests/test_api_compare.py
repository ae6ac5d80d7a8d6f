"""GET /api/v1/compare?a=&b= through Django's full stack against the real Neo4j: the
compare page's data as JSON (compared with the page on the same runs), the output diff, who may
read it, and a 4xx naming the parameter for every bad input."""

from __future__ import annotations

import pytest
from neomodel import db

from executions import services
from tests.support import compare
from tests.support.graph import cypher


@pytest.fixture
def runs(shared_graph, ingest):
    shared_graph.use("compare-runs", lambda: compare.build(ingest))


def _token(**kwargs) -> str:
    kwargs.setdefault("scopes", ("read",))
    return services.ingest_token_create(name=f"token-{sorted(kwargs.items())}", **kwargs)


@pytest.fixture
def reader(client, db):
    token = _token()

    def get(token_override: str | None = None, **params):
        return client.get("/api/v1/compare", params,
                          HTTP_AUTHORIZATION=f"Bearer {token_override or token}")

    return get


def _ok(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def _error(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert field in [e["field"] for e in body["errors"]], body
    return body


def test_it_answers_each_tasks_sides_deltas_and_what_changed(reader, runs):
    body = _ok(reader(a="run-1", b="run-2"))
    tasks = {t["taskId"]: t for t in body["tasks"]}
    assert [t["taskId"] for t in body["tasks"]] == sorted(tasks)
    unit = tasks["unit"]
    assert (unit["a"]["status"], unit["b"]["status"], unit["a"]["qcScore"], unit["b"]["qcScore"]) == (
        "success", "failure", 88, 40)
    assert unit["delta"] == {"attemptCount": 0, "qcScore": -48, "durationMs": 20_000, "tokensTotal": 0}
    assert unit["newlyFailing"] and unit["qcDown"] and unit["outputChanged"] and not unit["fixed"]
    assert tasks["docs"]["presence"] == "a" and tasks["docs"]["b"] is None
    assert tasks["ship"]["presence"] == "b" and tasks["ship"]["a"] is None
    assert body["summary"] == {"newlyFailing": ["unit"], "fixed": ["e2e"], "qcDown": ["unit"], "qcUp": ["e2e"],
                               "moreAttempts": ["lint"], "fewerAttempts": [], "tokensUp": ["perf"],
                               "tokensDown": [], "onlyInA": ["docs"], "onlyInB": ["ship"]}
    assert body["counts"]["outputChanged"] == 3 and body["counts"]["inBoth"] == 5
    assert (body["a"]["executionId"], body["b"]["executionId"]) == ("run-1", "run-2")
    assert body["deltas"]["elapsedMs"] == body["b"]["elapsedMs"] - body["a"]["elapsedMs"] == 60_000
    assert body["deltas"]["tokensTotal"] == body["b"]["tokensTotal"] - body["a"]["tokensTotal"]
    assert body["outputDiff"] is None


def test_it_answers_what_the_compare_page_shows(reader, signed_in, runs):
    body = _ok(reader(a="run-1", b="run-2"))
    html = signed_in.get("/executions/compare", {"a": "run-1", "b": "run-2"}).content.decode()
    for task in body["tasks"]:
        assert f'data-task-id="{task["taskId"]}" data-presence="{task["presence"]}"' in html
    for key, task_ids in body["summary"].items():
        assert f'id="summary-{key}" data-count="{len(task_ids)}"' in html, key


def test_it_answers_a_tasks_output_diff_with_task(reader, runs):
    diff = _ok(reader(a="run-1", b="run-2", task="unit"))["outputDiff"]
    assert diff["taskId"] == "unit" and (diff["added"], diff["removed"], diff["identical"]) == (2, 1, False)
    assert [(line["kind"], line["text"]) for line in diff["lines"]] == [
        ("meta", "--- run-1"), ("meta", "+++ run-2"), ("hunk", "@@ -1 +1,2 @@"), ("del", "-120 passed"),
        ("add", "+117 passed"), ("add", "+3 failed <script>alert(1)</script>")]
    assert diff["limited"] is False and diff["maxLines"] == 1_000
    same = _ok(reader(a="run-1", b="run-2", task="build"))["outputDiff"]
    assert same["identical"] is True and same["lines"] == []
    # A task of one run only has nothing to be diffed with; one of neither is not found.
    assert _ok(reader(a="run-1", b="run-2", task="ship"))["outputDiff"] is None
    body = _error(reader(a="run-1", b="run-2", task="nope"), 404, "task")
    assert body["error"] == "not_found" and "nope" in body["detail"]


@pytest.mark.parametrize(("params", "status", "field"), [
    ({}, 400, "a"),
    ({"b": "run-2"}, 400, "a"),
    ({"a": "run-1"}, 400, "b"),
    ({"a": "run-1", "b": ""}, 400, "b"),
    ({"a": "run-1", "b": "run-1"}, 400, "b"),
    ({"a": "run 1", "b": "run-2"}, 400, "a"),
    ({"a": "run-1", "b": "x" * 201}, 400, "b"),
    ({"a": "run-1", "b": "run-2", "task": "a b"}, 400, "task"),
    ({"a": "nope", "b": "run-2"}, 404, "a"),
    ({"a": "run-1", "b": "nope"}, 404, "b"),
], ids=lambda v: None if isinstance(v, dict) else str(v))
def test_it_answers_a_4xx_naming_the_parameter_for_bad_input(reader, runs, params, status, field):
    body = _error(reader(**params), status, field)
    assert field in body["detail"] or status == 404


def test_it_needs_the_read_scope_and_a_known_token(reader, runs):
    refused = reader(token_override=_token(scopes=("write",)), a="run-1", b="run-2")
    assert refused.status_code == 403 and refused.json()["detail"].endswith("needs the read scope")
    assert reader(token_override="mimir_unknown", a="run-1", b="run-2").status_code == 401


def test_a_limited_token_compares_only_executions_within_its_limits(reader, runs):
    within = _token(plans=["release"])
    assert _ok(reader(token_override=within, a="run-1", b="run-2"))["counts"]["inBoth"] == 5
    prefix = _token(execution_prefixes=["run-1"])
    body = _error(reader(token_override=prefix, a="run-1", b="run-2"), 403, "executionId")
    assert "run-2" in body["detail"]
    # An execution outside the limits is refused before it is looked for: no telling it from none.
    other_plan = _token(plans=["elsewhere"])
    _error(reader(token_override=other_plan, a="run-1", b="nope"), 403, "executionId")


def test_it_reads_with_one_statement_neo4j_plans_as_a_read_and_writes_nothing(reader, runs, cypher_calls):
    before = cypher("MATCH (n) RETURN count(n), max(n.version), max(n.updated)")
    del cypher_calls[:]
    _ok(reader(a="run-1", b="run-2", task="unit"))
    assert len(cypher_calls) == 1
    assert cypher("MATCH (n) RETURN count(n), max(n.version), max(n.updated)") == before
    with db.driver.session() as session:
        assert session.run("EXPLAIN " + cypher_calls[0]).consume().query_type == "r"


def test_it_is_documented_with_its_parameters_response_schema_and_errors(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/compare"]["get"]
    assert {p["name"]: p["required"] for p in operation["parameters"]} == {"a": True, "b": True, "task": False}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CompareOut"}
    assert {"400", "401", "403", "404", "503"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert {"a", "b", "deltas", "counts", "summary", "tasks", "outputDiff"} <= set(schemas["CompareOut"]["properties"])
    assert "at least 10%" in schemas["CompareTaskOut"]["properties"]["tokensUp"]["description"]


def test_it_reads_an_execution_whose_id_is_compare_by_its_own_url(ingest, client):
    # The comparison lives at /api/v1/compare: /api/v1/executions/<id> is every id's, "compare" too.
    assert ingest.start("compare", "plan-c", 1, 1_763_000_000_000).status_code == 201
    token = _token()
    response = client.get("/api/v1/executions/compare", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json()["executionId"] == "compare"
