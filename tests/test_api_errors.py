"""Bad input gets a clear 4xx naming the field and the problem; never a 500, never a stack trace."""

import json

import pytest
from neomodel import db

from executions import services
from tests.support.graph import cypher

T0 = 1_763_000_000_000
TASK_OK = {"taskId": "a", "result": {"status": "success", "duration": 1}}


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/executions", {"planId": "p", "totalTasks": 1, "startTime": T0}, "executionId", "required"),
        ("/executions", {"executionId": "e", "planId": "p", "totalTasks": -1, "startTime": T0}, "totalTasks", "greater than or equal"),
        ("/executions", {"executionId": "e", "planId": "p", "totalTasks": "3", "startTime": T0}, "totalTasks", "integer"),
        ("/executions", {"executionId": "e", "planId": "p", "totalTasks": True, "startTime": T0}, "totalTasks", "integer"),
        ("/executions", {"executionId": "e", "planId": "p", "totalTasks": 1, "startTime": "yesterday"}, "startTime", "ISO 8601"),
        ("/executions", {"executionId": "e", "planId": "p", "totalTasks": 1, "startTime": 1763000000}, "startTime", "out of range"),
        ("/executions", {"executionId": "e/../x", "planId": "p", "totalTasks": 1, "startTime": T0}, "executionId", "pattern"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "done"}}, "result.status", "'success' or 'failure'"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "duration": 1.5}}, "result.duration", "integer"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "tokens": {"input": -5}}}, "result.tokens.input", "greater than or equal"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "tokens": {"output": 10**9 + 1}}}, "result.tokens.output", "less than or equal to 1000000000"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "toolCalls": 10**6 + 1}}, "result.toolCalls", "less than or equal"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "duration": 2**53}}, "result.duration", "less than or equal"),
        ("/executions", {"executionId": "e", "planId": "p", "totalTasks": 10**6 + 1, "startTime": T0}, "totalTasks", "less than or equal"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "qcVerification": {"passed": True, "score": 101}}}, "result.qcVerification.score", "less than or equal"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "qcVerification": {"passed": "yes", "score": 1}}}, "result.qcVerification.passed", "boolean"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"status": "success", "attemptNumber": 0}}, "result.attemptNumber", "greater than or equal"),
        ("/executions/e/tasks", {"taskId": "a", "result": {"taskId": "b", "status": "success"}}, "body", "differs from taskId"),
        ("/executions/e/tasks", {"result": {"status": "success"}}, "taskId", "required"),
        ("/executions/e/finish", {"endTime": T0, "cancelled": "no"}, "cancelled", "boolean"),
        ("/executions/e/finish", {}, "endTime", "required"),
    ],
)
def test_it_answers_400_naming_the_bad_field(ingest, path, body, field, words):
    response = ingest.send("post", path, body)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["error"] == "invalid"
    matching = [e for e in payload["errors"] if e["field"] == field]
    assert matching, payload
    assert words.lower() in matching[0]["message"].lower()
    assert cypher("MATCH (n) RETURN count(n)") == [[0]]


def test_it_answers_400_for_a_body_that_is_not_json(ingest):
    response = ingest.send("post", "/executions", "{not json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "body", "message": "is not valid JSON"}]


def test_it_answers_400_for_an_empty_body(ingest):
    response = ingest.send("post", "/executions", "")
    assert response.status_code == 400


def test_it_answers_400_for_a_bad_id_in_the_path(ingest):
    response = ingest.send("post", "/executions/bad%20id/tasks", TASK_OK)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "execution_id"


def test_it_answers_400_for_an_end_before_the_start(ingest):
    ingest.start("e", "p", 1, T0)
    response = ingest.finish("e", T0 - 1)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "endTime"


def test_it_answers_415_for_a_body_that_is_not_declared_json(ingest):
    response = ingest.send("post", "/executions", "executionId=e", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_it_answers_401_without_a_token(client):
    response = client.post("/api/v1/executions", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


def test_it_answers_401_for_an_unknown_or_revoked_token(ingest, client):
    bad = client.post("/api/v1/executions", data="{}", content_type="application/json", HTTP_AUTHORIZATION="Bearer nope")
    assert bad.status_code == 401
    services.ingest_token_revoke(name="test-orchestrator")
    assert ingest.start("e", "p", 1, T0).status_code == 401
    assert cypher("MATCH (n) RETURN count(n)") == [[0]]


def test_it_answers_404_for_an_unknown_execution(ingest):
    response = ingest.get("nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_it_answers_413_above_the_configured_request_limit(ingest, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = settings.INGEST_MAX_BODY_BYTES = 10_000
    big = {"taskId": "a", "result": {"status": "success", "output": "x" * 20_000}}
    response = ingest.send("post", "/executions/e/tasks", big)
    assert response.status_code == 413
    assert "10000" in response.json()["detail"]
    assert cypher("MATCH (n) RETURN count(n)") == [[0]]


def test_it_stores_an_output_of_megabytes_below_the_limit(ingest):
    output = "line of model output\n" * 150_000  # ~3 MB
    response = ingest.task("e", "a", {"status": "success", "output": output})
    assert response.status_code == 201
    assert cypher("MATCH (t:TaskExecution) RETURN size(t.output)") == [[len(output)]]


def test_it_answers_503_with_retry_after_when_neo4j_is_unreachable(ingest, neo4j_url, client):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    db.set_connection(url=f"bolt://neo4j:neo4j@127.0.0.1:{dead_port}")
    try:
        response = ingest.start("e", "p", 1, T0)
        health = client.get("/healthz")
    finally:
        db.set_connection(url=neo4j_url)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"] == "unavailable"
    assert health.status_code == 503 and health.json() == {"app": "ok", "neo4j": "unavailable"}
    # Retrying once it is back loses nothing.
    assert ingest.start("e", "p", 1, T0).status_code == 201


def test_it_serves_an_openapi_document_for_every_endpoint(client):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) >= {"/api/v1/plans/{plan_id}", "/api/v1/executions", "/api/v1/executions/{execution_id}/tasks",
                          "/api/v1/executions/{execution_id}/finish", "/api/v1/executions/{execution_id}", "/api/v1/events"}
    assert "ExecutionResult" in json.dumps(doc["components"])


def test_it_reports_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"app": "ok", "neo4j": "ok"}


def test_it_ignores_extra_body_fields_named_like_path_or_event_fields(ingest):
    # The path decides the execution and the endpoint decides the event type.
    assert ingest.plan("p", {"title": "x", "type": "bogus", "planId": "other"}).status_code == 200
    response = ingest.send("post", "/executions/e/tasks", {**TASK_OK, "executionId": "other", "type": "x"})
    assert response.status_code == 201
    assert ingest.send("post", "/executions/e/finish", {"endTime": T0, "executionId": "zzz"}).status_code == 201
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.executionId") == [["e"]]
    assert cypher("MATCH (p:Plan) RETURN p.planId") == [["p"]]


def test_it_refuses_nan_and_infinity_which_are_not_json(ingest):
    response = ingest.send("put", "/plans/p", '{"title": "x", "extra": NaN}')
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "body", "message": "is not valid JSON"}]
    assert ingest.send("post", "/events", '{"events": [{"type": "plan", "planId": "p", "x": Infinity}]}').status_code == 400
    assert cypher("MATCH (n) RETURN count(n)") == [[0]]
