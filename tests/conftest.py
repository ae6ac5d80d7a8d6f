"""Test fixtures: a real Neo4j over Bolt (started by the project unless NEO4J_BOLT_URL is set),
wiped before every test, and real HTTP through Django."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
from pathlib import Path

import neomodel
import pytest
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test import override_settings
from django.test.testcases import LiveServerThread
from neomodel import db

from executions import clock, services
from tests.support.api import Ingest
from tests.support.clock import FrozenClock
from tests.support.graph import SharedGraph, drop_schema, remember_schema, schema_is_ours, wipe

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference"
# Under pytest-xdist (`make test-fast` runs `-n 3`) each worker process has a Neo4j of its own,
# TEST_NEO4J_PORT + index * this: every test wipes the whole graph, and Community has one database.
XDIST_PORT_STRIDE = 1000


def _xdist_worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # set by xdist in its workers only
    return int(worker.removeprefix("gw"))


def _test_neo4j_port(worker: int) -> int:
    return int(os.environ.get("TEST_NEO4J_PORT", "7688")) + worker * XDIST_PORT_STRIDE


def pytest_terminal_summary(terminalreporter, config):
    if os.environ.get("TEST_NEO4J_KEEP") != "1" or os.environ.get("NEO4J_BOLT_URL") or hasattr(config, "workerinput"):
        return
    workers = getattr(config.option, "numprocesses", None) or 1
    ports = ", ".join(str(_test_neo4j_port(i)) for i in range(workers))
    terminalreporter.write_line(
        f"The test Neo4j (port {ports}) keeps running for the next `make test-fast`; "
        "`make stop-test-neo4j` stops it.")


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
    handle = schema_record = None
    if external:
        if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
            pytest.exit("NEO4J_BOLT_URL names one Neo4j, which every test wipes: run it without -n", returncode=4)
        from django.conf import settings

        url = settings.NEO4J_BOLT_URL
    else:
        from scripts.neo4j_server import ensure_jars, start, start_kept

        ensure_jars()
        port = _test_neo4j_port(_xdist_worker_index())
        heap = os.environ.get("TEST_NEO4J_HEAP", "1g")
        # for_tests: every test empties the graph, which made Neo4j plan the same statements again
        # and again (scripts/neo4j_server.start); a plan changes no result.
        if os.environ.get("TEST_NEO4J_KEEP") == "1":
            # `make test-fast`: a server an earlier run left (or one it leaves for the next), emptied
            # below, schema included, so that it holds nothing an older checkout made; unless it holds
            # just what this checkout left there last time (tests/support/graph.schema_is_ours), which
            # keeps the plans the last run made.
            url, reused = start_kept(port, heap=heap, for_tests=True)
            schema_record = REPO / "var" / f"neo4j-kept-{port}.schema.json"
            db.set_connection(url=url)
            if reused and not schema_is_ours(schema_record, REPO):
                drop_schema()
        else:
            # One data folder per port, so that several test runs can share the machine.
            home = REPO / "var" / f"neo4j-test-{port}"
            shutil.rmtree(home, ignore_errors=True)
            handle = start(home=home, port=port, heap=heap, for_tests=True)
            url = handle.bolt_url
    neomodel.get_config().database_url = url
    db.set_connection(url=url)
    wipe()
    call_command("install_schema", verbosity=0)
    yield url
    if schema_record is not None:
        db.set_connection(url=url)  # a test may have pointed neomodel at a Neo4j of its own
        remember_schema(schema_record, REPO)
    db.close_connection()
    if handle is not None:
        from scripts.neo4j_server import stop

        stop(handle)


_SHARED_GRAPH = SharedGraph()


@pytest.fixture(autouse=True)
def graph(request, neo4j_url):
    """Every test starts from an empty graph (constraints and indexes stay), except one that reads a
    shared dataset (`shared_graph`), which finds that dataset instead."""
    if "shared_graph" not in request.fixturenames:
        _SHARED_GRAPH.forget()
        wipe()
    yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_neo4j(neo4j_url):
    """A Neo4j of the test's own, to stop and start again (`(stop, restart)`): on port
    TEST_FAULTS_NEO4J_PORT if set, else on a free port the OS picks, so that parallel test runs never
    collide (data in var/neo4j-test-faults-<port>); stopping it cannot disturb the suite's shared
    one. neomodel points at it, and at the suite's again afterwards."""
    from scripts.neo4j_server import ensure_jars, start, stop

    ensure_jars()
    port = int(os.environ.get("TEST_FAULTS_NEO4J_PORT") or _free_port())
    home = REPO / "var" / f"neo4j-test-faults-{port}"
    shutil.rmtree(home, ignore_errors=True)
    state = {"server": start(home=home, port=port, heap="512m")}
    db.set_connection(url=state["server"].bolt_url)
    call_command("install_schema", verbosity=0)

    def stop_it():
        stop(state["server"])

    def restart_it():
        state["server"] = start(home=home, port=port, heap="512m")

    try:
        yield stop_it, restart_it
    finally:
        db.set_connection(url=neo4j_url)
        stop(state["server"])
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A private PostgreSQL cluster for the run (tests/support/postgres.py: Debian's server, in a
    temporary folder, on a free port of 127.0.0.1), stopped and deleted at the end."""
    from tests.support.postgres import PostgresUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_database_url(postgres_cluster) -> str:
    """DATABASE_URL of an empty database on that cluster, for the run (no migrations applied: a
    test runs them, in a manage.py process with this DATABASE_URL). For a database of its own, a
    test calls `postgres_cluster.create_database(name)`."""
    return postgres_cluster.create_database("mimir_test")


@pytest.fixture
def shared_graph(neo4j_url) -> SharedGraph:
    """For tests that only read: `shared_graph.use(name, build)` builds the named dataset unless the
    graph holds it already; a test that writes to it fails (tests/support/graph.SharedGraph)."""
    yield _SHARED_GRAPH
    _SHARED_GRAPH.check_untouched()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Hashing is not what the suite tests, and a PBKDF2 run costs seconds on a busy machine: new
    passwords are hashed with MD5 (Django's advice for tests); PBKDF2 hashes written by a manage.py
    process still verify."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher",
                                             "django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        yield


@pytest.fixture
def shipped_prices() -> None:
    """The price table `migrate` ships (migration 0005), for a test with database access that relies
    on it: a transactional test before it (live servers) flushed every table, migrated rows too."""
    from django.apps import apps

    migration = importlib.import_module("executions.migrations.0005_default_model_prices")
    migration.add_prices(apps, None)


@pytest.fixture
def ingest_token(db) -> str:
    # Both scopes, so that the tests may read back what they wrote (tests/test_api_read.py covers
    # tokens with one scope).
    return services.ingest_token_create(name="test-orchestrator", scopes=("read", "write"))


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
    """Counts the statements sent to Neo4j, through neomodel (writes, and reads inside them) and
    through `graph.read`'s read sessions (each one still goes to Neo4j): pages must stay at a fixed
    number."""
    from executions import graph as graph_access

    calls = []
    real, real_read = db.cypher_query, graph_access._Reader.rows

    def counting(query, params=None, *args, **kwargs):
        calls.append(query)
        return real(query, params, *args, **kwargs)

    def counting_read(self, text, params):
        calls.append(text)
        return real_read(self, text, params)

    monkeypatch.setattr(db, "cypher_query", counting)
    monkeypatch.setattr(graph_access._Reader, "rows", counting_read)
    return calls


@pytest.fixture
def frozen_clock(monkeypatch) -> FrozenClock:
    """The app's clock stopped at the real current time; the test moves it (`advance`, `set`).
    Applies to the whole process, so also to the live server's threads."""
    frozen = FrozenClock(clock.now_ms())
    monkeypatch.setattr(clock, "now_ms", frozen.now_ms)
    return frozen


@pytest.fixture
def signed_in(client, db):
    """A signed-in client (`client` stays shared with `ingest`, which authenticates by bearer token)."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("ada", password="correct horse battery"))
    return client


def pytest_collection_modifyitems(items):
    # Within each module, the tests that read a shared dataset run first, in a row, so that it is
    # built once per module rather than again after every test that wiped the graph.
    modules = {}
    for item in items:
        modules.setdefault(item.module, len(modules))
    items.sort(key=lambda item: (modules[item.module], "shared_graph" not in item.fixturenames))
