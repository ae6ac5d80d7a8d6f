"""Reads of plans: their task definitions and run statistics. One Cypher statement each."""

from __future__ import annotations

from typing import Any

from .. import clock, graph, outliers, pricing
from .executions import json_value as _json
from .executions import plan_tasks as _plan_tasks
from .executions import with_derived


def _stats(row: dict[str, Any]) -> dict[str, Any]:
    finished = row["completed"] + row["incomplete"] + row["failed"] + row["cancelled"]
    row["successRate"] = row["completed"] / finished if finished else None
    for key in ("avgDurationMs", "avgTokens"):
        if row[key] is not None:
            row[key] = round(row[key])
    return row


def plan_list() -> list[dict[str, Any]]:
    """Every plan with its run statistics (runs, success rate over finished runs, average duration
    and tokens), most recently run first."""
    return [{**plan, "stats": _stats(stats)} for plan, stats in graph.read("pages/plan_list")]


def plan_detail(*, plan_id: str, page: int = 1, per_page: int = 20) -> dict[str, Any] | None:
    """A plan, its task definitions (with dependencies and parallel groups), its run statistics and
    one page of its executions, newest first; what all its runs cost (`cost`, pricing.Cost) and what
    each listed one did."""
    page = max(1, page)
    table = pricing.price_table()
    rows = graph.read("pages/plan_detail", {"pid": plan_id, "skip": (page - 1) * per_page, "limit": per_page + 1,
                                            "prices": table.param})
    if not rows:
        return None
    plan, stats, executions, cost = rows[0]
    pricing.with_costs(executions, table)
    now = clock.now_ms()
    tasks = _plan_tasks(plan.pop("tasks"))
    plan["parallelGroups"] = _json(plan.get("parallelGroups"))
    titles = {t.get("id"): t.get("title") or t.get("id") for t in tasks}
    for task in tasks:
        task["dependencies"] = [{"id": d, "title": titles.get(d, d)} for d in task.get("dependencies") or []]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for task in tasks:
        groups.setdefault(task.get("parallelGroup"), []).append(task)
    executions = [with_derived(e, now) for e in executions]
    return {
        "plan": plan,
        "tasks": tasks,
        "parallel_groups": [
            {"group": g, "colorIndex": (g or 0) % 8 if isinstance(g, int) else 0, "tasks": groups[g]}
            for g in sorted(groups, key=lambda g: (g is None, g if g is not None else 0))
        ],
        "stats": _stats(stats),
        "cost": pricing.cost(cost, table),
        "executions": executions[:per_page],
        "page": page,
        "has_next": len(executions) > per_page,
        "has_previous": page > 1,
    }


def plan_options() -> list[tuple[str, str]]:
    """(planId, label) of every plan, for the plan filters."""
    rows = graph.read("pages/plan_options")
    return [(plan_id, f"{title} ({plan_id})" if title and title != plan_id else plan_id) for plan_id, title in rows]


# A task's history across runs: how many of its most recent runs, by default and at most.
HISTORY_DEFAULT_RUNS = 30
HISTORY_MAX_RUNS = 200
# What the history charts and marks outliers of: (field, what the page calls it).
HISTORY_METRICS = (("durationMs", "Duration"), ("tokensTotal", "Tokens"), ("attemptCount", "Attempts"),
                   ("qcScore", "QC score"))


def task_history(*, plan_id: str, task_id: str, limit: int = HISTORY_DEFAULT_RUNS) -> dict[str, Any] | None:
    """One task of a plan in the plan's `limit` most recent executions that ran it, newest first:
    each run's execution (id, status, start), the task's status, duration (its latest attempt's),
    tokens (every attempt's), attempts and QC score, and `outliers` ({field: "high" | "low"} for
    the fields where the run stands out of these runs, outliers.flags); `metrics` says per field
    the median and the bounds. None when the plan does not exist, or neither defines the task nor
    ran it. One Cypher statement."""
    rows = graph.read("pages/task_history", {"pid": plan_id, "taskId": task_id, "limit": limit})
    if not rows:
        return None
    plan, runs = rows[0]
    definition = next((t for t in _plan_tasks(plan.pop("tasks")) if t.get("id") == task_id), None)
    if definition is None and not runs:
        return None
    marks = {field: outliers.flags([r[field] for r in runs]) for field, _ in HISTORY_METRICS}
    for i, run in enumerate(runs):
        run["outliers"] = {field: marks[field][i] for field, _ in HISTORY_METRICS if marks[field][i]}
    title = (definition or {}).get("title") or next((r["taskTitle"] for r in runs if r["taskTitle"]), None)
    return {
        "plan": plan,
        "task": {"taskId": task_id, "title": title, "defined": definition is not None,
                 "parallelGroup": (definition or {}).get("parallelGroup")},
        "runs": runs,
        "metrics": [{"field": field, "label": label, **outliers.fences([r[field] for r in runs])}
                    for field, label in HISTORY_METRICS],
        "limit": limit,
    }
