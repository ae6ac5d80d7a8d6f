"""Direct reads of the test Neo4j, for asserting on what the app stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neomodel import db


def cypher(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """The rows of one Cypher statement, run on the test Neo4j."""
    rows, _ = db.cypher_query(query, params or {})
    return rows


def wipe() -> None:
    """An empty graph; constraints and indexes stay."""
    db.cypher_query("MATCH (n) DETACH DELETE n")


def _fingerprint() -> tuple:
    # Every write the app makes creates a node or relationship or moves an execution's version.
    rows, _ = db.cypher_query(
        "CALL { MATCH (n) RETURN count(n) AS nodes, sum(coalesce(n.version, 0)) AS versions } "
        "CALL { MATCH ()-[r]->() RETURN count(r) AS relationships } "
        "RETURN nodes, versions, relationships")
    return tuple(rows[0])


class SharedGraph:
    """A dataset built once and read by every test in a row that asks for it by the same name.

    Most tests start from an empty graph (the `graph` fixture). Tests that only read a large dataset
    would each rebuild it through the API; they use this instead (the `shared_graph` fixture): the
    dataset is rebuilt whenever another test wiped or wrote the graph since, and a test that writes
    to it fails, so that no test can see another's leftovers.
    """

    def __init__(self) -> None:
        self.holds: str | None = None
        self._fingerprint: tuple | None = None

    def use(self, name: str, build: Callable[[], Any]) -> None:
        if self.holds != name:
            self.forget()
            wipe()
            build()
            self.holds, self._fingerprint = name, _fingerprint()

    def forget(self) -> None:
        self.holds = self._fingerprint = None

    def check_untouched(self) -> None:
        if self.holds is not None and _fingerprint() != self._fingerprint:
            name = self.holds
            self.forget()
            raise AssertionError(f"this test wrote to the shared dataset {name!r}: give it a graph of its own")
