"""The failure report: failure rates and their trend, failed tasks grouped by task, plan and error
signature, top QC issues and required fixes, tasks retried before passing, rework tokens.

The range is by when an execution is first known (`firstKnownAt`: its startTime, or for one whose
start event never arrived its first attempt's start): started_from inclusive, started_to exclusive.
Task failure rate = failed task executions (latest attempt failed) / task executions recorded;
execution failure rate = failed executions / finished executions (completed, failed or cancelled).
At most seven statements per report, one for the CSV rows, whatever the data size; the report's six
sections are independent reads, run at once (graph.concurrently), so it waits for the slowest.

Over whole UTC days (every range the page and the API ask for) the trend, totals, per-plan counts
and per-task groups with their denominators are sums of the rollup rows (ReportDay, ReportTaskDay:
one per plan and day [and task id], kept exact by every write, executions/services/rollups.py),
and so are the retried groups (with ReportRetryDay for their max attempts), the error groups
(ReportErrorDay: one row per plan, day and exact error text, merged by signature here), the rework
cost (ReportReworkDay: failed attempts' tokens per plan, day, model and attempt day, priced here by
pricing.rollup_cost) and the QC tops (ReportQcDay: distinct QC-failed attempts per plan, day and
text key): they read O(days x plans [x tasks | texts | models x attempt days]) rows, not
executions. The examples of a shown group are bounded lookups: its newest rollup days with failures
first, then the executions behind that plan's row of the day (index on rolledPlanKey, rolledDay), until
REPORT_EXAMPLE_LIMIT are found; so examples are ordered by day (newest first), then by task
completion (newest first); a QC text's examples likewise, from the days (and plans) with rows for
the text, whereas over the executions they are ordered by task completion across the range. Still
read from the executions in range: the CSV rows (linear by nature).
A range that is not whole days is answered from the executions in range throughout.
"""

from __future__ import annotations

from typing import Any

from .. import graph, pricing
from ..signatures import error_signature

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
# Up to this many days the trend has daily buckets, beyond it weekly ones (Mondays, UTC).
DAILY_TREND_MAX_DAYS = 31
REPORT_GROUP_LIMIT = 20
REPORT_EXAMPLE_LIMIT = 10


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def report_trend_buckets(*, started_from: int, started_to: int) -> tuple[str, int, int]:
    """(unit, origin, size) of the trend's buckets: UTC days for ranges up to DAILY_TREND_MAX_DAYS,
    else weeks starting on Monday (UTC). Bucket i covers [origin + i*size, origin + (i+1)*size)."""
    if started_to - started_from <= DAILY_TREND_MAX_DAYS * DAY_MS:
        return "day", started_from - started_from % DAY_MS, DAY_MS
    days = started_from // DAY_MS
    # 1970-01-01 was a Thursday: weekday (Monday = 0) of day d is (d + 3) % 7.
    return "week", (days - (days + 3) % 7) * DAY_MS, WEEK_MS


def _filter_params(started_from: int, started_to: int, plan_id: str | None) -> dict[str, Any]:
    return {"started_from": int(started_from), "started_to": int(started_to), "plan_id": plan_id or None}


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["taskFailureRate"] = _ratio(row["failedTasks"], row["tasks"])
    row["executionFailureRate"] = _ratio(row["failedExecutions"], row["finishedExecutions"])
    return row


