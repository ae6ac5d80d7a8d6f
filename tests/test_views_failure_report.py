"""The failure report page and its CSV export through Django's full stack (real HTTP, real Neo4j)."""

import csv
import io
import re

import pytest

from tests.support.failure_report import at, build

URL = "/reports/failures"
CSV_URL = "/reports/failures.csv"
RANGE = "started_from=2025-11-03&started_to=2025-11-06"  # days 0-3 of the dataset, both included
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(signed_in):
    return signed_in


@pytest.fixture
def dataset(shared_graph, ingest):
    # Read by most tests here and in the other failure-report module: built once for them all.
    shared_graph.use("failure-report", lambda: build(ingest))


def _stat(html: str, name: str) -> str:
    match = re.search(rf'data-stat="{name}"[^>]*>([^<]*)<', html)
    assert match, name
    return match.group(1)


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _filter_form(html: str) -> str:
    start = html.index('<form class="filters')
    return html[start:html.index("</form>", start)]


def _fail(ingest, eid, task_id, error, *, start, plan="p", issues=(), title=None):
    assert ingest.start(eid, plan, 1, start).status_code == 201
    result = {"status": "failure", "duration": 1000, "tokens": {"input": 10, "output": 5}, "error": error, "timestamp": start + 60_000}
    if issues:
        result["qcVerification"] = {"passed": False, "score": 10, "feedback": "", "issues": list(issues), "requiredFixes": []}
    task = {"id": task_id, "title": title} if title else None
    assert ingest.task(eid, task_id, result, task=task).status_code == 201
    assert ingest.finish(eid, start + 120_000).status_code == 201


@pytest.mark.parametrize("url", [URL, CSV_URL])
def test_it_sends_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_it_shows_the_rates_rework_and_retries_of_the_range(browser, dataset):
    response = browser.get(f"{URL}?{RANGE}")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("<!doctype html>") and "<title>Failure report" in html
    assert _stat(html, "task-failure-rate") == "36.4%"  # 4 of 11
    assert _stat(html, "execution-failure-rate") == "60%"  # 3 of 5 finished
    assert _stat(html, "rework-tokens") == "570"
    assert "50% of 1.1k" in html  # 570 of 1,140 tokens
    assert _stat(html, "retried") == "2"
    assert "4 of 11 task executions failed" in html and "3 of 5 finished executions failed (6 started)" in html


def test_it_draws_the_trend_as_an_inline_svg_with_a_data_table(browser, dataset):
    html = browser.get(f"{URL}?{RANGE}").content.decode()
    assert "Failure rate per day" in html
    svg = html[html.index("<svg"): html.index("</svg>")]
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 8
    assert "Nov 4: task executions failed 50% (2 of 4)" in svg
    rows = re.findall(r'<tr data-bucket="([\d-]+)">(.*?)</tr>', html)
    assert [day for day, _ in rows] == ["2025-11-03", "2025-11-04", "2025-11-05", "2025-11-06"]
    cells = [re.findall(r">([^<>]*)</td>", row) for _, row in rows]
    assert cells[2] == ["2025-11-05", "3", "1", "33.3%", "1", "0", "0%", "110"]
    # No chart library, no CDN: the only scripts are the site's own.
    assert all(src.startswith("/static/") for src in re.findall(r'<script[^>]*src="([^"]+)"', html))


def test_it_breaks_the_trend_line_where_nothing_finished(browser, dataset):
    html = browser.get(f"{URL}?started_from=2025-11-03&started_to=2025-11-13").content.decode()
    svg = html[html.index("<svg"): html.index("</svg>")]
    # Days 0-3 and day 10 have data, days 4-9 none: one line per series, the lone day a dot.
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 10


def test_it_switches_to_weekly_buckets_for_a_long_range(browser, dataset):
    html = browser.get(f"{URL}?started_from=2025-10-31&started_to=2025-12-12").content.decode()
    assert "Failure rate per week" in html
    assert re.findall(r'<tr data-bucket="([\d-]+)">', html) == [
        "2025-10-27", "2025-11-03", "2025-11-10", "2025-11-17", "2025-11-24", "2025-12-01", "2025-12-08",
    ]


