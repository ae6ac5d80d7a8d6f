"""Writes too large for Neo4j's memory are refused with a 413, and Neo4j stays up.

DEDICATED NEO4J: this module starts its OWN small Neo4j (heap 256m, a transaction may use 16 MiB
(db.memory.transaction.max), all of them together 24 MiB (dbms.memory.transaction.total.max)), on
TEST_MEMORY_NEO4J_PORT or a free port the OS picks (data in var/neo4j-test-memory-<port>), points
neomodel at it for this module's tests and restores the suite's connection afterwards. The limits are
tiny so that a few megabytes reach them: a result with a 1 MiB output needs about 7 MiB of
transaction memory, one with 2 MiB more than 16 MiB (measured on the pinned Neo4j 5.26).
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from django.core.management import call_command
from neo4j import GraphDatabase
from neomodel import db

from executions import graph as graph_access
from executions.errors import DatabaseUnavailable, TooLargeToStore
from tests.conftest import REPO
from tests.support.graph import cypher

pytestmark = pytest.mark.slow  # a second JVM

MiB = 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def small_neo4j(neo4j_url):
    from scripts.neo4j_server import ensure_jars, start, stop

    ensure_jars()
    port = int(os.environ.get("TEST_MEMORY_NEO4J_PORT") or _free_port())
    home = REPO / "var" / f"neo4j-test-memory-{port}"
    shutil.rmtree(home, ignore_errors=True)
    server = start(home=home, port=port, heap="256m", tx_memory_max="16m", tx_memory_total_max="24m")
    db.set_connection(url=server.bolt_url)
    try:
        call_command("install_schema", verbosity=0)
        yield server
    finally:
        db.set_connection(url=neo4j_url)
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def graph(small_neo4j):
    """Every test starts from an empty graph, as with the suite's own fixture (which this overrides):
    deleted one node per transaction, since all of them at once would be over the tiny limit."""
    cypher("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 1 ROWS")
    yield


def _result(output_mib: float = 0, **extra) -> dict:
    return {"status": "success", "output": "x" * int(output_mib * MiB), "tokens": {"input": 1, "output": 1}, **extra}


def _assert_neo4j_up(server) -> None:
    assert server.proc.poll() is None, "Neo4j exited"
    assert graph_access.is_up()
    assert cypher("RETURN 1") == [[1]]


def test_it_starts_neo4j_with_the_transaction_memory_limits(small_neo4j):
    rows = cypher("SHOW SETTINGS YIELD name, value WHERE name IN ['db.memory.transaction.max', "
                  "'dbms.memory.transaction.total.max'] RETURN name, value ORDER BY name")
    assert rows == [["db.memory.transaction.max", "16.00MiB"], ["dbms.memory.transaction.total.max", "24.00MiB"]]


def test_it_refuses_a_result_too_large_for_one_transaction_with_413_and_neo4j_stays_up(small_neo4j, ingest):
    response = ingest.task("e1", "t-big", _result(4))
    assert response.status_code == 413, response.content[:500]
    body = response.json()
    assert body["error"] == "too_large"
    assert "db.memory.transaction.max" in body["detail"] and "smaller" in body["detail"]
    assert body["errors"] == [{"field": "body", "message": "too large to store at once"}]
    _assert_neo4j_up(small_neo4j)
    # Nothing of it was stored, and the next (normal) result lands.
    assert cypher("MATCH (a:TaskAttempt {taskId: 't-big'}) RETURN count(a)") == [[0]]
    assert ingest.task("e1", "t-small", _result(0.5)).status_code == 201
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'e1'}) RETURN e.tasksSuccessful") == [[1]]


def test_it_stores_a_batch_too_large_for_one_transaction_in_parts_refusing_only_the_oversized_event(
        small_neo4j, ingest):
    # Eight results of 0.75 MiB (about 40 MiB of transaction memory together, 5 each) and one of 4 MiB.
    events = [{"type": "task_result", "executionId": "e2", "taskId": f"t{i}", "result": _result(0.75)}
              for i in range(8)]
    events.insert(3, {"type": "task_result", "executionId": "e2", "taskId": "t-big", "result": _result(4)})
    response = ingest.events(events)
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [201, 201, 201, 413, 201, 201, 201, 201, 201]
    assert body["results"][3]["body"]["error"] == "too_large"
    assert body["transactions"] > 1
    _assert_neo4j_up(small_neo4j)
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'e2'}) "
                  "RETURN e.tasksSuccessful, COUNT { (e)-[:HAS_TASK_EXECUTION]->() }") == [[8, 8]]
    # A replay of the batch changes nothing and is told so event by event.
    replay = ingest.events(events).json()["results"]
    assert [r["status"] for r in replay] == [200, 200, 200, 413, 200, 200, 200, 200, 200]


def _counted(text_mib: float, calls: list):
    def write():
        calls.append(1)
        db.cypher_query("CREATE (:Big {text: $text})", {"text": "w" * int(text_mib * MiB)})
    return write


class _Held:
    """Another transaction that holds about 15 MiB of the 24 that all transactions may use."""

    def __init__(self, server):
        self.driver = GraphDatabase.driver(f"bolt://127.0.0.1:{server.port}", auth=("neo4j", "neo4j"))
        self.session = self.driver.session()
        self.tx = self.session.begin_transaction()
        self.tx.run("CREATE (:Held {text: $text})", text="z" * (6 * MiB)).consume()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.tx.rollback()
        self.session.close()
        self.driver.close()


def test_it_never_retries_a_memory_refusal(small_neo4j):
    # graph.py retries transient errors; these two are not worth a retry: the same write cannot fit
    # in one transaction the next time either, and a full pool needs less load, not more.
    calls: list = []
    with pytest.raises(TooLargeToStore):
        graph_access.write_statement(_counted(8, calls))
    assert len(calls) == 1
    calls.clear()
    with _Held(small_neo4j), pytest.raises(DatabaseUnavailable) as refused:
        graph_access.write_statement(_counted(3, calls))
    assert len(calls) == 1
    assert refused.value.busy and "dbms.memory.transaction.total.max" in str(refused.value)
    assert cypher("MATCH (n:Big) RETURN count(n)") == [[0]]
    _assert_neo4j_up(small_neo4j)


def test_it_answers_503_with_retry_after_when_all_transactions_together_are_out_of_memory(small_neo4j, ingest):
    # A result that needs about 10 MiB (within one transaction's 16) does not fit beside the held
    # transaction: that is the load, not the request, so it is a 503 to come back, not a 413.
    with _Held(small_neo4j):
        response = ingest.task("e3", "t1", _result(1.5))
        assert response.status_code == 503, response.content[:500]
        assert response["Retry-After"] == "1"
        assert response.json()["error"] == "busy"
    _assert_neo4j_up(small_neo4j)
    # Once the other transaction is gone, the same request is stored.
    assert ingest.task("e3", "t1", _result(1.5)).status_code == 201
