"""A write that runs past its transaction's timeout is refused as busy (a 503 with Retry-After to the
client, never a 500), and it is not retried inside the request.

On a busy machine a 10,000-event batch ran past Neo4j's transaction timeout (bench/load_faults.py
--largest-bodies, docs/reliability.md "Memory") and was answered 500. Here the timeout is the
transaction's own (a driver Query timeout: the suite's Neo4j keeps its server-wide one); Neo4j checks
timeouts every couple of seconds, so the slow write below takes a few seconds.
"""

from __future__ import annotations

import pytest
from neo4j import Query
from neomodel import db

from executions import graph
from executions.errors import DatabaseUnavailable, TransactionTimedOut
from tests.support.graph import cypher

# A write that takes far longer than a second: it reads a long range and creates nothing.
SLOW_WRITE = "UNWIND range(1, 2000000000) AS x WITH x WHERE x = -1 CREATE (:Never {x: x})"


def test_it_refuses_a_write_that_runs_past_its_transaction_timeout_as_busy_without_retrying():
    calls = []

    def write():
        calls.append(1)
        with db.driver.session() as session:
            session.run(Query(SLOW_WRITE, timeout=1)).consume()

    with pytest.raises(TransactionTimedOut) as refused:
        graph.write_statement(write)
    assert isinstance(refused.value, DatabaseUnavailable) and refused.value.busy
    assert "longer than Neo4j allows" in str(refused.value)
    assert len(calls) == 1
    assert cypher("MATCH (n:Never) RETURN count(n)") == [[0]]