def test_it_groups_failures_and_links_each_group_to_its_task_executions(browser, dataset):
    html = browser.get(f"{URL}?{RANGE}").content.decode()
    by_error = html[html.index('id="by-error"'): html.index('id="by-task"')]
    assert "Connection to db-&lt;n&gt; refused after &lt;n&gt; retries" in by_error
    assert "2 variants" in by_error
    assert by_error.index('href="/executions/e2/tasks/load"') < by_error.index('href="/executions/e1/tasks/load"')
    by_task = html[html.index('id="by-task"'): html.index('id="by-plan"')]
    assert re.search(r"Load warehouse.*?<td class=\"num\">2</td>\s*<td class=\"num\">3</td>\s*<td class=\"num\">66.7%</td>", by_task, re.S)
    by_plan = html[html.index('id="by-plan"'): html.index('id="qc-issues"')]
    assert "Nightly ETL" in by_plan and 'href="/executions/e5/tasks/deploy"' in by_plan
    issues = html[html.index('id="qc-issues"'): html.index('id="qc-fixes"')]
    assert "From 5 attempts that failed QC" in issues
    assert re.findall(r'<span class="pre-wrap">([^<]*)</span> <span class="count">×(\d+)', issues) == [
        ("No examples", "3"), ("Too short", "2"), ("Missing header row", "1"),
    ]
    fixes = html[html.index('id="qc-fixes"'): html.index('id="retried"')]
    assert "Add examples</span> <span class=\"count\">×3" in fixes
    retried = html[html.index('id="retried"'):]
    assert 'href="/executions/e4/tasks/write"' in retried and "3 attempts" in retried


def test_it_filters_the_page_by_plan(browser, dataset):
    html = browser.get(f"{URL}?{RANGE}&plan=etl").content.decode()
    assert _stat(html, "task-failure-rate") == "33.3%"  # 2 of 6
    assert _stat(html, "execution-failure-rate") == "66.7%"  # 2 of 3
    assert _stat(html, "rework-tokens") == "160"
    assert '<option value="etl" selected>Nightly ETL (etl)</option>' in html
    assert "/executions/e3/tasks/write" not in html
    assert f'href="/reports/failures.csv?{RANGE.replace("&", "&amp;")}&amp;plan=etl"' in html


