"""CSV export of the failure report: one row per failed task execution.

Error texts and QC issues come from orchestrators and LLMs, so they are untrusted: a cell that a
spreadsheet would read as a formula (starting with =, +, -, @, tab or carriage return) gets a
leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from . import clock
from .pricing import CURRENCY

# `cost`: of every attempt with a price in force (blank when none had one; never 0 for unknown),
# in `currency`; `unpricedAttempts`: those with tokens that no price covered.
FAILURE_CSV_HEADER = (
    "executionId", "planId", "taskId", "taskTitle", "attemptNumber", "attempts", "errorSignature", "error",
    "qcScore", "qcIssues", "tokens", "cost", "currency", "unpricedAttempts", "completedAt",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet will evaluate; numbers and None pass through."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def iso_utc(ms: int | None) -> str:
    if ms is None:
        return ""
    return clock.utc_datetime(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_failure_csv(out, rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(out)
    writer.writerow(FAILURE_CSV_HEADER)
    for row in rows:
        writer.writerow([
            safe_cell(v)
            for v in (
                row["executionId"], row["planId"], row["taskId"], row["taskTitle"], row["attemptNumber"],
                row["attempts"], row["signature"], row["error"], row["qcScore"],
                " | ".join(row["qcIssues"] or []), row["tokens"],
                "" if row["cost"].amount is None else format(row["cost"].amount, "f"), CURRENCY,
                row["cost"].unpricedAttempts, iso_utc(row["timestamp"]),
            )
        ])
