"""The dependency graph of a plan or of an execution, as the templates draw it (an inline SVG):
nodes placed by `graph_layout`, each with its status, attempts, QC score and duration on an
execution, and the critical path (`critical_path`) over it.

Only numbers and plain strings come out of here; the templates write the SVG, so every title and
id is escaped by Django.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .charts import row_key
from .critical_path import Span, critical_path
from .graph_layout import NODE_H, NODE_W, Layout, LayoutUnavailable, grid, layered

# Past this many tasks a graph of every task is no longer readable (and dot takes seconds): the
# page draws one node per parallel group instead, and the task table stays the list of every task.
# docs/design.md, "Dependency graph", has the measurements.
MAX_TASK_NODES = 300
TITLE_CHARS = 26
ID_CHARS = 28

# Live statuses, in the words the page shows.
PENDING, RUNNING, SUCCESS = "pending", "running", "success"
FAILED, QC_FAILED, RETRIED = "failed", "qc-failed", "retried"
STATUS_LABELS = {PENDING: "pending", RUNNING: "running", SUCCESS: "success", FAILED: "failed",
                 QC_FAILED: "QC failed", RETRIED: "retried"}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _color(group: Any) -> int:
    return group % 8 if isinstance(group, int) and not isinstance(group, bool) else 0


def reported_status(task: dict[str, Any]) -> str:
    """A reported task's status: its latest attempt's, QC first (a failed verdict is what to fix)."""
    if task.get("qcPassed") is False:
        return QC_FAILED
    if task.get("status") == "failure":
        return FAILED
    if (task.get("attemptCount") or 1) > 1:
        return RETRIED
    return SUCCESS


def _plan_skeleton(plan_tasks: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]], dict[str, dict]]:
    ids: list[str] = []
    defs: dict[str, dict] = {}
    for t in plan_tasks:
        tid = t.get("id")
        if isinstance(tid, str) and tid not in defs:
            ids.append(tid)
            defs[tid] = t
    deps = {tid: [d for d in (defs[tid].get("dependencies") or []) if isinstance(d, str) and d in defs]
            for tid in ids}
    return ids, deps, defs


def live_statuses(*, ids: list[str], deps: dict[str, list[str]], reported: dict[str, dict],
                  running: bool) -> dict[str, str]:
    """Every node's status. A task not reported yet is `running` while the execution runs and each
    of its dependencies succeeded (the orchestrator starts a task once its dependencies are done;
    tasks report only when they end), else `pending`."""
    out = {}
    for tid in ids:
        if tid in reported:
            out[tid] = reported_status(reported[tid])
    for tid in ids:
        if tid in out:
            continue
        ready = all(out.get(d) in (SUCCESS, RETRIED) for d in deps.get(tid, ()))
        out[tid] = RUNNING if running and ready else PENDING
    return out


def graph_shape(*, plan_tasks: list[dict[str, Any]] | None, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The nodes (plan tasks, then reported tasks the plan does not name), each one's dependencies
    and definition. Without a plan, nodes are the reported tasks, banded by parallel group."""
    ids, deps, defs = _plan_skeleton(plan_tasks or [])
    for t in tasks:
        if t["taskId"] not in defs:
            ids.append(t["taskId"])
            deps[t["taskId"]] = []
            defs[t["taskId"]] = {"id": t["taskId"], "title": t.get("taskTitle"),
                                 "parallelGroup": t.get("parallelGroup")}
    return {"ids": ids, "deps": deps, "defs": defs, "has_edges": any(deps.values())}


def _layout(shape: dict[str, Any]) -> Layout:
    ids, deps, defs = shape["ids"], shape["deps"], shape["defs"]
    if shape["has_edges"]:
        return layered(ids, [(d, t) for t in ids for d in deps[t]])
    bands: dict[Any, list[str]] = {}
    for tid in ids:
        bands.setdefault(defs[tid].get("parallelGroup"), []).append(tid)
    order = sorted(bands, key=lambda g: (g is None, g if isinstance(g, int) else 0, str(g)))
    return grid([bands[g] for g in order])


