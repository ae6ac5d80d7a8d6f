"""The dependency graph on the execution and plan pages (real HTTP through Django, real Neo4j, real
dot): nodes and edges with their data attributes, live statuses, the critical path, escaping, and
the live poll swapping only the nodes that changed, in the places the layout gave them."""

from __future__ import annotations

import re

from tests.support.live_dom import parse, shown
from tests.support.pages import T0, result
from tests.test_views_live_poll import HX, page_of, poll

MIN = 60_000
# a → b, a → c, b → d, c → d, plus e with no dependency: a diamond and a loner.
DIAMOND = {
    "title": "Diamond",
    "tasks": [
        {"id": "a", "title": "Fetch the data", "parallelGroup": 1},
        {"id": "b", "title": "Clean it", "parallelGroup": 2, "dependencies": ["a"]},
        {"id": "c", "title": "Model it <b>bold</b>", "parallelGroup": 2, "dependencies": ["a"]},
        {"id": "d", "title": "Report", "parallelGroup": 3, "dependencies": ["b", "c"]},
        {"id": "e", "title": "Unrelated", "parallelGroup": 1},
    ],
}


def node(page, task_id: str):
    return next(n for n in page.one("#depgraph").elements() if n.tag == "g" and n.attrs.get("data-task-id") == task_id)


def status(page, task_id: str) -> str | None:
    return next((n.attrs.get("data-status") for n in node(page, task_id).elements() if "data-status" in n.attrs), None)


def edges(page) -> set[tuple[str, str]]:
    return {(n.attrs["data-from"], n.attrs["data-to"]) for n in page.one("#depgraph").elements()
            if n.tag == "path" and "dg-edge" in (n.attrs.get("class") or "")}


def critical(page) -> list[str]:
    return [n.attrs["data-task-id"] for n in page.one("#critical-path").elements() if n.tag == "li"]


def start_diamond(ingest, execution_id: str = "run-1") -> None:
    assert ingest.plan("diamond", DIAMOND).status_code == 200
    assert ingest.start(execution_id, "diamond", 5, T0).status_code == 201


def test_it_draws_the_plans_tasks_and_dependencies_with_live_statuses(signed_in, ingest):
    start_diamond(ingest)
    ingest.task("run-1", "a", result(timestamp=T0 + 2 * MIN, duration=2 * MIN))
    page = page_of(signed_in, "run-1")
    ids = [n.attrs["data-task-id"] for n in page.one("#depgraph").elements() if "transform" in n.attrs]
    assert sorted(ids) == ["a", "b", "c", "d", "e"]
    assert edges(page) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}
    # a succeeded; b and c have what they need and no result yet: running; d waits; e needs
    # nothing, so the orchestrator runs it too.
    assert {t: status(page, t) for t in ids} == {"a": "success", "b": "running", "c": "running", "d": "pending",
                                                  "e": "running"}
    # The reported task links to its page; the others have no page yet.
    links = [n.attrs["href"] for n in node(page, "a").elements() if n.tag == "a"]
    assert links == ["/executions/run-1/tasks/a"]
    assert not [n for n in node(page, "b").elements() if n.tag == "a"]
    # The layout's ranks follow the dependencies.
    y = {t: int(re.search(r",(\d+)\)", node(page, t).attrs["transform"]).group(1)) for t in ids}
    assert y["a"] < y["b"] == y["c"] < y["d"]


