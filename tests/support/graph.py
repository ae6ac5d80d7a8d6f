"""Direct reads of the test Neo4j, for asserting on what the app stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from neomodel import db


def cypher(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """The rows of one Cypher statement, run on the test Neo4j."""
    rows, _ = db.cypher_query(query, params or {})
    return rows


def wipe() -> None:
    """An empty graph; constraints and indexes stay."""
    db.cypher_query("MATCH (n) DETACH DELETE n")


def drop_schema() -> None:
    """No constraints or indexes left (but Neo4j's own token lookups)."""
    for (name,) in cypher("SHOW CONSTRAINTS YIELD name"):
        db.cypher_query(f"DROP CONSTRAINT `{name}` IF EXISTS")
    for (name,) in cypher("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name"):
        db.cypher_query(f"DROP INDEX `{name}` IF EXISTS")


# What decides the schema a test run leaves: install_schema and the models it reads, neomodel's
# naming of their rules, and the one test helper that adds rules of its own (mimir.load_sample).
_SCHEMA_SOURCES = ("executions/models.py", "executions/management/commands/install_schema.py",
                   "tests/support/mimir.py")


def _schema_state(repo: Path) -> dict:
    code = hashlib.sha256(version("neomodel").encode())
    for name in _SCHEMA_SOURCES:
        code.update((repo / name).read_bytes())
    rules = cypher("SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
                   "RETURN name, type, labelsOrTypes, properties ORDER BY name")
    rules += cypher("SHOW INDEXES YIELD name, type, labelsOrTypes, properties WHERE type <> 'LOOKUP' "
                    "RETURN name, type, labelsOrTypes, properties ORDER BY name")
    return {"code": code.hexdigest(), "rules": rules}


def remember_schema(record: Path, repo: Path) -> None:
    """Note the kept server's schema, and the code that made it, for `schema_is_ours` next run."""
    record.write_text(json.dumps(_schema_state(repo)))


def schema_is_ours(record: Path, repo: Path) -> bool:
    """Whether the kept server holds exactly the schema this checkout's code left at the end of the
    last run (`remember_schema`). Then it need not be dropped and installed again: any change to
    the schema empties Neo4j's plan cache, and planning every statement once more per run was most
    of the test servers' CPU."""
    try:
        return json.loads(record.read_text()) == json.loads(json.dumps(_schema_state(repo)))
    except (OSError, ValueError):
        return False


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
