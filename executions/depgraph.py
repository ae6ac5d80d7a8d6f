"""The dependency graph of a plan or of an execution, as the templates draw it (an inline SVG):
nodes placed by `graph_layout`, each with its status, attempts, QC score and duration on an
execution, and the critical path (`critical_path`) over it.

Only numbers and plain strings come out of here; the templates write the SVG, so every title and
id is escaped by Django.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import lru_cache
from html import escape  # quotes " and ' too; Django's own is the same, behind a slower lazy-text wrapper
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from .charts import row_key
from .critical_path import Span, critical_path
from .graph_layout import NODE_H, NODE_W, Layout, LayoutUnavailable, grid, layered
from .templatetags.mimir import duration

# Past this many tasks a graph of every task is no longer readable (and dot takes seconds): the
# page draws one node per parallel group instead, and the task table stays the list of every task.
# docs/design.md, "Dependency graph", has the measurements.
MAX_TASK_NODES = 300
# ... and when that gives more than this many groups, one node per dependency depth.
MAX_GROUP_NODES = 40
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
    # Reported tasks the plan does not name, by id: their order (so the layout) must not follow
    # completion, which a retry changes.
    for t in sorted(tasks, key=lambda t: t["taskId"]):
        if t["taskId"] not in defs:
            ids.append(t["taskId"])
            deps[t["taskId"]] = []
            defs[t["taskId"]] = {"id": t["taskId"], "title": t.get("taskTitle"),
                                 "parallelGroup": t.get("parallelGroup")}
    return {"ids": ids, "deps": deps, "defs": defs, "has_edges": any(deps.values())}


def layout_id(layout: Layout) -> str:
    """What the page's graph was drawn with, in a few bytes: the live page's poll sends it back, and
    nodes are swapped in their places only when it is still the same (else the whole card)."""
    placed = json.dumps(sorted(layout.nodes.items()), separators=(",", ":"))
    return hashlib.blake2b(placed.encode(), digest_size=8).hexdigest()


def _group_order(g: Any) -> tuple:
    """Parallel groups by number, then by name, then no group."""
    if isinstance(g, int) and not isinstance(g, bool):
        return (0, g, "")
    return (1, 0, str(g)) if g is not None else (2, 0, "")


def _layout(shape: dict[str, Any]) -> Layout:
    ids, deps, defs = shape["ids"], shape["deps"], shape["defs"]
    if shape["has_edges"]:
        return layered(ids, [(d, t) for t in ids for d in deps[t]])
    bands: dict[Any, list[str]] = {}
    for tid in ids:
        bands.setdefault(defs[tid].get("parallelGroup"), []).append(tid)
    order = sorted(bands, key=_group_order)
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
    out: dict[str, Any] = {"mode": "none", "layout": "none", "count": len(ids), "is_execution": bool(execution),
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
    is_execution = bool(execution)
    for n in nodes:
        n["svg"] = node_svg(n, is_execution=is_execution)
    out["layout"] = layout_id(layout)
    out.update(mode="graph", width=layout.width, height=layout.height, nodes=nodes, edges=edges,
               nodes_svg=nodes_svg(nodes), edges_svg=edges_svg(edges),
               path_nodes=[n for n in nodes if n["critical"]],
               path_edges=[e for e in edges if e["critical"]])
    return out


# ------------------------------------------------------------ SVG markup
# A node's markup is written here rather than by a template loop: at 200 nodes the loop was most of
# the page's render time. Every title, id and label goes through `escape` (attributes are quoted).


NODE_FIELDS = ("title", "taskId", "statusLabel", "waitedOn", "waitedMs", "parallelGroup", "status", "colorIndex",
               "label", "idLabel", "reported", "attempts", "qcPassed", "qcScore", "durationMs", "url")
# Node markups kept per process: a node's comes again unchanged until its status or numbers move.
NODE_CACHE_SIZE = 4_096


def node_svg(n: dict[str, Any], *, is_execution: bool) -> SafeString:
    """The inside of a task's `<g id="gn-<key>">`: what a poll swaps (its place stays on the `<g>`).
    Depends on NODE_FIELDS only, so kept per process for the nodes that come again unchanged."""
    values = tuple(n[f] for f in NODE_FIELDS)
    try:
        return _node_svg(values, is_execution)
    except TypeError:  # a value that cannot be a key (a plan stored before its fields were checked)
        return _node_svg.__wrapped__(values, is_execution)


@lru_cache(maxsize=NODE_CACHE_SIZE)
def _node_svg(values: tuple, is_execution: bool) -> SafeString:
    n = dict(zip(NODE_FIELDS, values, strict=True))
    title = f"{n['title']} ({n['taskId']})"
    if n["statusLabel"]:
        title += f" — {n['statusLabel']}"
    if n["waitedOn"]:
        title += f"; waited {duration(n['waitedMs'])} on {n['waitedOn']}"
    group = f" · g{n['parallelGroup']}" if n["parallelGroup"] is not None else ""
    status = n["status"]
    parts = [
        f'<g class="dg-node st-{escape(status or "plan")}"'
        + (f' data-status="{escape(status)}"' if status else "") + ">",
        f"<title>{escape(title)}</title>",
        f'<rect class="dg-box" width="{NODE_W}" height="{NODE_H}" rx="6"/>',
        f'<rect class="dg-group pg-{int(n["colorIndex"])}" width="6" height="{NODE_H}" rx="3"/>',
        f'<text class="dg-title" x="14" y="19">{escape(n["label"])}</text>',
        f'<text class="dg-id" x="14" y="35">{escape(n["idLabel"] + group)}</text>',
    ]
    if is_execution:
        meta = n["statusLabel"]
        if n["reported"]:
            meta += f" · {n['attempts']} att"
            if n["qcPassed"] is not None:
                meta += f" · QC {'—' if n['qcScore'] is None else n['qcScore']}"
            meta += f" · {duration(n['durationMs'])}"
        parts.append(f'<text class="dg-meta" x="14" y="53">{escape(meta)}</text>')
    parts.append("</g>")
    body = "".join(parts)
    if n["url"]:
        body = f'<a href="{escape(n["url"])}">{body}</a>'
    return mark_safe(body)  # noqa: S308 -- every interpolated text above is escaped


def nodes_svg(nodes: list[dict[str, Any]]) -> SafeString:
    """Every node in its place, from each one's `svg` (node_svg)."""
    return mark_safe("".join(  # noqa: S308 -- node_svg escapes; keys are hex, ids escaped
        f'<g id="gn-{n["key"]}" data-task-id="{escape(n["taskId"])}" transform="translate({n["x"]},{n["y"]})">'
        f"{n['svg']}</g>" for n in nodes))


