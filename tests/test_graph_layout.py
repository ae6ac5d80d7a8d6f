"""The dependency graph's layout by Graphviz dot (executions/graph_layout.py): no two nodes
overlap, every edge points down from the dependency to the task that needs it, and a layout is
the same (from the cache) however often it is asked for."""

from __future__ import annotations

import random
import re

import pytest
from django.core.cache import cache

from executions import graph_layout
from executions.graph_layout import NODE_H, NODE_W, LayoutUnavailable, grid, layered


def plan_dag(n: int, seed: int = 7) -> tuple[list[str], list[tuple[str, str]]]:
    """A plan-like DAG: layers of about sqrt(n) tasks, each depending on 1-3 tasks of the two layers before."""
    rng = random.Random(seed)
    width = max(3, int(n ** 0.5))
    nodes = [f"task-{i}" for i in range(n)]
    edges = set()
    for i in range(width, n):
        layer = i // width
        for _ in range(rng.randint(1, 3)):
            edges.add((nodes[rng.randrange(max(0, (layer - 2) * width), layer * width)], nodes[i]))
    return nodes, sorted(edges)


def assert_no_overlap(layout) -> None:
    boxes = sorted(layout.nodes.values())
    for i, (x1, y1) in enumerate(boxes):
        for x2, y2 in boxes[i + 1:]:
            if x2 >= x1 + NODE_W:
                break  # sorted by x: no later box can overlap this one
            assert abs(y1 - y2) >= NODE_H, ((x1, y1), (x2, y2))
    for x, y in boxes:
        assert 0 <= x and x + NODE_W <= layout.width and 0 <= y and y + NODE_H <= layout.height


def path_ends(d: str) -> tuple[tuple[float, float], tuple[float, float]]:
    points = [tuple(map(float, p.split(","))) for p in re.findall(r"-?[\d.]+,-?[\d.]+", d)]
    return points[0], points[-1]


@pytest.mark.parametrize("n", [12, 200])
def test_it_places_nodes_without_overlap_and_edges_pointing_down(n):
    nodes, edges = plan_dag(n)
    layout = layered(nodes, edges)
    assert set(layout.nodes) == set(nodes)
    assert set(layout.edges) == set(edges)
    assert_no_overlap(layout)
    for (a, b), d in layout.edges.items():
        (ax, ay), (bx, by) = layout.nodes[a], layout.nodes[b]
        assert ay + NODE_H <= by, (a, b)  # the dependency's rank is above the dependent's
        start, end = path_ends(d)
        assert start[1] < end[1], (a, b, d)  # drawn downwards, from below a to above b
        assert abs(start[1] - (ay + NODE_H)) < 2 and abs(end[1] - by) < 2, (a, b, d)
        assert ax <= start[0] <= ax + NODE_W and bx <= end[0] <= bx + NODE_W, (a, b, d)


def test_it_keeps_a_layout_for_the_same_nodes_and_edges():
    nodes, edges = plan_dag(30, seed=3)
    cache.clear()
    first = layered(nodes, edges)
    assert cache.get(graph_layout._key("layered", [nodes, sorted(edges)])) == first
    # Edges listed in another order, twice, or naming unknown nodes: the same layout.
    again = layered(nodes, list(reversed(edges)) + edges[:3] + [("nobody", nodes[0])])
    assert again == first


def test_it_lays_out_a_graph_without_edges_as_a_grid_of_bands():
    rows = [[f"g0-{i}" for i in range(11)], ["g1-0"], [f"g2-{i}" for i in range(3)]]
    layout = grid(rows)
    assert_no_overlap(layout)
    assert len(layout.nodes) == 15 and layout.edges == {}
    # a band of 11 wraps after GRID_COLUMNS; every band starts below the one before
    assert layout.nodes["g0-8"][1] > layout.nodes["g0-0"][1]
    assert layout.nodes["g1-0"][1] > layout.nodes["g0-8"][1] and layout.nodes["g2-0"][1] > layout.nodes["g1-0"][1]


def test_it_says_so_when_graphviz_is_missing(monkeypatch):
    cache.clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LayoutUnavailable, match="Graphviz is not installed"):
        layered(["a", "b"], [("a", "b")])
