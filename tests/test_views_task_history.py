"""The page of a task across its plan's runs (/plans/<planId>/tasks/<taskId>), through Django's
full stack on the real Neo4j."""

import re

import pytest

from executions import selectors
from tests.support import history
from tests.support.history import RETRIED_RUN, RUNS, SKIPPED_RUN, SLOW_RUN, run_id

URL = "/plans/etl/tasks/extract"


@pytest.fixture
def seeded(shared_graph, client, db):
    history.use(shared_graph, client)


def _html(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _rows(html: str) -> dict[str, str]:
    body = html[html.index('<table class="table task-history">'):]
    body = body[:body.index("</table>")]
    return dict(re.findall(r'<tr data-execution-id="([^"]+)"[^>]*>(.*?)</tr>', body, re.S))


def test_it_tables_each_run_newest_first_linking_its_task_page(seeded, signed_in):
    rows = _rows(_html(signed_in.get(URL)))
    assert list(rows) == [run_id(i) for i in reversed(range(RUNS)) if i != SKIPPED_RUN]
    assert f'href="/executions/{run_id(0)}/tasks/extract"' in rows[run_id(0)]
    assert "1m 00s" in rows[run_id(0)] and "1k" in rows[run_id(0)]


def test_it_marks_outliers_in_text_in_the_table_and_as_squares_on_the_charts(seeded, signed_in):
    html = _html(signed_in.get(URL))
    rows = _rows(html)
    marked = {eid for eid, row in rows.items() if "outlier" in row}
    assert marked == {run_id(SLOW_RUN), run_id(RETRIED_RUN)}
    assert "10m 00s" in rows[run_id(SLOW_RUN)] and "high outlier" in rows[run_id(SLOW_RUN)]
    assert rows[run_id(RETRIED_RUN)].count("high outlier") == 2  # tokens and attempts
    charts = dict(re.findall(r'<figure class="history-chart" data-field="(\w+)">(.*?)</figure>', html, re.S))
    assert set(charts) == {"durationMs", "tokensTotal", "attemptCount", "qcScore"}
    squares = re.findall(r'<rect class="point outlier"[^>]*data-execution-id="([^"]+)"', charts["durationMs"])
    assert squares == [run_id(SLOW_RUN)]
    # One point per run that reported the task, oldest left.
    points = re.findall(r'class="point[^"]*"[^>]*data-execution-id="([^"]+)"', charts["durationMs"])
    assert points == [run_id(i) for i in range(RUNS) if i != SKIPPED_RUN]
    assert "1 outlier" in charts["durationMs"] and "outlier" not in charts["qcScore"]
    # The bounds in words, rounded: attempts are 1 but for one run of 2 (mean absolute deviation 1/11).
    assert "Attempts: usual 0.6 to 1.4." in html


def test_it_draws_without_inline_style_or_script(seeded, signed_in):
    html = _html(signed_in.get(URL))
    section = html[html.index('id="history-charts"'):html.index('id="history-runs"')]
    assert "style=" not in section and "<script" not in section


def test_it_shows_the_last_n_runs(seeded, signed_in):
    assert list(_rows(_html(signed_in.get(URL + "?n=2")))) == [run_id(RUNS - 1), run_id(RUNS - 2)]


@pytest.mark.parametrize("n", ["0", "-3", "abc", str(selectors.HISTORY_MAX_RUNS + 1), "1e3"])
def test_it_refuses_a_bad_n_with_a_400_naming_it(seeded, signed_in, n):
    response = signed_in.get(URL, {"n": n})
    assert response.status_code == 400
    text = response.content.decode()
    assert "n:" in text and "This history cannot be shown" in text


def test_it_answers_404_for_an_unknown_plan_or_task_and_shows_a_defined_task_never_run(seeded, signed_in):
    assert signed_in.get("/plans/nope/tasks/extract").status_code == 404
    assert signed_in.get("/plans/etl/tasks/nope").status_code == 404
    assert "No run of this plan has reported this task yet" in _html(signed_in.get("/plans/etl/tasks/never-run"))


def test_it_is_linked_from_the_plan_page_and_the_task_page(seeded, signed_in):
    assert f'href="{URL}"' in _html(signed_in.get("/plans/etl"))
    assert f'href="{URL}"' in _html(signed_in.get(f"/executions/{run_id(0)}/tasks/extract"))


def test_it_escapes_hostile_ids_and_titles(client, signed_in, ingest):
    hostile = '<img src=x onerror=alert(1)>'
    assert ingest.plan("p<b>", {"title": hostile, "tasks": [{"id": "t<i>", "title": hostile}]}).status_code == 200
    assert ingest.start("run<script>", "p<b>", 1, 1_763_000_000_000).status_code == 201
    assert ingest.task("run<script>", "t<i>", {"status": "success", "duration": 5}).status_code == 201
    html = _html(signed_in.get("/plans/p%3Cb%3E/tasks/t%3Ci%3E"))
    assert hostile not in html and "<script>" not in html and "run&lt;script&gt;" in html


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
