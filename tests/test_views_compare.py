"""The compare page (/executions/compare?a=&b=) through Django's full stack against the real Neo4j:
each task's values and deltas, the summary of what got better or worse, the output diff (whole
page and htmx fragment), the link from an execution page, and a friendly page for bad input."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.support import compare
from tests.support.live_dom import parse
from tests.support.pages import T0, result

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def runs(shared_graph, ingest):
    shared_graph.use("compare-runs", lambda: compare.build(ingest))


def _page(client, **params):
    response = client.get("/executions/compare", params)
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def _row(page, task_id: str):
    return next(n for n in page.one("#compare-tasks").elements()
                if n.tag == "tr" and n.attrs.get("data-task-id") == task_id)


def _words(node) -> str:
    """The node's text, white space collapsed, with a space where an element (a <br>) separates it."""
    def pieces(n):
        for child in n.children:
            yield from (child,) if isinstance(child, str) else (" ", *pieces(child), " ")
    return " ".join("".join(pieces(node)).split())


def _cell(page, task_id: str, column: str) -> str:
    return _words(next(n for n in _row(page, task_id).elements() if n.attrs.get("data-col") == column))


def _section(page, key: str) -> list[str]:
    section = page.one(f"#summary-{key}")
    return [n.attrs["data-task-id"] for n in section.elements() if n.tag == "li"]


def test_it_sends_anonymous_visitors_to_the_sign_in_page(client):
    response = client.get("/executions/compare?a=run-1&b=run-2")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_it_shows_each_tasks_values_and_deltas_with_arrow_sign_and_words(signed_in, runs):
    page = _page(signed_in, a="run-1", b="run-2")
    assert _cell(page, "unit", "status") == "success → failure ⚠ newly failing"
    assert _cell(page, "unit", "qc") == "88 → 40 ▼ −48 worse"
    assert _cell(page, "unit", "duration") == "1m 00s → 1m 20s ▲ +20s worse"
    assert _cell(page, "e2e", "status") == "failure → success ✓ fixed"
    assert _cell(page, "e2e", "qc") == "30 → 85 ▲ +55 better"
    assert _cell(page, "lint", "attempts") == "1 → 2 ▲ +1 worse"
    assert _cell(page, "perf", "tokens") == "1.2k → 5k ▲ +3.8k worse"
    assert _cell(page, "build", "tokens") == "1.2k → 1.2k = same"
    assert _cell(page, "build", "qc") == "90 → 90 = same"
    # No QC ran on lint's latest attempt in a: nothing to compare, not a score of 0.
    assert _cell(page, "lint", "qc") == "— → — —"
    # The tasks only in one run: their side is empty, and nothing is a delta.
    assert _cell(page, "docs", "status") == "success → —" and _cell(page, "docs", "tokens") == "1.2k → — —"
    assert _cell(page, "ship", "attempts") == "— → 1 —"
    assert _row(page, "ship").attrs["data-presence"] == "b" and "only in b" in _row(page, "ship").text()
    # Each task links to its page in b (in a when it ran only there).
    links = {t: next(n.attrs["href"] for n in _row(page, t).elements() if n.tag == "a") for t in ("unit", "docs")}
    assert links == {"unit": "/executions/run-2/tasks/unit", "docs": "/executions/run-1/tasks/docs"}


def test_it_summarises_what_got_better_or_worse_as_the_failure_report_does(signed_in, runs):
    page = _page(signed_in, a="run-1", b="run-2")
    assert {key: _section(page, key) for key in ("newlyFailing", "fixed", "qcDown", "qcUp", "moreAttempts",
                                                  "fewerAttempts", "tokensUp", "tokensDown", "onlyInA", "onlyInB")} == {
        "newlyFailing": ["unit"], "fixed": ["e2e"], "qcDown": ["unit"], "qcUp": ["e2e"], "moreAttempts": ["lint"],
        "fewerAttempts": [], "tokensUp": ["perf"], "tokensDown": [], "onlyInA": ["docs"], "onlyInB": ["ship"]}
    worse = " ".join(page.one("#summary-newlyFailing").text().split())
    assert worse.startswith("⚠ worse Newly failing 1") and "success → failure" in worse
    assert " ".join(page.one("#summary-qcDown").text().split()).endswith("QC 88 → 40")
    runs_table = _words(page.one("#compare-runs"))
    assert "Tasks failed 1 1 = same" in runs_table  # e2e failed in a, unit in b
    assert re.search(r"Duration 8m 00s 9m 00s ▲ \+1m 00s worse", runs_table), runs_table


