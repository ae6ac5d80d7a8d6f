"""Layered layout of a dependency graph by Graphviz `dot` (Sugiyama: ranks by dependency depth,
crossing reduction, edge routing), read back as coordinates (`-Tplain`); the SVG is drawn by the
templates, so every label is escaped by Django and dot never sees a title or an id.

Why dot rather than grandalf or networkx: docs/design.md, "Dependency graph" (measured with
`bench/graph_layout.py`).

A layout depends only on the node ids and edges, never on statuses, so it is kept in Django's cache
under a hash of them: a live page's nodes keep their places while their statuses change.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass

from django.core.cache import cache

# Node box in SVG pixels; dot works in inches (72 px each).
NODE_W, NODE_H = 184, 64
PAD = 12
DOT_TIMEOUT_SECONDS = 30
CACHE_SECONDS = 24 * 3600
# Bumped when the layout's input or parsing changes, so that cached layouts of an older one are not used.
LAYOUT_ID = "dot-2"
GRID_COLUMNS = 8


class LayoutUnavailable(Exception):
    """Graphviz is not installed, or dot failed or timed out on this graph."""


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    # node id -> (x, y) of the box's top-left corner
    nodes: dict[str, tuple[int, int]]
    # (from, to) -> SVG path data ("M x,y C ..."), from the dependency to the task that needs it
    edges: dict[tuple[str, str], str]


def _key(kind: str, payload: object) -> str:
    digest = hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()
    return f"depgraph:{LAYOUT_ID}:{kind}:{digest}"


def layered(nodes: list[str], edges: list[tuple[str, str]]) -> Layout:
    """Every node placed by dot, each edge (dependency, dependent) drawn downwards. Edges naming a
    node not in `nodes` are left out. Cached per (nodes, edges)."""
    known = set(nodes)
    edges = sorted({(a, b) for a, b in edges if a in known and b in known and a != b})
    key = _key("layered", [nodes, edges])
    found = cache.get(key)
    if found is None:
        found = _dot(nodes, edges)
        cache.set(key, found, CACHE_SECONDS)
    return found


def grid(rows: list[list[str]]) -> Layout:
    """Nodes without edges (an execution with no plan): one band per row (a parallel group), up to
    GRID_COLUMNS nodes a line; no library needed for that."""
    placed: dict[str, tuple[int, int]] = {}
    y = PAD
    columns = 1
    for row in rows:
        for start in range(0, len(row), GRID_COLUMNS):
            line = row[start:start + GRID_COLUMNS]
            columns = max(columns, len(line))
            for i, node in enumerate(line):
                placed[node] = (PAD + i * (NODE_W + 24), y)
            y += NODE_H + 20
        y += 16
    return Layout(width=PAD * 2 + columns * (NODE_W + 24) - 24, height=max(y, NODE_H + 2 * PAD), nodes=placed,
                  edges={})


def _dot(nodes: list[str], edges: list[tuple[str, str]]) -> Layout:
    exe = shutil.which("dot")
    if exe is None:
        raise LayoutUnavailable("Graphviz is not installed (Debian package graphviz)")
    index = {node: i for i, node in enumerate(nodes)}
    # Node names are n<index>: no id reaches dot's input, so none needs quoting there.
    lines = [
        "digraph g {",
        "graph [rankdir=TB, nodesep=0.3, ranksep=0.6];",
        f"node [shape=box, fixedsize=true, width={NODE_W / 72:.4f}, height={NODE_H / 72:.4f}, label=\"\"];",
        # Out of a box's bottom, into the next one's top: edges read downwards, as the ranks do.
        "edge [tailport=s, headport=n, arrowhead=none];",
        *(f"n{i};" for i in range(len(nodes))),
        *(f"n{index[a]} -> n{index[b]};" for a, b in edges),
        "}",
    ]
    try:
        done = subprocess.run([exe, "-Tplain"], input="\n".join(lines), capture_output=True, text=True,
                              timeout=DOT_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LayoutUnavailable(f"dot took over {DOT_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        raise LayoutUnavailable(f"dot failed: {done.stderr.strip()[:200]}")
    return _parse_plain(done.stdout, nodes)


def _parse_plain(text: str, nodes: list[str]) -> Layout:
    """dot -Tplain: `graph scale w h`, `node name x y w h ...`, `edge tail head n x1 y1 ...`, in inches
    with y upwards; turned into pixels with y downwards."""
    height_in = 0.0
    placed: dict[str, tuple[int, int]] = {}
    paths: dict[tuple[str, str], str] = {}
    width_in = 0.0

    def px(x: float, y: float) -> tuple[float, float]:
        return x * 72 + PAD, (height_in - y) * 72 + PAD

    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "graph":
            width_in, height_in = float(parts[2]), float(parts[3])
        elif parts[0] == "node":
            x, y = px(float(parts[2]), float(parts[3]))
            placed[nodes[int(parts[1][1:])]] = (round(x - NODE_W / 2), round(y - NODE_H / 2))
        elif parts[0] == "edge":
            tail, head, count = nodes[int(parts[1][1:])], nodes[int(parts[2][1:])], int(parts[3])
            points = [px(float(parts[4 + 2 * i]), float(parts[5 + 2 * i])) for i in range(count)]
            # A B-spline of 3k+1 control points: M p0 C c1 c2 p1 C ...
            d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
            for i in range(1, count - 2, 3):
                (ax, ay), (bx, by), (cx, cy) = points[i:i + 3]
                d += f" C{ax:.1f},{ay:.1f} {bx:.1f},{by:.1f} {cx:.1f},{cy:.1f}"
            paths[(tail, head)] = d
    return Layout(width=round(width_in * 72) + 2 * PAD, height=round(height_in * 72) + 2 * PAD, nodes=placed,
                  edges=paths)