def group_svg(g: dict[str, Any]) -> SafeString:
    """The inside of a group's `<g id="gg-<key>">` (by parallel group or depth), what a poll swaps."""
    counts = " · ".join(f'<tspan class="st-text-{escape(c["status"])}">{c["n"]} {escape(c["label"])}</tspan>'
                        for c in g["counts"])
    return mark_safe(  # noqa: S308 -- labels escaped, the rest numbers
        f'<g class="dg-node dg-groupnode"><rect class="dg-box" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
        f'<rect class="dg-group pg-{int(g["colorIndex"])}" width="6" height="{NODE_H}" rx="3"/>'
        f'<text class="dg-title" x="14" y="19">{escape(g["label"])}</text>'
        f'<text class="dg-id" x="14" y="35">{g["tasks"]} task{"" if g["tasks"] == 1 else "s"}</text>'
        f'<text class="dg-meta" x="14" y="53">{counts}</text></g>')


def groups_svg(groups: list[dict[str, Any]]) -> SafeString:
    return mark_safe("".join(  # noqa: S308 -- group_svg escapes; keys are hex, names escaped
        f'<g id="gg-{g["key"]}" data-group="{escape(g["group"])}" transform="translate({g["x"]},{g["y"]})">'
        f'{g["svg"]}</g>' for g in groups))


def edges_svg(edges: list[dict[str, Any]]) -> SafeString:
    """Every edge; the same for every view of a layout (statuses do not touch edges), so kept."""
    return _edges_svg(tuple((e["from"], e["to"], e["d"]) for e in edges))