def test_it_shows_attempts_qc_duration_and_the_critical_path_of_a_finished_run(signed_in, ingest):
    start_diamond(ingest)
    ingest.task("run-1", "a", result(timestamp=T0 + 2 * MIN, duration=2 * MIN))
    ingest.task("run-1", "b", result(timestamp=T0 + 3 * MIN, duration=MIN))
    ingest.task("run-1", "c", result("failure", timestamp=T0 + 4 * MIN, duration=2 * MIN, error="nope",
                                     qcVerification={"passed": False, "score": 35, "feedback": "no",
                                                     "issues": [], "requiredFixes": []}))
    ingest.task("run-1", "c", result(attemptNumber=2, timestamp=T0 + 9 * MIN, duration=5 * MIN,
                                     qcVerification={"passed": True, "score": 91, "feedback": "ok",
                                                     "issues": [], "requiredFixes": []}))
    ingest.task("run-1", "d", result(timestamp=T0 + 10 * MIN, duration=MIN))
    ingest.task("run-1", "e", result("failure", timestamp=T0 + MIN, duration=MIN, error="x"))
    ingest.finish("run-1", T0 + 11 * MIN)
    page = page_of(signed_in, "run-1")
    assert {t: status(page, t) for t in "abcde"} == {"a": "success", "b": "success", "c": "retried",
                                                      "d": "success", "e": "failed"}
    meta = " ".join(n.text() for n in node(page, "c").elements() if n.tag == "text")
    assert "2 att" in meta and "QC 91" in meta and "5m 00s" in meta
    assert critical(page) == ["a", "c", "d"]
    # The overlay marks the same chain, and the edges between them.
    overlay = page.one("#graph-critical")
    assert [n.attrs["data-task-id"] for n in overlay.elements() if n.tag == "rect"] == ["a", "c", "d"]
    assert [(n.attrs["data-from"], n.attrs["data-to"]) for n in overlay.elements() if n.tag == "path"] == \
        [("a", "c"), ("c", "d")]
    # d waited on c from b's end (3 min) to c's end (9 min).
    assert "waited 6m 00s on c" in page.one("#critical-path").text()
    # The timeline marks them too.
    marked = [r for r in page.one("#timeline-rows").child_elements()
              if "tl-critical" in next(n for n in r.elements() if n.tag == "rect").attrs["class"]]
    assert len(marked) == 3


def test_it_escapes_titles_and_ids_in_the_graph(signed_in, ingest):
    hostile = {"title": "x", "tasks": [{"id": "t<1>&\"", "title": "<script>alert(1)</script>"},
                                       {"id": "t2", "title": "\" onmouseover=\"x", "dependencies": ["t<1>&\""]}]}
    assert ingest.plan("hostile", hostile).status_code == 200
    assert ingest.start("h", "hostile", 2, T0).status_code == 201
    body = signed_in.get("/executions/h").content.decode()
    card = body[body.index('id="graph-card"'):body.index("</section>", body.index('id="graph-card"'))]
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert 'data-task-id="t&lt;1&gt;&amp;&quot;"' in card and 'data-from="t&lt;1&gt;&amp;&quot;"' in card
    assert 'onmouseover="' not in card


def test_it_swaps_only_the_changed_nodes_in_their_places(signed_in, ingest):
    start_diamond(ingest)
    ingest.task("run-1", "a", result(timestamp=T0 + 2 * MIN, duration=2 * MIN))
    page = page_of(signed_in, "run-1")
    places = {t: node(page, t).attrs["transform"] for t in "abcde"}
    ingest.task("run-1", "b", result("failure", timestamp=T0 + 3 * MIN, duration=MIN, error="broke"))
    response = poll(signed_in, page)
    body = response.content.decode()
    # b changed, and d depends on it: only those two nodes are sent, into their own places.
    swapped = re.findall(r'<svg hx-swap-oob="innerHTML:#gn-(k[0-9a-f]+)">', body)
    keys = {t: node(page, t).attrs["id"][3:] for t in "abcde"}
    assert sorted(swapped) == sorted([keys["b"], keys["d"]])
    assert 'id="graph-card"' not in body
    assert status(page, "b") == "failed" and status(page, "d") == "pending"
    assert {t: node(page, t).attrs["transform"] for t in "abcde"} == places
    assert shown(page) == shown(page_of(signed_in, "run-1"))
    # The critical path so far ends with b, the last to end.
    assert critical(page) == ["a", "b"]


