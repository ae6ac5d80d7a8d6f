"""Keys of QC texts (issues, required fixes): what the failure report's QC rollups (ReportQcDay) group
by. Cypher here has no hash function, and the texts are long LLM output, too long for index keys:
each distinct trimmed non-empty text of an attempt's list is keyed by the SHA-256 (hex) of its UTF-8,
computed where attempts are written and stored beside the list (TaskAttempt.qcIssueKeys,
qcFixKeys), in the order the texts first appear, so that a statement can pair key i with the i-th
distinct text it trims itself."""

from __future__ import annotations

import hashlib

# What Cypher's trim() removes (Java's Character.isWhitespace): Python's whitespace but the
# non-breaking spaces and NEL, which Cypher keeps. The keys must align with Cypher's trimmed texts.
_CYPHER_WHITESPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x85\xa0\u2007\u202f"
)


def cypher_trim(text: str) -> str:
    """The text as Cypher's trim() leaves it."""
    return text.strip(_CYPHER_WHITESPACE)


def qc_texts(texts: list[str] | None) -> list[str] | None:
    """The distinct trimmed non-empty texts of a QC list, in the order they first appear."""
    if texts is None:
        return None
    return list(dict.fromkeys(t for t in map(cypher_trim, texts) if t))


def text_key(text: str) -> str:
    """The SHA-256 (hex) of a text's UTF-8: the key of a text too long for an index key."""
    # surrogatepass: a lone surrogate that JSON let through still gets a key rather than an error.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def qc_text_keys(texts: list[str] | None) -> list[str] | None:
    """A key per distinct trimmed non-empty text (qc_texts), aligned with them; None for no list."""
    distinct = qc_texts(texts)
    if distinct is None:
        return None
    return [text_key(t) for t in distinct]
