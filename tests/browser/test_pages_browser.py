"""The pages in a real browser: sign-in, live updates and polling stop, drill-down, XSS, filters."""

import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from executions import clock
from tests.support import failure_report
from tests.support.pages import PLAN, result


def _poll_requests(page) -> int:
    return page.js(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('/poll?')).length"
    )


def _settled_poll_requests(page) -> int:
    """The poll requests made so far, once none is in flight (htmx marks a requesting element with
    the htmx-request class until its answer is in)."""
    page.wait_for(lambda d: not page.js("return document.querySelector('.htmx-request') !== null"), timeout=10)
    return _poll_requests(page)


def _poll_interval_seconds(page, css: str) -> float:
    """The polling period of an element, from its hx-trigger ("every 2s ...")."""
    trigger = page.css(css).get_attribute("hx-trigger")
    assert trigger and trigger.startswith("every "), trigger
    return float(trigger.split()[1].rstrip("s"))


def _count_vetoed_polls(page) -> None:
    """From now on, window.__vetoedPolls counts the polls that static/js/app.js refused to send
    (its htmx:confirm listener, registered first, has already decided when this one runs)."""
    page.js("""window.__vetoedPolls = 0;
               document.addEventListener('htmx:confirm', function (event) {
                 if (event.defaultPrevented && event.detail.elt.hasAttribute('data-poll-visible-only')) {
                   window.__vetoedPolls += 1;
                 }
               });""")


def test_it_updates_a_running_execution_in_place_and_stops_polling_once_finished(page):
    start = clock.now_ms() - 120_000
    page.plan("plan-live", PLAN)
    page.start("run-live", "plan-live", 4, start)
    page.task("run-live", "design", result("failure", error="schema rejected", timestamp=start + 30_000),
              task={"id": "design", "title": "Design the schema", "parallelGroup": 1})
    page.task("run-live", "api", result(timestamp=start + 60_000), task={"id": "api", "title": "Write the endpoints",
                                                                          "parallelGroup": 2})
    page.sign_in()
    page.open("/executions/run-live")
    page.wait_text("Write the endpoints")
    assert page.css("#live-poll").get_attribute("hx-trigger").startswith("every 2s")
    interval = _poll_interval_seconds(page, "#live-poll")
    page.screenshot("execution-running")

    # Open a <details>, scroll, and mark the window: none of it may be lost by the live update.
    page.css("#error-design summary").click()
    assert page.css("#error-design").get_attribute("open") is not None
    page.driver.set_window_size(1280, 500)
    page.js("window.scrollTo(0, 200); window.__notReloaded = true;")
    scroll_before = page.js("return window.scrollY")
    assert scroll_before > 0

    page.task("run-live", "docs", result(output="Docs written", timestamp=clock.now_ms()),
              task={"id": "docs", "title": "Write the docs live", "parallelGroup": 2})
    page.wait_text("Write the docs live", "#live", timeout=10)
    assert page.js("return window.__notReloaded") is True
    assert page.css("#error-design").get_attribute("open") is not None
    assert abs(page.js("return window.scrollY") - scroll_before) < 5
    assert "2 successful, 1 failed, 1 pending of 4" in page.css("#live svg.progress").get_attribute("aria-label")

    page.finish("run-live", clock.now_ms())
    page.wait_for(EC.presence_of_element_located((By.CSS_SELECTOR, "#live .badge-failed")), timeout=10)
    assert page.css("#live-poll").get_attribute("hx-trigger") is None
    polls = _settled_poll_requests(page)
    # Nothing happens when polling has stopped, so only watching for it can tell: for two and a half
    # of the intervals it polled at.
    time.sleep(2.5 * interval)
    assert _poll_requests(page) == polls, "the page kept polling after the execution finished"
    assert page.js("return window.__notReloaded") is True
    page.driver.set_window_size(1280, 900)
    page.screenshot("execution-finished")
    page.screenshot("execution-finished-phone", width=390)