def test_it_sends_the_whole_graph_when_a_task_outside_the_plan_appears(signed_in, ingest):
    start_diamond(ingest)
    page = page_of(signed_in, "run-1")
    ingest.task("run-1", "extra", result(timestamp=T0 + MIN), task={"id": "extra", "title": "Not planned"})
    body = poll(signed_in, page).content.decode()
    assert 'id="graph-card" hx-swap-oob="true"' in body
    assert status(page, "extra") == "success" and shown(page) == shown(page_of(signed_in, "run-1"))


def test_it_lays_out_an_execution_without_a_plan_by_parallel_group(signed_in, ingest):
    assert ingest.start("free", "no-such-plan", 4, T0).status_code == 201
    for i, group in enumerate([2, 1, 2, None]):
        ingest.task("free", f"t{i}", result(timestamp=T0 + (i + 1) * MIN), task={"id": f"t{i}", "parallelGroup": group})
    page = page_of(signed_in, "free")
    assert edges(page) == set()
    y = {t: int(re.search(r",(\d+)\)", node(page, t).attrs["transform"]).group(1)) for t in ("t0", "t1", "t2", "t3")}
    assert y["t1"] < y["t0"] == y["t2"] < y["t3"]  # group 1's band, then group 2's, then no group
    assert critical(page) == ["t3"]  # no dependencies: the last to end, alone


def test_it_collapses_a_graph_past_the_node_limit_into_parallel_groups(signed_in, ingest):
    tasks = [{"id": f"t{i}", "title": f"Task {i}", "parallelGroup": i // 100,
              "dependencies": [f"t{i - 100}"] if i >= 100 else []} for i in range(350)]
    assert ingest.plan("wide", {"title": "Wide", "tasks": tasks}).status_code == 200
    assert ingest.start("wide-1", "wide", 350, T0).status_code == 201
    ingest.task("wide-1", "t0", result("failure", timestamp=T0 + MIN, error="x"))
    response = signed_in.get("/executions/wide-1")
    page = parse(response.content.decode())
    assert not page.select("#depgraph")
    groups = [n for n in page.one("#graph-card").elements() if "data-group" in n.attrs]
    assert [g.attrs["data-group"] for g in groups] == ["g0", "g1", "g2", "g3"]
    assert "350 tasks, shown by parallel group" in page.one("#graph-count").text()
    first = " ".join(n.text() for n in groups[0].elements() if n.tag == "text")
    assert "100 tasks" in first and "1 failed" in first and "99 running" in first
    group_edges = {(n.attrs["data-from"], n.attrs["data-to"]) for n in page.one("#graph-card").elements()
                   if "data-from" in n.attrs}
    assert group_edges == {("g0", "g1"), ("g1", "g2"), ("g2", "g3")}
    # A poll sends the groups that changed, not the card: t150's, and t250's (which it starts).
    ingest.task("wide-1", "t150", result(timestamp=T0 + 2 * MIN))
    body = poll(signed_in, page).content.decode()
    assert body.count('hx-swap-oob="innerHTML:#gg-') == 2 and 'id="graph-card"' not in body
    assert shown(page) == shown(page_of(signed_in, "wide-1"))


def test_it_draws_a_plans_graph_on_its_page(signed_in, ingest):
    assert ingest.plan("diamond", DIAMOND).status_code == 200
    page = parse(signed_in.get("/plans/diamond").content.decode())
    assert edges(page) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}
    assert [n.attrs["href"] for n in node(page, "d").elements() if n.tag == "a"] == ["#task-d"]
    assert status(page, "a") is None and critical(page) == []  # no run: no statuses, no critical path
    # The pager's fragment of the plan's history does not draw it again.
    fragment = signed_in.get("/plans/diamond?page=2", **HX).content.decode()
    assert "graph-card" not in fragment


def test_it_answers_the_execution_page_when_dot_is_missing(signed_in, ingest, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    start_diamond(ingest)
    monkeypatch.setenv("PATH", "/nonexistent")
    response = signed_in.get("/executions/run-1")
    assert response.status_code == 200
    assert "The graph cannot be drawn here: Graphviz is not installed" in response.content.decode()

