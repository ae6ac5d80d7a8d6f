"""Direct reads of the test Neo4j, for asserting on what the app stored."""

from __future__ import annotations

from typing import Any

from neomodel import db


def cypher(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """The rows of one Cypher statement, run on the test Neo4j."""
    rows, _ = db.cypher_query(query, params or {})
    return rows
