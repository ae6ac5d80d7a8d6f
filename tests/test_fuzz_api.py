"""Fuzzing the ingest API through the WSGI app (Django's full stack) with a valid bearer token.

1. Schemathesis generates requests for every operation of the served OpenAPI document, both
   schema-conforming (positive) and schema-violating (negative) ones.
2. Hypothesis posts arbitrary JSON values (and arbitrary bytes) to every write endpoint.

Either way the app must never answer 5xx nor leak a stack trace, and every 4xx must carry our JSON
error shape {error, detail, errors}. FUZZ_EXAMPLES sets the total number of schemathesis cases
(default 1000, about a minute on a quiet machine); FUZZ_JSON_EXAMPLES those of the JSON test (default 600).
"""

from __future__ import annotations

import json
import math
import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
FUZZ_JSON_EXAMPLES = int(os.environ.get("FUZZ_JSON_EXAMPLES", "600"))
FUZZ_SETTINGS = dict(deadline=None, database=None, derandomize=False, print_blob=True,
                     suppress_health_check=list(HealthCheck))


def assert_well_behaved(status: int, content: bytes, content_type: str, what: str) -> None:
    text = content.decode("utf-8", "replace")
    assert status < 500, f"{what} -> {status}: {text[:500]}"
    assert "Traceback" not in text and 'File "' not in text, f"{what} leaked a stack trace: {text[:500]}"
    if 400 <= status < 500:
        assert content_type.startswith("application/json"), f"{what} -> {status} {content_type}: {text[:300]}"
        body = json.loads(text)
        assert set(body) == {"error", "detail", "errors"}, f"{what} -> {status}: {body}"
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body["detail"], str) and body["detail"]
        assert isinstance(body["errors"], list)
        for item in body["errors"]:
            assert set(item) == {"field", "message"} and all(isinstance(v, str) for v in item.values()), body


def _content_type(headers) -> str:
    """Schemathesis keeps header values as lists, keyed as sent."""
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value[0] if isinstance(value, list) else value
    return ""


@pytest.fixture
def wsgi_schema(db):
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return app, schema


def test_it_serves_an_openapi_document_covering_every_endpoint(wsgi_schema):
    _, schema = wsgi_schema
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert operations == {
        ("PUT", "/api/v1/plans/{plan_id}"), ("POST", "/api/v1/executions"), ("POST", "/api/v1/executions/{execution_id}/tasks"),
        ("POST", "/api/v1/executions/{execution_id}/finish"), ("POST", "/api/v1/events"),
        ("GET", "/api/v1/executions"), ("GET", "/api/v1/executions/{execution_id}"),
        ("GET", "/api/v1/executions/{execution_id}/tasks/{task_id}"), ("GET", "/api/v1/plans"), ("GET", "/api/v1/plans/{plan_id}"),
        ("GET", "/api/v1/plans/{plan_id}/tasks/{task_id}/history"), ("GET", "/api/v1/reports/failures"),
        ("GET", "/api/v1/compare"),
    }