@lru_cache(maxsize=256)
def _edges_svg(edges: tuple[tuple[str, str, str], ...]) -> SafeString:
    return mark_safe("".join(  # noqa: S308 -- path data is numbers; ids escaped
        f'<path class="dg-edge" d="{d}" data-from="{escape(a)}" data-to="{escape(b)}"'
        ' marker-end="url(#dg-arrow)"/>' for a, b, d in edges))


def _critical_list(path, defs: dict[str, dict], spans: dict[str, Span]) -> list[dict]:
    return [{"taskId": tid, "key": row_key(tid),
             "title": _cut(str(defs.get(tid, {}).get("title") or tid), 80),
             "durationMs": spans[tid].end - spans[tid].start,
             "waitedOn": path.waits[tid].on if tid in path.waits else None,
             "waitedMs": path.waits[tid].ms if tid in path.waits else None} for tid in path.chain]


def _depths(ids: list[str], deps: dict[str, list[str]]) -> dict[str, int]:
    """Each task's dependency depth: 0 without dependencies, else one more than its deepest one (a
    declared cycle counts as depth 0 where it closes)."""
    depth: dict[str, int] = {}
    for root in ids:
        stack = [(root, iter(deps[root]))]
        on_stack = {root}
        while stack:
            tid, pending = stack[-1]
            nxt = next((d for d in pending if d not in depth and d not in on_stack), None)
            if nxt is not None:
                stack.append((nxt, iter(deps[nxt])))
                on_stack.add(nxt)
                continue
            stack.pop()
            on_stack.discard(tid)
            depth[tid] = 1 + max((depth[d] for d in deps[tid] if d in depth), default=-1)
    return depth


def _groups(ids: list[str], deps: dict[str, list[str]], defs: dict[str, dict], statuses: dict[str, str]) -> dict:
    """One node per parallel group (tasks without one: "no group"), or, when there are more than
    MAX_GROUP_NODES groups, one per dependency depth; each with its counts by status, and an edge
    where any task of one depends on a task of the other."""
    names: dict[str, Any] = {}
    group_of: dict[str, str] = {}
    for tid in ids:
        g = defs[tid].get("parallelGroup")
        g = g if isinstance(g, (int, str)) and not isinstance(g, bool) else None
        group_of[tid] = "none" if g is None else f"g{g}"
        names[group_of[tid]] = g
    by_depth = len(names) > MAX_GROUP_NODES
    if by_depth:
        depth = _depths(ids, deps)
        group_of = {tid: f"depth-{depth[tid]}" for tid in ids}
        names = {f"depth-{d}": d for d in sorted(set(depth.values()))}
    # Groups in the order of their values (not of their tasks' completion, which a retry changes).
    names = dict(sorted(names.items(), key=lambda kv: _group_order(kv[1])))
    members: dict[str, list[str]] = {name: [] for name in names}
    for tid in ids:
        members[group_of[tid]].append(tid)
    links = {(group_of[d], name) for name, tids in members.items() for t in tids for d in deps[t]}
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
        if by_depth:
            label, color = f"Depth {g}", 0
        else:
            label, color = ("No parallel group" if g is None else f"Group {_cut(str(g), 16)}"), _color(g)
        nodes.append({"group": name, "key": row_key("group\n" + name), "x": x, "y": y, "label": label,
                      "colorIndex": color, "tasks": len(members[name]),
                      "counts": [{"status": s, "label": STATUS_LABELS[s], "n": counts[s]}
                                 for s in STATUS_LABELS if counts.get(s)]})
    for node in nodes:
        node["svg"] = group_svg(node)
    edges = [{"from": a, "to": b, "d": p} for (a, b), p in layout.edges.items()]
    return {"mode": "groups", "layout": layout_id(layout), "by_depth": by_depth,
            "width": layout.width, "height": layout.height,
            "nodes": nodes, "edges": edges, "group_of": group_of,
            "nodes_svg": groups_svg(nodes), "edges_svg": edges_svg(edges)}