def _merge_by_signature(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """(error, count, examples | errorKey) rows grouped by exact text → groups by error signature,
    most failures first. A group's sample is its most frequent text (ties: the first in text order);
    its `keys` are its texts' errorKeys when the rows carry them (the rollups' rows, whose examples
    are looked up afterwards: _error_examples)."""
    merged: dict[str, dict[str, Any]] = {}
    for error, failed, examples_or_key in rows:
        signature = error_signature(error)
        group = merged.setdefault(signature, {
            "signature": signature, "failed": 0, "variants": 0, "sample": error, "sampleCount": 0, "examples": [],
            "keys": [],
        })
        group["failed"] += failed
        group["variants"] += 1
        if isinstance(examples_or_key, str):
            group["keys"].append(examples_or_key)
        else:
            group["examples"].extend(examples_or_key)
        if (failed, _text_order(group["sample"])) > (group["sampleCount"], _text_order(error)):
            group["sample"], group["sampleCount"] = error, failed
    groups = sorted(merged.values(), key=lambda g: (-g["failed"], g["signature"]))
    for group in groups:
        _sort_examples(group["examples"])
        del group["sampleCount"]
    return groups


def _text_order(text: str | None) -> tuple[bool, str]:
    return (text is not None, text or "")


def _sort_examples(examples: list[dict[str, Any]]) -> None:
    examples.sort(key=lambda x: (-(x["timestamp"] or 0), x["executionId"], x["taskId"]))
    del examples[REPORT_EXAMPLE_LIMIT:]


def _error_groups(*, source: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The error-signature groups, each with up to REPORT_EXAMPLE_LIMIT examples (newest first).
    From the rollups, the shown groups' examples are a second, bounded lookup
    (report/days/error_examples: newest days first)."""
    groups = _merge_by_signature(graph.read(f"{source}/by_error", params))
    shown = groups[:REPORT_GROUP_LIMIT]
    if source == "report/days" and shown:
        wanted = [{"group": index, "keys": group["keys"]} for index, group in enumerate(shown)]
        for index, examples in graph.read("report/days/error_examples", {**params, "groups": wanted}):
            shown[index]["examples"] = examples
            _sort_examples(examples)
    for group in groups:
        del group["keys"]
    return groups


def _source(*, started_from: int, started_to: int) -> str:
    """Where a report's counts come from: for a range of whole UTC days (what the page and the API
    ask for, executions/report_filters.py) the rollups (report/days/*), else the executions in range."""
    return "report/days" if started_from % DAY_MS == 0 and started_to % DAY_MS == 0 else "report"


def failure_report(*, started_from: int, started_to: int, plan_id: str | None) -> dict[str, Any]:
    """Failure rates and their trend, failed tasks grouped by task, plan and error signature, top QC
    issues and required fixes, tasks retried before passing, and the tokens spent on failed attempts,
    for the executions started in [started_from, started_to) (epoch ms), optionally of one plan; the
    rework also in currency (`reworkCost`: pricing.Cost of the failed attempts) in total, per bucket
    and per plan."""
    table = pricing.price_table()
    params = {
        **_filter_params(started_from, started_to, plan_id),
        "examples": REPORT_EXAMPLE_LIMIT,
        "limit": REPORT_GROUP_LIMIT,
        "prices": table.param,
    }
    unit, origin, size = report_trend_buckets(started_from=started_from, started_to=started_to)

    counted = ("executions", "finishedExecutions", "failedExecutions", "tasks", "failedTasks", "tokens", "reworkTokens")
    source = _source(started_from=started_from, started_to=started_to)
    # The days path answers ReportReworkDay sums to price, the other the priced sums (pages/_cost).
    priced = pricing.rollup_cost if source == "report/days" else pricing.cost
    # Independent reads, each on its own Neo4j core if free (graph.concurrently).
    trend_rows, (by_task_total, by_task), plan_rows, by_error, qc_row, retried_row = graph.concurrently(
        lambda: graph.read(f"{source}/trend", {**params, "origin": origin, "bucket_ms": size}),
        lambda: graph.read(f"{source}/by_task", params)[0],
        lambda: graph.read(f"{source}/by_plan", params),
        lambda: _error_groups(source=source, params=params),
        lambda: graph.read(f"{source}/qc", params)[0],
        lambda: graph.read(f"{source}/retried", params)[0],
    )
    by_bucket = {
        row[0]: {**dict(zip(counted, row[1:-1], strict=True)), "reworkCost": priced(row[-1], table)}
        for row in trend_rows
    }
    trend = []
    for index in range(max(1, -(-(started_to - origin) // size))):
        start = origin + index * size
        counts = by_bucket.get(index, {**dict.fromkeys(counted, 0), "reworkCost": pricing.NO_COST})
        trend.append(_with_rates({"start": start, "end": start + size, **counts}))
    totals = _with_rates({key: sum(bucket[key] for bucket in trend) for key in counted})
    totals["reworkShare"] = _ratio(totals["reworkTokens"], totals["tokens"])
    totals["reworkCost"] = sum((bucket["reworkCost"] for bucket in trend), pricing.NO_COST)

    plan_keys = (
        "planId", "planTitle", "executions", "finishedExecutions", "failedExecutions", "tasks", "failed", "examples",
        "reworkCost",
    )
    by_plan = []
    for row in plan_rows:
        plan = dict(zip(plan_keys, row, strict=True))
        plan["reworkCost"] = priced(plan["reworkCost"], table)
        plan["taskFailureRate"] = _ratio(plan["failed"], plan["tasks"])
        plan["executionFailureRate"] = _ratio(plan["failedExecutions"], plan["finishedExecutions"])
        by_plan.append(plan)
    for group in by_task:
        group["failureRate"] = _ratio(group["failed"], group["tasks"])

    failed_qc_attempts, qc_issues, qc_fixes = qc_row
    retried_groups_total, retried, retried_groups = retried_row

    return {
        "started_from": started_from,
        "started_to": started_to,
        "plan_id": plan_id or None,
        "bucket": unit,
        "totals": totals,
        "has_failures": bool(
            totals["failedTasks"] or totals["failedExecutions"] or totals["reworkTokens"]
            or failed_qc_attempts or retried
        ),
        "trend": trend,
        "by_task": {"total": by_task_total, "groups": by_task},
        "by_plan": by_plan,
        "by_error": {"total": len(by_error), "groups": by_error[:REPORT_GROUP_LIMIT]},
        "qc": {"failed_attempts": failed_qc_attempts, "issues": qc_issues, "fixes": qc_fixes},
        "retried": {"total": retried, "groups_total": retried_groups_total, "groups": retried_groups},
    }


def failure_rows(*, started_from: int, started_to: int, plan_id: str | None) -> list[dict[str, Any]]:
    """One row per failed task execution (latest attempt failed) of the executions started in
    [started_from, started_to), oldest execution first; `tokens` sums all of its attempts, `cost`
    (pricing.Cost) prices them, and `signature` is the error's signature."""
    keys = (
        "executionId", "planId", "taskId", "taskTitle", "attemptNumber", "attempts", "error", "qcScore", "qcIssues",
        "tokens", "cost", "timestamp",
    )
    table = pricing.price_table()
    found = graph.read("report/rows", {**_filter_params(started_from, started_to, plan_id), "prices": table.param})
    rows = [dict(zip(keys, row, strict=True)) for row in found]
    for row in rows:
        row["signature"] = error_signature(row["error"])
        row["cost"] = pricing.cost(row["cost"], table)
    return rows
