"""A task across its plan's runs in real Chromium under the strict CSP (the `chromium` fixture
fails a test on any CSP report): the charts are SVG drawn with the stylesheet's classes, outliers
stand apart by shape and in words, and each run links its task page."""

from selenium.webdriver.common.by import By

from tests.support import history
from tests.support.history import RETRIED_RUN, SLOW_RUN, run_id


class _Events:
    """history.seed's `ingest.events`, over the browser page's real HTTP."""

    def __init__(self, page):
        self.page = page

    def events(self, events):
        return self.page.post("/events", {"events": events})


def test_it_draws_the_history_charts_and_marks_outliers_by_shape_and_text(page):
    history.seed(_Events(page))
    page.sign_in()
    page.open("/plans/etl")
    page.driver.find_element(By.CSS_SELECTOR, 'a.history-link[href="/plans/etl/tasks/extract"]').click()
    page.wait_text("Extract the rows", "h1")
    charts = page.csss("figure.history-chart svg")
    assert len(charts) == 4
    assert page.js("return arguments[0].namespaceURI", charts[0]) == "http://www.w3.org/2000/svg"
    # The stylesheet reached the SVG (no inline style is allowed): an outlier square is filled
    # differently from an ordinary point, and the chart has a size on screen.
    fills = page.js("const f = s => getComputedStyle(document.querySelector(s)).fill;"
                    "return [f('[data-field=durationMs] rect.point.outlier'), f('[data-field=durationMs] circle.point')]")
    assert fills[0] != fills[1]
    assert page.js("return document.querySelector('figure.history-chart svg').getBoundingClientRect().width") > 100
    squares = [e.get_attribute("data-execution-id")
               for e in page.csss("[data-field=durationMs] rect.point.outlier")]
    assert squares == [run_id(SLOW_RUN)]
    page.screenshot("task-history")
    row = page.css(f'tr[data-execution-id="{run_id(RETRIED_RUN)}"]')
    assert row.text.count("high outlier") == 2
    row.find_element(By.CSS_SELECTOR, "a").click()
    page.wait_for(lambda d: d.current_url.endswith(f"/executions/{run_id(RETRIED_RUN)}/tasks/extract"))
    page.wait_text("this task across the plan's runs")
