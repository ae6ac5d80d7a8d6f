"""The live page in a real browser, with the real htmx: a poll that sees a change inserts the new
task's row and bar in their places and moves a changed one, without a reload, and its answer is
small however many tasks the execution has."""

from executions import clock
from tests.support.pages import result


def _row_ids(page) -> list[str]:
    return page.js("return [...document.querySelectorAll('#task-rows > tr')].map(r => r.id)")


def _bar_titles(page) -> list[str]:
    return page.js("return [...document.querySelectorAll('#timeline-rows .tl-label a')].map(a => a.textContent)")


def _changed_polls(page) -> list[dict]:
    """The poll requests that brought a body (a 204 has none), with their body sizes."""
    return page.js("return performance.getEntriesByType('resource').filter(e => e.name.includes('/poll?'))"
                   ".filter(e => e.encodedBodySize > 0).map(e => ({url: e.name, bytes: e.encodedBodySize}))")


def test_it_inserts_and_moves_rows_in_place_with_small_polls(page):
    start = clock.now_ms() - 3_600_000
    total = 300
    page.start("run-big", "plan-big", total + 1, start)
    events = [{"type": "task_result", "executionId": "run-big", "taskId": f"t{i:03d}",
               "task": {"id": f"t{i:03d}", "title": f"Task {i:03d} " + "x" * 1500, "parallelGroup": i % 4},
               "result": result(timestamp=start + (i + 1) * 10_000, duration=8_000)} for i in range(total)]
    for first in range(0, total, 100):  # batches a loaded machine writes within the client's timeout
        page.post("/events", {"events": events[first:first + 100]})
    page.sign_in()
    page.open("/executions/run-big")
    page.wait_text("Task 299", "#task-rows")
    page.js("window.__notReloaded = true;")
    assert _row_ids(page)[:2] == ["task-t000", "task-t001"]
    page_bytes = page.js("return performance.getEntriesByType('navigation')[0].encodedBodySize")

    # A new task that started between t009 and t010 (bars are ordered by start) and ended last.
    page.task("run-big", "new-one", result(timestamp=start + 4_000_000, duration=4_000_000 - 95_000),
              task={"id": "new-one", "title": "The new one", "parallelGroup": 1})
    page.wait_text("The new one", "#task-rows", timeout=15)
    assert _row_ids(page)[-1] == "task-new-one" and len(_row_ids(page)) == total + 1
    titles = _bar_titles(page)
    assert titles.index("The new one") == 10 and len(titles) == total + 1
    assert "301 reported" in page.css("#tasks-count").text

    # An existing task gets a failed retry that ends last: its row moves to the end, updated.
    page.task("run-big", "t005", result("failure", attemptNumber=2, timestamp=start + 4_100_000, duration=1_000,
                                        error="retry failed"))
    page.wait_for(lambda d: _row_ids(page)[-1] == "task-t005", timeout=15)
    assert _row_ids(page).count("task-t005") == 1 and len(_row_ids(page)) == total + 1
    assert "task-failure" in page.css("#task-rows > tr:last-child").get_attribute("class")
    assert "1 failed" in page.css("#live-head").text
    # The bars were placed again for the run's longer span: the last bar ends at the right edge.
    last = page.js("const r = [...document.querySelectorAll('#timeline-rows rect')]"
                   ".map(b => parseFloat(b.getAttribute('x')) + parseFloat(b.getAttribute('width')));"
                   "return Math.max(...r)")
    assert 99 <= last <= 100.5, last
    first_bar = page.js("return parseFloat(document.querySelector('#timeline-rows rect').getAttribute('width'))")
    assert first_bar < 1, first_bar  # 8 s of a run of over an hour
    assert page.js("return window.__notReloaded") is True

    polls = _changed_polls(page)
    assert len(polls) >= 2, polls
    assert max(p["bytes"] for p in polls) < 10_000, (polls, page_bytes)
    assert page_bytes > 50 * max(p["bytes"] for p in polls)
    page.screenshot("execution-live-large")