def test_it_answers_an_htmx_request_with_the_report_fragment_only(browser, dataset):
    response = browser.get(f"{URL}?{RANGE}", **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="failure-report"')
    assert "<html" not in html and "<form" not in html
    assert _stat(html, "task-failure-rate") == "36.4%"
    assert "HX-Request" in response["Vary"]


def test_it_shows_an_empty_state_when_nothing_failed(browser, ingest):
    assert ingest.start("ok-1", "p", 1, at(0, 9)).status_code == 201
    assert ingest.task("ok-1", "a", {"status": "success", "tokens": {"input": 3, "output": 4}}).status_code == 201
    assert ingest.finish("ok-1", at(0, 10)).status_code == 201
    html = browser.get(f"{URL}?{RANGE}").content.decode()
    assert "No failures in this range" in html
    assert "All 1 task executions of the 1 executions started in this range passed" in html
    assert _stat(html, "task-failure-rate") == "0%"
    assert 'id="by-error"' not in html


def test_it_defaults_to_the_last_30_days(browser, ingest, frozen_clock):
    frozen_clock.set(at(40, 12))  # the report's "today" follows the app's clock
    now = frozen_clock.now_ms()
    _fail(ingest, "recent", "a", "recent failure", start=now - 2 * 86_400_000)
    _fail(ingest, "old", "a", "old failure", start=now - 40 * 86_400_000)
    html = browser.get(URL).content.decode()
    assert "recent failure" in html and "old failure" not in html
    assert _stat(html, "task-failure-rate") == "100%"
    assert "1 of 1 task executions failed" in html


def test_it_reports_invalid_filters_and_falls_back_to_defaults(browser, dataset):
    response = browser.get(f"{URL}?started_from=2025-11-06&started_to=2025-11-03&plan=nope")
    assert response.status_code == 200
    html = response.content.decode()
    assert "must be on or after the start date" in html
    assert "Select a valid choice" in html
    # From Nov 6 kept, the end falls back to today: only e6 (day 3) and e7 (day 10) are in range.
    assert "1 of 3 task executions failed" in html


def test_it_fills_the_filter_form_with_the_range_it_reports_on(browser, dataset, frozen_clock):
    frozen_clock.set(at(40, 12))  # today: 2025-12-13
    html = browser.get(URL).content.decode()
    form = _filter_form(html)
    assert re.search(r'<label for="id_started_from">Started from <span class="tz">UTC</span></label>\s*'
                     r'<input type="date" name="started_from" value="2025-11-14" required id="id_started_from">', form)
    assert re.search(r'<label for="id_started_to">to \(included\)</label>\s*'
                     r'<input type="date" name="started_to" value="2025-12-13" required id="id_started_to">', form)
    assert '<option value="" selected>All plans</option>' in form and '<option value="etl">' in form
    # An invalid end: the form shows the end reported on instead (today), the error is above the report.
    html = browser.get(f"{URL}?started_from=2025-11-06&started_to=2025-11-03&plan=docs").content.decode()
    form = _filter_form(html)
    assert 'value="2025-11-06"' in form and 'value="2025-12-13"' in form and '<option value="docs" selected>' in form
    assert "must be on or after the start date" in html.split(form)[1]


def test_it_escapes_untrusted_error_and_qc_text(browser, ingest):
    _fail(ingest, "x1", "a", "<script>alert(1)</script> in step 3", start=at(1), issues=["<img src=x onerror=alert(2)>"])
    html = browser.get(f"{URL}?{RANGE}").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; in step 3" in html
    assert "&lt;script&gt;alert(&lt;n&gt;)&lt;/script&gt; in step &lt;n&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_it_exports_one_csv_row_per_failed_task_execution(browser, dataset):
    response = browser.get(f"{CSV_URL}?{RANGE}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="failures-2025-11-03-2025-11-06.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0] == ("executionId,planId,taskId,taskTitle,attemptNumber,attempts,errorSignature,error,"
                        "qcScore,qcIssues,tokens,cost,currency,unpricedAttempts,completedAt")
    rows = _csv(response)
    assert [(r["executionId"], r["taskId"]) for r in rows] == [("e1", "load"), ("e2", "load"), ("e3", "write"), ("e5", "deploy")]
    assert rows[2] == {
        "executionId": "e3", "planId": "docs", "taskId": "write", "taskTitle": "Write guide", "attemptNumber": "2",
        "attempts": "2", "errorSignature": "QC rejected output for <str> (score <n>)",
        "error": 'QC rejected output for "intro.md" (score 40)', "qcScore": "40", "qcIssues": "No examples",
        "tokens": "300", "cost": "", "currency": "USD", "unpricedAttempts": "1", "completedAt": "2025-11-04T12:30:00.000Z",
    }
    assert rows[0]["qcScore"] == "" and rows[0]["errorSignature"] == "Connection to db-<n> refused after <n> retries"


def test_it_applies_the_filters_to_the_csv(browser, dataset):
    rows = _csv(browser.get(f"{CSV_URL}?started_from=2025-11-04&started_to=2025-11-04&plan=etl"))
    assert [(r["executionId"], r["taskId"]) for r in rows] == [("e2", "load")]
    response = browser.get(f"{CSV_URL}?started_from=2025-11-03&started_to=2025-11-13&plan=etl")
    assert [r["executionId"] for r in _csv(response)] == ["e1", "e2", "e7"]
    assert response["Content-Disposition"].endswith('-etl.csv"')


def test_it_protects_csv_cells_against_formula_injection(browser, ingest):
    _fail(ingest, "x1", "a", '=HYPERLINK("http://evil","click")', start=at(1, 1), issues=["@SUM(A1)", "ok"], title="-2+3")
    _fail(ingest, "x2", "b", "+cmd|' /C calc'!A0", start=at(1, 2))
    _fail(ingest, "x3", "c", "plain error", start=at(1, 3), issues=["\tTAB"])
    rows = _csv(browser.get(f"{CSV_URL}?{RANGE}"))
    assert [r["error"] for r in rows] == ["'=HYPERLINK(\"http://evil\",\"click\")", "'+cmd|' /C calc'!A0", "plain error"]
    assert rows[0]["qcIssues"] == "'@SUM(A1) | ok" and rows[0]["taskTitle"] == "'-2+3"
    assert rows[2]["qcIssues"] == "'\tTAB"
    assert [r["tokens"] for r in rows] == ["15", "15", "15"]


def test_it_reads_the_page_and_the_csv_in_a_fixed_number_of_queries(browser, ingest, cypher_calls):
    _fail(ingest, "q1", "a", "boom 1", start=at(1), issues=["x"])
    cypher_calls.clear()
    assert browser.get(f"{URL}?{RANGE}").status_code == 200
    small = len(cypher_calls)
    build(ingest)
    for n in range(8):
        _fail(ingest, f"more-{n}", f"t{n}", f"boom {n} at /tmp/{n}.py", start=at(2, n), plan=f"plan-{n % 3}", issues=[f"issue {n}"])
    cypher_calls.clear()
    html = browser.get(f"{URL}?{RANGE}").content.decode()
    assert "boom &lt;n&gt; at &lt;path&gt;" in html
    # Plan options + seven report statements (over whole days the error groups' examples are a second
    # one) + the pruned watermark.
    assert len(cypher_calls) == small == 9
    cypher_calls.clear()
    assert browser.get(f"{CSV_URL}?{RANGE}", **HX).status_code == 200
    assert len(cypher_calls) == 3  # plan options + rows + the pruned watermark


@pytest.mark.parametrize("query", [
    "started_to=9999-12-31", "started_to=0001-01-01", "started_from=0001-01-01",
    "started_from=9999-12-31&started_to=9999-12-31", "started_from=0001-01-01&started_to=9999-12-31",
])
def test_it_answers_dates_at_the_calendars_edges_without_an_error(signed_in, query):
    for path in ("/reports/failures", "/reports/failures.csv"):
        response = signed_in.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)
    page = signed_in.get(f"/reports/failures?{query}").content.decode()
    assert "Ensure this value is" in page  # the out-of-range date is named, and the default used
