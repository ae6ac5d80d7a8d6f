"""Test fixtures: a real Neo4j over Bolt (started by the project unless NEO4J_BOLT_URL is set),
wiped before every test, and real HTTP through Django."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import neomodel
import pytest
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread
from neomodel import db

from executions import services

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference"


class _LiveTestServer(ThreadedWSGIServer):
    # Django's test server listens with a backlog of 10; the concurrency tests open 32 connections
    # at once and overflowed it (TcpExtListenOverflows rose), leaving clients to wait for SYN
    # retransmits or, once in CI, to find the connection reset: a limit of the test server, not of
    # the product (gunicorn listens with a backlog of 2048).
    request_queue_size = 128


LiveServerThread.server_class = _LiveTestServer


@pytest.fixture(scope="session")
def neo4j_url():
    """A Neo4j for the whole run. Our own unless NEO4J_BOLT_URL names one (which is then wiped!)."""
    external = os.environ.get("NEO4J_BOLT_URL")
    handle = None
    if external:
        from django.conf import settings

        url = settings.NEO4J_BOLT_URL
    else:
        from scripts.neo4j_server import ensure_jars, start

        ensure_jars()
        port = int(os.environ.get("TEST_NEO4J_PORT", "7688"))
        # One data folder per port, so that several test runs can share the machine.
        home = REPO / "var" / f"neo4j-test-{port}"
        shutil.rmtree(home, ignore_errors=True)
        handle = start(home=home, port=port, heap=os.environ.get("TEST_NEO4J_HEAP", "1g"))
        url = f"bolt://neo4j:neo4j@127.0.0.1:{port}"
    neomodel.get_config().database_url = url
    db.set_connection(url=url)
    call_command("install_schema", verbosity=0)
    yield url
    db.close_connection()
    if handle is not None:
        from scripts.neo4j_server import stop

        stop(handle)


@pytest.fixture(autouse=True)
def graph(neo4j_url):
    """Every test starts from an empty graph (constraints and indexes stay)."""
    db.cypher_query("MATCH (n) DETACH DELETE n")
    yield


def cypher(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    rows, _ = db.cypher_query(query, params or {})
    return rows


@pytest.fixture
def ingest_token(db) -> str:
    # Both scopes, so that the tests may read back what they wrote (tests/test_api_read.py covers
    # tokens with one scope).
    return services.ingest_token_create(name="test-orchestrator", scopes=("read", "write"))


class Ingest:
    """Real HTTP through Django's full stack (middleware, auth, ninja) with a bearer token."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _send(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json"):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return getattr(self.client, method)(
            f"/api/v1{path}", data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {self.token}"
        )

    def plan(self, plan_id: str, body: dict):
        return self._send("put", f"/plans/{plan_id}", body)

    def start(self, execution_id: str, plan_id: str, total_tasks: int, start_time: Any):
        body = {"executionId": execution_id, "planId": plan_id, "totalTasks": total_tasks, "startTime": start_time}
        return self._send("post", "/executions", body)

    def task(self, execution_id: str, task_id: str, result: dict, task: dict | None = None):
        body: dict[str, Any] = {"taskId": task_id, "result": result}
        if task is not None:
            body["task"] = task
        return self._send("post", f"/executions/{execution_id}/tasks", body)

    def finish(self, execution_id: str, end_time: Any, cancelled: bool = False):
        return self._send("post", f"/executions/{execution_id}/finish", {"endTime": end_time, "cancelled": cancelled})

    def events(self, events: list[dict]):
        return self._send("post", "/events", {"events": events})

    def get(self, execution_id: str):
        return self.client.get(f"/api/v1/executions/{execution_id}", HTTP_AUTHORIZATION=f"Bearer {self.token}")


@pytest.fixture
def ingest(client, ingest_token) -> Ingest:
    return Ingest(client, ingest_token)


@pytest.fixture(scope="session")
def sample_workflows() -> dict[str, dict]:
    """Mimir's real workflow files (test input only; the product never reads ../shared). A clone
    without the reference beside it skips the tests that need them, saying so; the Mimir format
    itself is always covered by tests/fixtures/mimir-format-workflow.json."""
    folder = REFERENCE / "mimir-samples" / "workflows"
    workflows = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    if not workflows:
        pytest.skip(f"Mimir's sample workflows are not beside this clone ({folder})")
    return workflows


@pytest.fixture(scope="session")
def mimir_format_workflow() -> dict:
    """A workflow of our own in Mimir's file format (agent and transformer tasks, parallel groups)."""
    return json.loads((Path(__file__).parent / "fixtures" / "mimir-format-workflow.json").read_text())


@pytest.fixture
def cypher_calls(monkeypatch):
    """Counts real db.cypher_query calls (each one still goes to Neo4j): pages must stay at a fixed number."""
    calls = []
    real = db.cypher_query

    def counting(query, params=None, *args, **kwargs):
        calls.append(query)
        return real(query, params, *args, **kwargs)

    monkeypatch.setattr(db, "cypher_query", counting)
    return calls


@pytest.fixture
def signed_in(client, db):
    """A signed-in client (`client` stays shared with `ingest`, which authenticates by bearer token)."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("ada", password="correct horse battery"))
    return client