def _fuzz_operation(app, operation, mode, headers, examples: int, seen: dict[str, set[int]]) -> None:
    """`examples` schemathesis cases of one operation; the statuses go into `seen` under its label."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    def check(case):
        response = case.call(app=app, headers=headers)
        seen.setdefault(label, set()).add(response.status_code)
        assert_well_behaved(response.status_code, response.content, _content_type(response.headers),
                            f"{label} {case.path_parameters} {case.body!r:.300}")

    check()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_it_never_answers_5xx_to_schemathesis_cases(wsgi_schema, ingest_token, mode):
    app, schema = wsgi_schema
    operations = [op.ok() for op in schema.get_all_operations()]
    if mode == GenerationMode.NEGATIVE:
        # An operation whose only input is the token we send (GET /plans) has nothing to violate.
        operations = [op for op in operations if list(op.body) or any(p.location != "header" for p in op.iter_parameters())]
    per_operation = max(10, FUZZ_EXAMPLES // (2 * len(operations)))
    headers = {"Authorization": f"Bearer {ingest_token}"}
    seen: dict[str, set[int]] = {}
    for operation in operations:
        _fuzz_operation(app, operation, mode, headers, per_operation, seen)
    if mode == GenerationMode.POSITIVE:
        # Schema-valid requests must also be accepted, or the fuzzer never reaches the write path. (Not
        # asserted for /executions and /finish: the document declares their epoch-ms times as bare
        # integers, so nearly every generated time is outside the accepted 2000-2200 range.)
        for label in ("PUT /api/v1/plans/{plan_id}", "POST /api/v1/executions/{execution_id}/tasks", "POST /api/v1/events"):
            assert seen[label] & {200, 201}, seen


# ---------------------------------------------------------------- arbitrary JSON

KNOWN_KEYS = ["type", "executionId", "planId", "taskId", "totalTasks", "startTime", "endTime", "cancelled", "result",
              "status", "attemptNumber", "tokens", "input", "output", "toolCalls", "qcVerification",
              "qcVerificationHistory", "passed", "score", "issues", "requiredFixes", "timestamp", "task", "id",
              "tasks", "dependencies", "parallelGroup", "events", "duration", "title"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats() | st.text(max_size=30) | st.sampled_from(["success", "failure", "task_result", "plan",
                                                                  "execution_started", "execution_finished", "e1",
                                                                  "2025-01-01T00:00:00Z", "", "t1"])
           | st.integers(min_value=946_684_800_000, max_value=7_258_118_400_000))
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), children, max_size=6),
    max_leaves=30,
)
ENDPOINTS = [("put", "/api/v1/plans/p1"), ("post", "/api/v1/executions"), ("post", "/api/v1/executions/e1/tasks"),
             ("post", "/api/v1/executions/e1/finish"), ("post", "/api/v1/events")]


def _fuzz_endpoint(client, method: str, path: str, auth: str, examples: int, statuses: set[int]) -> None:
    """`examples` arbitrary JSON bodies sent to one endpoint; the statuses go into `statuses`."""

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(value=JSON, wrap=st.booleans())
    def check(value, wrap):
        if wrap and path.endswith("/events"):
            value = {"events": value if isinstance(value, list) else [value]}
        # allow_nan: NaN/Infinity are not JSON; the server must refuse them, not crash.
        data = json.dumps(value, allow_nan=True)
        response = getattr(client, method)(path, data=data, content_type="application/json", HTTP_AUTHORIZATION=auth)
        statuses.add(response.status_code)
        assert_well_behaved(response.status_code, response.content, response.get("Content-Type", ""),
                            f"{method.upper()} {path} {data[:300]}")
        if any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(value)):
            assert response.status_code == 400

    check()


@pytest.mark.slow
def test_it_answers_2xx_or_4xx_to_arbitrary_json_on_every_endpoint(client, ingest_token):
    auth = f"Bearer {ingest_token}"
    per_endpoint = max(10, FUZZ_JSON_EXAMPLES // len(ENDPOINTS))
    statuses: set[int] = set()
    for method, path in ENDPOINTS:
        _fuzz_endpoint(client, method, path, auth, per_endpoint, statuses)
    assert statuses & {400} and statuses <= {200, 201, 400, 409, 413}, statuses


@pytest.mark.slow
def test_it_answers_a_json_400_to_arbitrary_bytes(client, ingest_token):
    auth = f"Bearer {ingest_token}"

    @settings(max_examples=max(20, FUZZ_JSON_EXAMPLES // 6), **FUZZ_SETTINGS)
    @given(data=st.binary(max_size=200), endpoint=st.sampled_from(ENDPOINTS))
    def check(data, endpoint):
        method, path = endpoint
        response = getattr(client, method)(path, data=data, content_type="application/json", HTTP_AUTHORIZATION=auth)
        assert_well_behaved(response.status_code, response.content, response.get("Content-Type", ""),
                            f"{method.upper()} {path} {data!r:.300}")

    check()


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


# Found by the JSON fuzzer: an extra body key named like a field the service adds itself (the event
# `type`, or the path's executionId/planId) made services.*(**dict(payload), type=...) raise TypeError -> 500.
RESERVED_KEY_CASES = [
    ("put", "/api/v1/plans/p1", {"title": "P", "type": "x"}),
    ("put", "/api/v1/plans/p1", {"title": "P", "planId": "other"}),
    ("post", "/api/v1/executions", {"executionId": "e1", "planId": "p", "totalTasks": 1,
                                    "startTime": 1_763_000_000_000, "type": "x"}),
    ("post", "/api/v1/executions/e1/tasks", {"taskId": "t1", "result": {"status": "success"}, "type": "x"}),
    ("post", "/api/v1/executions/e1/tasks", {"taskId": "t1", "result": {"status": "success"}, "executionId": "e2"}),
    ("post", "/api/v1/executions/e1/finish", {"endTime": 1_763_000_000_000, "type": "x"}),
    ("post", "/api/v1/executions/e1/finish", {"endTime": 1_763_000_000_000, "executionId": "e2"}),
]


@pytest.mark.parametrize("method,path,body", RESERVED_KEY_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_it_does_not_crash_on_extra_keys_named_like_fields_the_service_sets(client, ingest_token, method, path, body):
    response = getattr(client, method)(path, data=json.dumps(body), content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {ingest_token}")
    assert_well_behaved(response.status_code, response.content, response.get("Content-Type", ""), f"{path} {body}")
    # Extras are ignored: the path decides which execution or plan is written, never the body.
    assert response.status_code in (200, 201)
    if "/executions/e1/" in path:
        assert response.json()["execution"]["executionId"] == "e1"


# Found by the JSON fuzzer: a plan body with an extra `executionId` was taken for the plan event's
# execution (services._event_execution_id uses getattr): a list there was a 500 (unhashable), and a
# string made the transaction lock, i.e. create, a phantom execution.
@pytest.mark.parametrize("extra", [["x"], {"a": 1}], ids=["list", "object"])
def test_it_does_not_crash_on_a_plan_body_with_an_odd_execution_id(client, ingest_token, extra):
    auth = f"Bearer {ingest_token}"
    response = client.put("/api/v1/plans/p1", data=json.dumps({"title": "P", "executionId": extra}),
                          content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert_well_behaved(response.status_code, response.content, response.get("Content-Type", ""), "plan")
    assert response.status_code == 200


def test_it_creates_no_phantom_execution_from_a_plan_event_with_an_execution_id(client, ingest_token):
    from tests.support.graph import cypher

    response = client.post("/api/v1/events", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {ingest_token}",
                           data=json.dumps({"events": [{"type": "plan", "planId": "p1", "executionId": "ghost"}]}))
    assert response.status_code == 200 and response.json()["results"][0]["status"] == 200
    assert cypher("MATCH (e:OrchestrationExecution) RETURN count(e)") == [[0]]
