"""Reads of plans: their task definitions and run statistics. One Cypher statement each."""

from __future__ import annotations

from typing import Any

from .. import clock, graph, pricing
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
