"""Error signatures: an error message with its variable parts normalised away, so that failures
that differ only in ids, numbers, paths, hashes or quoted values group together.

    >>> error_signature('Task exec-123 failed: KeyError "user_42" in /srv/app/jobs.py at line 88')
    'Task exec-<n> failed: KeyError <str> in <path> at line <n>'
"""

from __future__ import annotations

import re

from .qc_texts import text_key

NO_ERROR = "(no error message)"
# The error key of an attempt without an error text (a real key is 64 hex digits).
NO_ERROR_KEY = ""
MAX_LENGTH = 300

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
# "..." and `...` anywhere; '...' only when the quote opens a word (so "can't ... don't" is no quote).
_QUOTED = re.compile(r"\"[^\"\n]*\"|`[^`\n]*`|(?<![\w'])'[^'\n]*'(?!\w)")
# Absolute paths (/x, ~/x, C:\x) of any depth, and relative paths with a folder and a file extension.
_PATH = re.compile(
    r"(?<![\w.<>/\\])(?:"
    r"(?:~|[A-Za-z]:)?[\\/](?:[\w.@+-]+[\\/])*[\w.@+-]+[\\/]?"
    r"|(?:\.{1,2}[\\/])?(?:[\w.@+-]+[\\/])+[\w@+-]+\.[A-Za-z0-9]{1,8}"
    r")"
)
# 0x-prefixed hex, or a 7+ character hex run that has both a digit and a letter (git/sha hashes).
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b", re.IGNORECASE)
# A number starting a token, optionally with a short unit (30s, 500ms, 2GB, 1.5, 10.0.0.1).
_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d+(?:[.,]\d+)*(?=[A-Za-z]{1,3}\b|[^A-Za-z0-9]|$)")
# Whatever still mixes letters and digits is an identifier (user42, a1b2c3, run9x).
_ID = re.compile(r"[A-Za-z0-9]*\d[A-Za-z0-9]*")
_SPACE = re.compile(r"\s+")


def error_signature(text: str | None) -> str:
    """The error's shape: words kept, variable parts replaced by <url>, <uuid>, <str>, <path>,
    <hex>, <n> and <id>; whitespace collapsed; at most MAX_LENGTH characters."""
    if text is None or not text.strip():
        return NO_ERROR
    sig = _URL.sub("<url>", text)
    sig = _UUID.sub("<uuid>", sig)
    sig = _QUOTED.sub("<str>", sig)
    sig = _PATH.sub("<path>", sig)
    sig = _HEX.sub("<hex>", sig)
    sig = _NUMBER.sub("<n>", sig)
    sig = _ID.sub("<id>", sig)
    sig = _SPACE.sub(" ", sig).strip()
    if len(sig) > MAX_LENGTH:
        sig = sig[: MAX_LENGTH - 1].rstrip() + "…"
    return sig


def error_key(text: str | None) -> str:
    """The key of an exact error text (SHA-256 of its UTF-8, in hex; NO_ERROR_KEY for none): what the
    failure report's ReportErrorDay rows are keyed by, since error texts are too long for an index
    key and Cypher has no hash function."""
    return NO_ERROR_KEY if text is None else text_key(text)