def test_it_shows_a_failed_tasks_qc_and_diff_and_renders_injected_html_harmlessly(page):
    start = clock.now_ms() - 600_000
    page.start("run-qc", "plan-qc", 1, start)
    page.task("run-qc", "report", result(
        "failure", attemptNumber=1, timestamp=start + 60_000, error="QC rejected the report",
        prompt="Write the quarterly report", agentRoleDescription="Financial analyst",
        output="# Quarterly report\n\nRevenue grew.\nNo numbers yet.\n",
        qcVerification={"passed": False, "score": 45, "feedback": "Missing figures",
                        "issues": ["No revenue figures", "No sources"], "requiredFixes": ["Add the Q3 figures"]},
    ), task={"id": "report", "title": "Quarterly report", "qcRole": "Strict financial reviewer"})
    hostile = ("# Quarterly report\n\nRevenue grew **12%**.\n\n<script>window.__xss=1</script>\n\n"
               "<img src=x onerror=\"window.__xss=1\">\n\n[details](javascript:window.__xss=1)\n")
    page.task("run-qc", "report", result(
        "failure", attemptNumber=2, timestamp=start + 120_000, error="Still missing sources",
        prompt="Write the quarterly report with figures", agentRoleDescription="Financial analyst",
        output=hostile,
        qcVerification={"passed": False, "score": 70, "feedback": "Better", "issues": ["No sources"],
                        "requiredFixes": ["Cite the ledger"]},
    ))
    page.finish("run-qc", start + 180_000)
    page.sign_in()
    page.open("/executions/run-qc")
    row = page.css("tr#task-report")
    assert "task-failure" in row.get_attribute("class")
    row.find_element(By.LINK_TEXT, "Quarterly report").click()
    page.wait_text("Cite the ledger")

    body = page.css("body").text
    assert "No sources" in body and "Add the Q3 figures" in body and "Strict financial reviewer" in body
    assert page.js("return typeof window.__xss") == "undefined"
    markdown = page.css("section.card .markdown")
    assert "<script>window.__xss=1</script>" in markdown.text  # shown as text
    assert markdown.find_elements(By.TAG_NAME, "script") == [] and markdown.find_elements(By.TAG_NAME, "img") == []
    assert page.csss(".markdown a[href^='javascript']") == []
    assert markdown.find_element(By.TAG_NAME, "strong").text == "12%"
    # Attempts newest first, each with its verdict; the diff shows what changed since attempt 1.
    attempts = [a.get_attribute("id") for a in page.csss("article.attempt")]
    assert attempts == ["attempt-2", "attempt-1"]
    removed = [el.text for el in page.csss("#diff-2 .d-del")]
    added = [el.text for el in page.csss("#diff-2 .d-add")]
    assert "-Revenue grew." in removed and "+Revenue grew **12%**." in added
    # The raw text toggle shows the exact output.
    page.css("#output-latest-raw summary").click()
    assert "onerror=\"window.__xss=1\"" in page.css("#output-latest-raw pre").text
    assert page.js("return typeof window.__xss") == "undefined"
    page.screenshot("task-drilldown")
    page.screenshot("task-drilldown-phone", width=390)
    assert page.js("return typeof window.__xss") == "undefined"


def test_it_filters_the_list_through_the_url_and_the_back_button_restores_it(page):
    start = clock.now_ms() - 3_600_000
    for i, (eid, plan, failed) in enumerate([("nightly-build", "ci", False), ("release-train", "release", True),
                                              ("nightly-tests", "ci", False)]):
        page.start(eid, plan, 1, start + i * 60_000)
        page.task(eid, "t", result("failure" if failed else "success", timestamp=start + i * 60_000 + 30_000),
                  task={"id": "t", "title": f"Step of {eid}"})
        page.finish(eid, start + i * 60_000 + 40_000)
    page.sign_in()
    page.open("/")
    page.wait_text("release-train", "#executions-table")
    page.screenshot("executions-list")
    page.screenshot("executions-list-phone", width=390)

    Select(page.css("#id_status")).select_by_value("failed")
    page.wait_for(lambda d: "status=failed" in d.current_url)
    page.wait_for(lambda d: "nightly-build" not in page.css("#executions-table").text)
    assert "release-train" in page.css("#executions-table").text

    Select(page.css("#id_status")).select_by_value("")
    page.css("#id_q").send_keys("nightly")
    page.wait_for(lambda d: "q=nightly" in d.current_url)
    page.wait_for(lambda d: "release-train" not in page.css("#executions-table").text)
    assert "nightly-tests" in page.css("#executions-table").text

    page.driver.back()
    page.wait_for(lambda d: "q=nightly" not in d.current_url)
    page.driver.back()
    page.wait_for(lambda d: "status=failed" in d.current_url)
    page.wait_for(lambda d: "nightly-build" not in page.css("#executions-table").text)
    assert "release-train" in page.css("#executions-table").text
    # A shared URL opens filtered.
    page.open("/?q=release")
    assert [a.text for a in page.csss("#executions-table td.id-cell a")] == ["release-train"]


def test_it_shows_a_new_execution_on_the_list_without_a_reload(page):
    page.sign_in()
    page.open("/")
    page.wait_text("No executions yet")
    page.screenshot("executions-empty")
    page.js("window.__notReloaded = true")
    # Polls while nothing changed are answered 204: the table element is not swapped...
    page.js("document.getElementById('executions-table').__unchanged = true")
    list_polls = ("return performance.getEntriesByType('resource').filter(e => e.initiatorType === 'xmlhttprequest'"
                  " && new URL(e.name).pathname === '/').map(e => e.responseStatus)")
    page.wait_for(lambda d: len(page.js(list_polls)) >= 1, timeout=2 * _poll_interval_seconds(page, "#executions-table") + 2)
    assert set(page.js(list_polls)) == {204}
    assert page.js("return document.getElementById('executions-table').__unchanged") is True
    # ...and polling goes on after them.
    page.start("brand-new-run", "ci", 2, clock.now_ms())
    page.wait_text("brand-new-run", "#executions-table", timeout=12)
    assert page.js("return window.__notReloaded") is True


