"""The read API (v1, JSON) through Django's full stack against the real Neo4j: who may call it, and
that every number a page shows has its JSON twin, compared on the same data."""

from __future__ import annotations

import json

import pytest

from executions import services
from tests.conftest import cypher
from tests.page_data import T0, result

WRITE_CALLS = [
    ("put", "/plans/p", {"title": "P", "tasks": [{"id": "a"}]}),
    ("post", "/executions", {"executionId": "e", "planId": "p", "totalTasks": 1, "startTime": T0}),
    ("post", "/executions/e/tasks", {"taskId": "a", "result": result()}),
    ("post", "/executions/e/finish", {"endTime": T0 + 1}),
    ("post", "/events", {"events": [{"type": "execution_started", "executionId": "e", "planId": "p", "totalTasks": 1,
                                     "startTime": T0}]}),
]


@pytest.fixture
def token_of(db):
    """A token with the given scopes ("read", "write", "read,write")."""

    def create(scopes: str) -> str:
        return services.ingest_token_create(name=f"token-{scopes}", scopes=scopes.split(","))

    return create


def _get(client, path: str, token: str, **params):
    return client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def _send(client, method: str, path: str, body, token: str):
    return getattr(client, method)(f"/api/v1{path}", data=json.dumps(body), content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {token}")


# ---------------------------------------------------------------- scopes


@pytest.mark.parametrize(("method", "path", "body"), WRITE_CALLS, ids=[f"{m} {p}" for m, p, _ in WRITE_CALLS])
def test_a_read_only_token_gets_403_on_every_write_endpoint_and_writes_nothing(client, token_of, method, path, body):
    response = _send(client, method, path, body, token_of("read"))
    assert response.status_code == 403, response.content
    assert response.json() == {"error": "forbidden", "detail": "this token may read; this call needs the write scope",
                               "errors": []}
    assert cypher("MATCH (n) RETURN count(n)") == [[0]]


@pytest.mark.parametrize(("method", "path", "body"), WRITE_CALLS, ids=[f"{m} {p}" for m, p, _ in WRITE_CALLS])
def test_a_write_token_and_a_token_with_both_scopes_may_write(client, token_of, method, path, body):
    for scopes in ("write", "read,write"):
        cypher("MATCH (n) DETACH DELETE n")
        response = _send(client, method, path, body, token_of(scopes))
        assert response.status_code in (200, 201), (scopes, response.content)


def test_a_write_only_token_gets_403_on_a_read(client, token_of, ingest):
    ingest.start("e", "p", 1, T0)
    response = _get(client, "/executions/e", token_of("write"))
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "detail": "this token may write; this call needs the read scope",
                               "errors": []}
    assert _get(client, "/executions/e", token_of("read")).status_code == 200


def test_an_unknown_or_revoked_token_gets_401_on_a_read(client, token_of):
    reader = token_of("read")
    assert _get(client, "/executions/e", reader + "x").status_code == 401
    services.ingest_token_revoke(name="token-read")
    response = _get(client, "/executions/e", reader)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