def test_it_shows_a_tasks_output_diff_escaped_in_the_page_and_as_an_htmx_fragment(signed_in, runs, cypher_calls):
    html = signed_in.get("/executions/compare", {"a": "run-1", "b": "run-2", "task": "unit"}).content.decode()
    diff = parse(html).one("#output-diff")
    lines = [n.text() for n in diff.elements() if n.tag == "span" and "d" in (n.attrs.get("class") or "").split()]
    assert lines == ["--- run-1", "+++ run-2", "@@ -1 +1,2 @@", "-120 passed", "+117 passed",
                     "+3 failed <script>alert(1)</script>"]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(cypher_calls) == 1  # the page and the diff: one statement
    del cypher_calls[:]
    fragment = signed_in.get("/executions/compare", {"a": "run-1", "b": "run-2", "task": "unit"}, **HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment["Vary"]
    text = fragment.content.decode()
    assert text.lstrip().startswith('<section class="card" id="output-diff">') and "compare-tasks" not in text
    assert "+1" in text and "−1" in text and "&lt;script&gt;" in text
    assert len(cypher_calls) == 1 and "HAS_TASK_EXECUTION" in cypher_calls[0]


def test_it_links_only_changed_outputs_to_their_diff(signed_in, runs):
    page = _page(signed_in, a="run-1", b="run-2")
    link = next(n for n in _row(page, "unit").elements() if n.attrs.get("class") == "diff-link")
    assert link.attrs["href"] == "?a=run-1&b=run-2&task=unit#output-diff"
    assert link.attrs["hx-get"] == "?a=run-1&b=run-2&task=unit"
    body = next(n for n in page.one("#compare-tasks").elements() if n.tag == "tbody")
    assert body.attrs["hx-target"] == "#output-diff"  # inherited by every row's link
    assert _cell(page, "build", "output") == "same" and _cell(page, "ship", "output") == "—"


def test_the_diff_of_a_task_in_one_run_or_in_neither_says_so(signed_in, runs):
    ship = _page(signed_in, a="run-1", b="run-2", task="ship").one("#output-diff").text()
    assert "ran only in b (run-2)" in " ".join(ship.split())
    none = _page(signed_in, a="run-1", b="run-2", task="nope").one("#output-diff").text()
    assert "Neither execution ran a task nope" in " ".join(none.split())


def test_it_reads_the_page_with_one_statement(signed_in, runs, cypher_calls):
    _page(signed_in, a="run-1", b="run-2")
    assert len(cypher_calls) == 1


@pytest.mark.parametrize(("params", "status", "says"), [
    ({}, 400, ["a: choose an execution", "b: choose an execution"]),
    ({"a": "run-1"}, 400, ["b: choose an execution"]),
    ({"a": "run-1", "b": ""}, 400, ["b: choose an execution"]),
    ({"a": "run-1", "b": "run-1"}, 400, ["b: must be another execution than a"]),
    ({"a": "run 1", "b": "run-2"}, 400, ["a: is not an id"]),
    ({"a": "run-1", "b": "x" * 201}, 400, ["b: is not an id"]),
    ({"a": "run-1", "b": "run-2", "task": "a b"}, 400, ["task: is not an id"]),
    ({"a": "nope", "b": "run-2"}, 404, ["a: no such execution (nope)"]),
    ({"a": "run-1", "b": "nope"}, 404, ["b: no such execution (nope)"]),
    ({"a": "nope", "b": "nope-2", "task": "unit"}, 404, ["a: no such execution", "b: no such execution"]),
], ids=lambda v: None if isinstance(v, (dict, list)) else str(v))
def test_it_answers_a_friendly_page_naming_the_parameter_for_bad_input(signed_in, runs, params, status, says):
    for headers in ({}, HX):  # the diff fragment's request too
        response = signed_in.get("/executions/compare", params, **headers)
        assert response.status_code == status, response.content
        page = parse(response.content.decode())
        problems = " ".join(page.one("#compare-problems").text().split())
        assert all(s in problems for s in says), problems
        # The form to pick two executions, filled in with what was sent.
        form = page.one("#compare-picker")
        values = {n.attrs["name"]: n.attrs.get("value") for n in form.elements() if n.tag == "input"}
        assert values == {"a": params.get("a", ""), "b": params.get("b", "")}


def test_it_escapes_ids_and_titles_everywhere(signed_in, ingest):
    for eid, start in (("<i>a", T0), ("b&c#d", T0 + 1000)):
        assert ingest.start(eid, "p", 1, start).status_code == 201
        body = result(output=f"out of {eid}")
        assert ingest.task(eid, "t<1>", body, task={"id": "t<1>", "title": "<b>bold</b>"}).status_code == 201
    html = signed_in.get("/executions/compare", {"a": "<i>a", "b": "b&c#d", "task": "t<1>"}).content.decode()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<i>a" not in html and "--- &lt;i&gt;a" in html
    # The diff link keeps every id whole in its query string.
    assert f'href="?a={quote("<i>a", safe="")}&amp;b={quote("b&c#d", safe="")}&amp;task={quote("t<1>", safe="")}#output-diff"' in html


def test_an_execution_page_links_to_the_compare_with_the_previous_run_of_its_plan(signed_in, runs):
    html = signed_in.get("/executions/run-2").content.decode()
    link = parse(html).one("#compare-previous")
    href = next(n.attrs["href"] for n in link.elements() if n.tag == "a")
    assert href == "/executions/compare?a=run-1&b=run-2"
    assert "Compare with the previous run of this plan" in link.text() and "run-1" in link.text()
    assert signed_in.get(href).status_code == 200
    # The first run has none before it: no link.
    assert 'id="compare-previous"' not in signed_in.get("/executions/run-1").content.decode()


def test_the_previous_runs_link_encodes_ids_that_need_it(signed_in, ingest):
    for eid, start in (("n#1&x", T0), ("n?2", T0 + 1000)):
        assert ingest.start(eid, "p", 1, start).status_code == 201
    html = signed_in.get(f"/executions/{quote('n?2', safe='')}").content.decode()
    href = next(n.attrs["href"] for n in parse(html).one("#compare-previous").elements() if n.tag == "a")
    assert href == f"/executions/compare?a={quote('n#1&x', safe='')}&b={quote('n?2', safe='')}"
    page = _page(signed_in, a="n#1&x", b="n?2")
    assert [n.text() for n in page.one("#compare-runs").elements() if n.tag == "a"] == ["n#1&x", "n?2"]


@pytest.mark.parametrize("task_id", ["t<1>", "a#b?c&d", "ünï:cödé", "x%2Fy", "(a)!$*'+,;=~@"])
def test_its_task_links_are_those_reverse_makes(task_id):
    from django.urls import reverse

    from executions import comparison

    assert comparison.task_urls("e#1")(task_id) == reverse("executions:task", args=["e#1", task_id])


def test_an_execution_whose_id_is_compare_keeps_its_page_at_that_url(signed_in, ingest):
    assert "choose an execution" in signed_in.get("/executions/compare").content.decode()  # none yet: the form
    assert ingest.start("compare", "p", 1, T0).status_code == 201
    assert ingest.task("compare", "t", result(output="x")).status_code == 201
    page = signed_in.get("/executions/compare")
    assert page.status_code == 200 and 'id="live-poll"' in page.content.decode()
    assert '<h1 class="mono-title">compare</h1>' in page.content.decode()
    assert signed_in.get("/executions/compare/tasks/t").status_code == 200
