"""The dependency graph in real Chromium with the real htmx and the strict CSP (the `chromium`
fixture fails a test on any CSP report in the console): a node turns from running to failed
through the live poll, without a reload and without moving; the critical path of a known run is
the expected chain, on the graph and on the timeline."""

from selenium.webdriver.common.by import By

from executions import clock
from tests.support.pages import result

MIN = 60_000
PLAN = {
    "title": "Release",
    "tasks": [
        {"id": "build", "title": "Build", "parallelGroup": 1},
        {"id": "unit", "title": "Unit tests", "parallelGroup": 2, "dependencies": ["build"]},
        {"id": "e2e", "title": "End-to-end tests", "parallelGroup": 2, "dependencies": ["build"]},
        {"id": "ship", "title": "Ship it", "parallelGroup": 3, "dependencies": ["unit", "e2e"]},
    ],
}


def _node_status(page, task_id: str) -> str | None:
    return page.js("const n = [...document.querySelectorAll('#depgraph [data-task-id]')]"
                   ".find(g => g.getAttribute('data-task-id') === arguments[0]);"
                   "const s = n && n.querySelector('[data-status]'); return s && s.getAttribute('data-status')",
                   task_id)


def _node_box(page, task_id: str) -> dict:
    """The node's place in the graph's drawing (the page above it may grow a line as stats change)."""
    return page.js("const n = [...document.querySelectorAll('#depgraph [data-task-id]')]"
                   ".find(g => g.getAttribute('data-task-id') === arguments[0]);"
                   "const r = n.getBoundingClientRect(), o = n.ownerSVGElement.getBoundingClientRect();"
                   "return {x: r.x - o.x, y: r.y - o.y}", task_id)


def test_it_turns_a_running_node_failed_without_a_reload(page):
    start = clock.now_ms() - 10 * MIN
    page.plan("release", PLAN)
    page.start("rel-1", "release", 4, start)
    page.task("rel-1", "build", result(timestamp=start + 2 * MIN, duration=2 * MIN))
    page.sign_in()
    page.open("/executions/rel-1")
    page.wait_for(lambda d: _node_status(page, "unit") == "running")
    assert _node_status(page, "build") == "success" and _node_status(page, "ship") == "pending"
    page.js("window.__notReloaded = true;")
    before = _node_box(page, "unit")
    # The node is drawn in the SVG namespace (not an unknown HTML element): it has a box on screen.
    assert page.js("return document.querySelector('#depgraph [data-task-id] rect').namespaceURI") == \
        "http://www.w3.org/2000/svg"

    page.task("rel-1", "unit", result("failure", timestamp=start + 4 * MIN, duration=2 * MIN, error="3 failed"))
    page.wait_for(lambda d: _node_status(page, "unit") == "failed", timeout=15)
    assert page.js("return window.__notReloaded") is True
    assert _node_box(page, "unit") == before  # the layout did not move
    # The swapped node is SVG still, drawn with the failed style, and links to the task's page.
    assert page.js("const s = [...document.querySelectorAll('#depgraph [data-task-id]')]"
                   ".find(g => g.getAttribute('data-task-id') === 'unit').querySelector('rect.dg-box');"
                   "return [s.namespaceURI, getComputedStyle(s).strokeWidth]") == ["http://www.w3.org/2000/svg", "2px"]
    link = page.js("return [...document.querySelectorAll('#depgraph [data-task-id]')]"
                   ".find(g => g.getAttribute('data-task-id') === 'unit').querySelector('a').getAttribute('href')")
    assert link == "/executions/rel-1/tasks/unit"
    assert _node_status(page, "ship") == "pending"
    page.screenshot("execution-graph-live")


def test_it_highlights_the_critical_path_of_a_finished_run(page):
    start = clock.now_ms() - 30 * MIN
    page.plan("release", PLAN)
    page.start("rel-2", "release", 4, start)
    page.task("rel-2", "build", result(timestamp=start + 2 * MIN, duration=2 * MIN))
    page.task("rel-2", "unit", result(timestamp=start + 4 * MIN, duration=2 * MIN))
    page.task("rel-2", "e2e", result(timestamp=start + 12 * MIN, duration=10 * MIN))  # the slow one
    page.task("rel-2", "ship", result(timestamp=start + 13 * MIN, duration=MIN))
    page.finish("rel-2", start + 14 * MIN)
    page.sign_in()
    page.open("/executions/rel-2")
    chain = page.js("return [...document.querySelectorAll('#critical-path li')].map(li => li.getAttribute('data-task-id'))")
    assert chain == ["build", "e2e", "ship"]
    overlay = page.js("return [...document.querySelectorAll('#graph-critical rect')].map(r => r.getAttribute('data-task-id'))")
    assert overlay == chain
    # Drawn: the overlay's outline has a stroke and a box on screen.
    assert page.js("const r = document.querySelector('#graph-critical rect'); "
                   "return getComputedStyle(r).stroke !== 'none' && r.getBoundingClientRect().width > 100")
    bars = page.js("return [...document.querySelectorAll('#timeline-rows rect.tl-critical')]"
                   ".map(r => r.closest('[data-bar]').querySelector('.tl-label a').textContent)")
    assert sorted(bars) == ["build", "e2e", "ship"]  # posted without their titles: the timeline shows ids
    assert "waited 8m 00s on e2e" in page.css("#critical-path").text
    page.css("#graph-card").find_element(By.CSS_SELECTOR, "svg")
    page.screenshot("execution-graph-critical-path")
