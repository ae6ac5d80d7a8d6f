"""The quick tier's kept test Neo4j (scripts/neo4j_server.py start_kept/stop_kept): a second start
finds the first one's server instead of starting a JVM, and stopping it frees the port."""

from __future__ import annotations

import socket

import pytest
from neo4j import GraphDatabase

from scripts.neo4j_server import HOST, PortInUseError, port_in_use, start_kept, stop_kept

pytestmark = pytest.mark.slow  # a JVM of its own


def _answer(url: str) -> int:
    with GraphDatabase.driver(url.replace("neo4j:neo4j@", ""), auth=("neo4j", "neo4j")) as driver:
        records, _, _ = driver.execute_query("RETURN 41 + 1 AS n")
        return records[0]["n"]


def test_it_reuses_a_kept_server_across_runs_and_stops_it_on_request():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    try:
        url, reused = start_kept(port, heap="512m")
        assert (url, reused) == (f"bolt://neo4j:neo4j@{HOST}:{port}", False)
        assert _answer(url) == 42
        # Another run: the same server, found by its pid file, no new JVM.
        assert start_kept(port, heap="512m") == (url, True)
        assert _answer(url) == 42
    finally:
        assert stop_kept([port]) == [port]
    assert not port_in_use(port)
    assert stop_kept([port]) == []


def test_it_refuses_a_port_that_something_else_holds():
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        holder.listen()
        with pytest.raises(PortInUseError, match="not by a kept test Neo4j"):
            start_kept(holder.getsockname()[1])