def build(*, plan_tasks: list[dict[str, Any]] | None, tasks: list[dict[str, Any]], execution: dict | None,
          url_of: Callable[[str], str | None]) -> dict[str, Any]:
    """The graph card's data. `tasks`: the reported task rows (status, attempts, QC, timestamp,
    durationMs); `execution`: None on a plan's page; `url_of`: a task's link (None: no link),
    asked only for the nodes drawn. Modes: `graph` (every task), `groups` (collapsed, past
    MAX_TASK_NODES), `none` (nothing to draw), `unavailable` (no dot)."""
    shape = graph_shape(plan_tasks=plan_tasks, tasks=tasks)
    ids, deps, defs = shape["ids"], shape["deps"], shape["defs"]
    reported = {t["taskId"]: t for t in tasks}
    running = bool(execution) and execution.get("status") == "running"
    statuses = live_statuses(ids=ids, deps=deps, reported=reported, running=running) if execution else {}
    spans = {t["taskId"]: Span(t["timestamp"] - (t.get("durationMs") or 0), t["timestamp"])
             for t in tasks if t.get("timestamp") is not None}
    path = critical_path(spans=spans, dependencies=deps, run_start=(execution or {}).get("startTime"))
    out: dict[str, Any] = {"mode": "none", "count": len(ids), "is_execution": bool(execution),
                           "node_w": NODE_W, "node_h": NODE_H, "max_nodes": MAX_TASK_NODES,
                           "critical": _critical_list(path, defs, spans), "deps": deps}
    if not ids:
        return out
    if len(ids) > MAX_TASK_NODES:
        out.update(_groups(ids, deps, defs, statuses))
        return out
    try:
        layout = _layout(shape)
    except LayoutUnavailable as exc:
        out.update(mode="unavailable", reason=str(exc))
        return out
    on_path = set(path.chain)
    path_edges = set(zip(path.chain, path.chain[1:], strict=False))
    nodes = []
    for tid in ids:
        x, y = layout.nodes[tid]
        d = defs[tid]
        title = d.get("title") or tid
        row = reported.get(tid, {})
        wait = path.waits.get(tid)
        nodes.append({
            "taskId": tid, "x": x, "y": y, "title": title, "label": _cut(str(title), TITLE_CHARS),
            "idLabel": _cut(tid, ID_CHARS), "colorIndex": _color(d.get("parallelGroup")),
            "parallelGroup": d.get("parallelGroup"),
            "status": statuses.get(tid), "statusLabel": STATUS_LABELS.get(statuses.get(tid), ""),
            "attempts": row.get("attemptCount") or (1 if row else None),
            "qcScore": row.get("qcScore"), "qcPassed": row.get("qcPassed"), "durationMs": row.get("durationMs"),
            "reported": bool(row), "url": url_of(tid), "key": row_key(tid),
            "critical": tid in on_path,
            "waitedOn": wait.on if wait else None, "waitedMs": wait.ms if wait else None,
        })
    edges = [{"from": a, "to": b, "d": p, "critical": (a, b) in path_edges} for (a, b), p in layout.edges.items()]
    out.update(mode="graph", width=layout.width, height=layout.height, nodes=nodes, edges=edges,
               path_nodes=[n for n in nodes if n["critical"]],
               path_edges=[e for e in edges if e["critical"]])
    return out


def _critical_list(path, defs: dict[str, dict], spans: dict[str, Span]) -> list[dict]:
    return [{"taskId": tid, "key": row_key(tid),
             "title": _cut(str(defs.get(tid, {}).get("title") or tid), 80),
             "durationMs": spans[tid].end - spans[tid].start,
             "waitedOn": path.waits[tid].on if tid in path.waits else None,
             "waitedMs": path.waits[tid].ms if tid in path.waits else None} for tid in path.chain]


def _groups(ids: list[str], deps: dict[str, list[str]], defs: dict[str, dict], statuses: dict[str, str]) -> dict:
    """One node per parallel group (tasks without one: "no group"), with its counts by status;
    an edge where any task of one depends on a task of the other."""
    def group_of(tid: str) -> Any:
        g = defs[tid].get("parallelGroup")
        return g if isinstance(g, (int, str)) and not isinstance(g, bool) else None

    names = {}
    members: dict[str, list[str]] = {}
    for tid in ids:
        g = group_of(tid)
        name = "none" if g is None else f"g{g}"
        names[name] = g
        members.setdefault(name, []).append(tid)
    links = {(f"g{group_of(d)}" if group_of(d) is not None else "none", name)
             for name, tids in members.items() for t in tids for d in deps[t]}
    links = {(a, b) for a, b in links if a != b}
    order = list(members)
    try:
        layout = layered(order, sorted(links)) if links else grid([order[i:i + 6] for i in range(0, len(order), 6)])
    except LayoutUnavailable as exc:
        return {"mode": "unavailable", "reason": str(exc)}
    nodes = []
    for name in order:
        x, y = layout.nodes[name]
        counts: dict[str, int] = {}
        for tid in members[name]:
            counts[statuses.get(tid, "")] = counts.get(statuses.get(tid, ""), 0) + 1
        g = names[name]
        label = "No parallel group" if g is None else f"Group {_cut(str(g), 16)}"
        nodes.append({"group": name, "key": row_key("group\n" + name), "x": x, "y": y, "label": label,
                      "colorIndex": _color(g), "tasks": len(members[name]),
                      "counts": [{"status": s, "label": STATUS_LABELS[s], "n": counts[s]}
                                 for s in STATUS_LABELS if counts.get(s)]})
    edges = [{"from": a, "to": b, "d": p} for (a, b), p in layout.edges.items()]
    return {"mode": "groups", "width": layout.width, "height": layout.height, "nodes": nodes, "edges": edges,
            "group_of": {tid: name for name, tids in members.items() for tid in tids}}