def test_it_renders_every_page_without_sideways_scrolling_on_a_phone(page):
    start = clock.now_ms() - 900_000
    page.plan("plan-a", PLAN)
    page.start("run-1", "plan-a", 3, start)
    for i, task in enumerate(PLAN["tasks"]):
        page.task("run-1", task["id"], result(timestamp=start + (i + 1) * 120_000, output=f"Output of {task['id']}"),
                  task=task)
    page.finish("run-1", start + 400_000)
    page.open("/accounts/login/")
    page.screenshot("login")
    page.sign_in()
    for name, path in [("plans", "/plans"), ("plan", "/plans/plan-a"), ("not-found", "/executions/nope"),
                       ("execution-completed", "/executions/run-1"), ("executions-list-one", "/"),
                       ("task", "/executions/run-1/tasks/api")]:
        page.open(path)
        page.screenshot(name)
        page.driver.set_window_size(390, 844)
        overflow = page.js("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways on a phone by {overflow}px"
        tables = page.js("return [...document.querySelectorAll('.table-scroll')].map(e => e.scrollWidth - e.clientWidth)")
        assert all(extra <= 1 for extra in tables), f"a table on {path} scrolls sideways on a phone: {tables}"
        page.screenshot(f"{name}-phone", width=390)
    page.open("/plans/plan-a")
    assert "Write the endpoints" in page.css("body").text and "run-1" in page.css("#plan-history").text


def test_it_pauses_polling_while_the_tab_is_hidden(page):
    start = clock.now_ms() - 60_000
    page.start("run-hidden", "plan-h", 3, start)
    page.sign_in()
    page.open("/executions/run-hidden")
    page.wait_for(lambda d: _poll_requests(page) >= 1, timeout=10)
    # The page believes its tab is hidden: no poll goes out.
    page.js("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});")
    polls = _settled_poll_requests(page)
    _count_vetoed_polls(page)
    # Two of its polls came due while hidden, and neither was sent.
    page.wait_for(lambda d: page.js("return window.__vetoedPolls") >= 2, timeout=4 * _poll_interval_seconds(page, "#live-poll"))
    assert _poll_requests(page) == polls, "the page polled while its tab was hidden"
    # Visible again: polling resumes and picks up what happened meanwhile.
    page.task("run-hidden", "a", result(timestamp=clock.now_ms()), task={"id": "a", "title": "Done while hidden"})
    page.js("Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});")
    page.wait_text("Done while hidden", "#live", timeout=10)
    assert _poll_requests(page) > polls


def test_it_filters_the_failure_report_through_the_url_and_exports_the_same_rows_as_csv(page):
    failure_report.build(page)
    page.sign_in()
    page.open("/reports/failures?started_from=2025-11-03&started_to=2025-11-06")
    page.wait_text("Connection to db-")
    page.screenshot("failure-report")
    page.screenshot("failure-report-phone", width=390)
    assert page.js("return document.querySelector('svg') !== null")

    # Choosing a plan re-renders the report in place and puts the filter in the URL.
    page.js("window.__notReloaded = true")
    Select(page.css("#id_plan")).select_by_value("docs")
    page.wait_for(lambda d: "plan=docs" in d.current_url, timeout=10)
    page.wait_for(lambda d: "Connection to db-" not in page.css("#failure-report").text, timeout=10)
    assert page.js("return window.__notReloaded") is True
    assert "QC rejected output" in page.css("#failure-report").text

    # The CSV link carries the same filters; fetched with the browser's session it holds the same failures.
    link = page.css("a[download]").get_attribute("href")
    assert "plan=docs" in link and "started_from=2025-11-03" in link
    cookies = {c["name"]: c["value"] for c in page.driver.get_cookies()}
    csv_text = requests.get(link, cookies=cookies, timeout=10).text
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith("executionId,planId,taskId")
    assert rows[1:] and all(",docs," in row for row in rows[1:])
    assert not any(",etl," in row for row in rows[1:])


def test_it_marks_a_quiet_execution_stale_on_the_list_when_the_apps_clock_moves_on(page, frozen_clock, settings):
    # The live server runs in this process: the stopped app clock is its clock too.
    page.start("quiet-run", "ci", 2, clock.now_ms() - 60_000)
    page.sign_in()
    page.open("/")
    page.wait_text("quiet-run", "#executions-table")
    assert page.csss("#executions-table .badge-stale") == []
    page.js("window.__notReloaded = true")
    frozen_clock.advance(seconds=settings.EXECUTION_STALE_AFTER_SECONDS + 1)
    # Nothing was posted: the next poll finds the table changed and swaps the badge in.
    page.wait_for(lambda d: page.csss("#execution-quiet-run .badge-stale"),
                  timeout=2 * _poll_interval_seconds(page, "#executions-table") + 2)
    assert page.js("return window.__notReloaded") is True
