"""The compare page in real Chromium with the real htmx and the strict CSP (the `chromium` fixture
fails a test on any CSP report in the console): from an execution to the compare with the previous
run of its plan, the delta of a task that regressed, and its output diff loaded without a reload."""

from selenium.webdriver.common.by import By

from tests.support import compare


def _row_text(page, task_id: str, column: str) -> str:
    return page.js("const r = [...document.querySelectorAll('#compare-tasks tr[data-task-id]')]"
                   ".find(tr => tr.getAttribute('data-task-id') === arguments[0]);"
                   "return r.querySelector(`[data-col=${arguments[1]}]`).innerText.replace(/\\s+/g, ' ').trim()",
                   task_id, column)


def test_it_shows_the_delta_of_a_task_that_regressed_and_its_output_diff(page):
    compare.build(page)
    page.sign_in()
    page.open("/executions/run-2")
    page.css("#compare-previous a").click()
    page.wait_text("What changed", "#compare-summary")
    assert page.driver.current_url.endswith("/executions/compare?a=run-1&b=run-2")
    # unit regressed: it failed in b, its QC score fell 48 points and it took 20 s longer; each
    # change reads without colour (arrow, sign, the word).
    assert _row_text(page, "unit", "status") == "success → failure ⚠ newly failing"
    assert _row_text(page, "unit", "qc") == "88 → 40 ▼ −48 worse"
    assert _row_text(page, "unit", "duration") == "1m 00s → 1m 20s ▲ +20s worse"
    worse = page.css("#compare-tasks tr[data-task-id=unit] [data-col=qc] .delta-worse")
    # The colour repeats the words: vermilion for worse, another hue than better's blue.
    better = page.css("#compare-tasks tr[data-task-id=e2e] [data-col=qc] .delta-better")
    assert worse.value_of_css_property("color") != better.value_of_css_property("color")
    assert page.js("return [...document.querySelectorAll('#summary-newlyFailing li')]"
                   ".map(li => li.getAttribute('data-task-id'))") == ["unit"]
    page.js("window.__notReloaded = true;")
    page.css("#compare-tasks tr[data-task-id=unit] a.diff-link").click()
    page.wait_text("+3 failed <script>alert(1)</script>", "#output-diff")
    assert page.js("return window.__notReloaded") is True  # htmx swapped the diff in
    added = [e.text for e in page.csss("#output-diff .d-add")]
    assert added == ["+117 passed", "+3 failed <script>alert(1)</script>"]  # shown as text, never run
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#output-diff script")
    page.screenshot("compare-executions")
