"""Layered layout of a plan's dependency graph: the candidates side by side, at 200 and 2,000 tasks.

  dot       Graphviz `dot -Tplain` (Debian package graphviz), as executions/graph_layout.py runs it
  grandalf  grandalf's SugiyamaLayout (pure Python), pinned in requirements-dev.txt
  networkx  networkx's topological_generations, pinned in requirements-dev.txt: layers only;
            it has no crossing reduction or coordinates of its own, so it is timed as a lower bound
            of "layers by depth", not as a layout

Each candidate runs in a child process with a time limit (--timeout), on the same plan-like DAG as
bench/pages.py --graph (layers of about sqrt(n) tasks, each depending on 1-3 of the two layers
before); wall time of the best of --repeat runs.

    .venv/bin/python bench/graph_layout.py
    .venv/bin/python bench/graph_layout.py --sizes 200,2000 --timeout 300 --write docs/design.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTION = ("<!-- graph-layout:start -->", "<!-- graph-layout:end -->")


def dag(n: int, seed: int = 1) -> tuple[list[str], list[tuple[str, str]]]:
    rng = random.Random(seed)
    width = max(4, int(n ** 0.5))
    nodes = [f"t{i:04d}" for i in range(n)]
    edges = set()
    for i in range(width, n):
        layer = i // width
        for _ in range(rng.randint(1, 3)):
            edges.add((nodes[rng.randrange(max(0, (layer - 2) * width), layer * width)], nodes[i]))
    return nodes, sorted(edges)


# Each run_<candidate> imports what it needs and answers the layout to time (imports and set-up
# are not timed).


def run_dot(nodes, edges):
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mimir_dashboard.settings")
    import django

    django.setup()
    from executions import graph_layout

    return lambda: graph_layout._dot(nodes, edges)  # uncached: the cost of a first view


def run_grandalf(nodes, edges):
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    return lambda: _grandalf(nodes, edges, Edge, Graph, Vertex, SugiyamaLayout)


def _grandalf(nodes, edges, Edge, Graph, Vertex, SugiyamaLayout) -> None:
    class Box:
        w, h = 184, 64

    vertices = {n: Vertex(n) for n in nodes}
    for v in vertices.values():
        v.view = Box()
    graph = Graph(list(vertices.values()), [Edge(vertices[a], vertices[b]) for a, b in edges])
    for component in graph.C:
        layout = SugiyamaLayout(component)
        layout.init_all()
        layout.draw(2)  # two sweeps of crossing reduction


def run_networkx(nodes, edges):
    import networkx as nx

    def layers() -> None:
        graph = nx.DiGraph()
        graph.add_nodes_from(nodes)
        graph.add_edges_from(edges)
        list(nx.topological_generations(graph))

    return layers


def child(name: str, n: int, repeat: int) -> None:
    nodes, edges = dag(n)
    fn = globals()[f"run_{name}"](nodes, edges)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"ms": best * 1000, "edges": len(edges)}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="200,2000")
    ap.add_argument("--candidates", default="dot,grandalf,networkx")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per candidate and size")
    ap.add_argument("--write", type=Path, help="add/replace this section of a markdown file")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict[int, str]] = {}
    for name in args.candidates.split(","):
        for n in sizes:
            print(f"[{time.strftime('%H:%M:%S')}] {name}, {n} tasks ...", file=sys.stderr, flush=True)
            try:
                done = subprocess.run([sys.executable, __file__, "--child", name, str(n), str(args.repeat)],
                                      capture_output=True, text=True, timeout=args.timeout, cwd=REPO)
            except subprocess.TimeoutExpired:
                results.setdefault(name, {})[n] = f"> {args.timeout:.0f} s (stopped)"
                continue
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["failed"])[-1]
                results.setdefault(name, {})[n] = f"not run: {last[:80]}"
                continue
            ms = json.loads(done.stdout)["ms"]
            results.setdefault(name, {})[n] = f"{ms:,.0f} ms"
            print(f"  {ms:,.0f} ms", file=sys.stderr, flush=True)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores, load average {load}), "
        f"best of {args.repeat}; `python bench/graph_layout.py {' '.join(sys.argv[1:])}`.",
        "",
        "| candidate | " + " | ".join(f"{n:,} tasks" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name, by_size in results.items():
        lines.append(f"| {name} | " + " | ".join(by_size.get(n, "—") for n in sizes) + " |")
    body = "\n".join(lines)
    print(body)
    if args.write:
        text = args.write.read_text()
        start, end = SECTION
        section = f"{start}\n{body}\n{end}"
        if start in text and end in text:
            text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
