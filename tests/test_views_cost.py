"""The pages show cost in currency (issue #13): the execution page (its total and each task's),
the task page (each attempt's), the plan page (all runs and each listed run) and the failure
report (rework), with "unpriced" for what no price covers, never $0; the admin adds prices and
never changes a saved one. Real HTTP through Django, real Neo4j, the real SQL table."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from executions.models import ModelPrice
from tests.support.pages import T0, result

HOUR = 3_600_000
DAY = 24 * HOUR
MIDNIGHT = T0 - T0 % DAY  # of T0's day: prices take effect at a UTC midnight


def _price(model: str, input_price: str, output_price: str, since: int) -> None:
    ModelPrice.objects.create(model=model, input_per_million=Decimal(input_price),
                              output_per_million=Decimal(output_price),
                              effective_from=datetime.fromtimestamp(since / 1000, UTC))


@pytest.fixture
def costed(ingest):
    """Plan p, execution e: task a priced ($1.50, two attempts at two prices, the first failed),
    task b on an unknown model, task c with a hostile model name."""
    _price("acme-1", "1", "0", MIDNIGHT)
    _price("acme-1", "0.5", "0", MIDNIGHT + DAY)
    assert ingest.plan("p", {"title": "Priced", "tasks": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}).status_code == 200
    ingest.start("e", "p", 3, T0)
    tokens = {"input": 1_000_000, "output": 0}
    for number, at, status in ((1, T0 + 1, "failure"), (2, T0 + DAY, "success")):
        body = result(status, attemptNumber=number, timestamp=at, tokens=tokens, model="acme-1", error="x")
        assert ingest.task("e", "a", body).status_code == 201
    assert ingest.task("e", "b", result(timestamp=T0 + 3, tokens=tokens, model="mystery-9000")).status_code == 201
    hostile = result(timestamp=T0 + 4, tokens=tokens, model="<script>alert(1)</script>")
    assert ingest.task("e", "c", hostile).status_code == 201


def _text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _costs(html: str) -> list[tuple[str, str, str]]:
    """(data-cost, data-unpriced, shown) of each cost on the page, in order."""
    return re.findall(r'<span class="cost[^"]*" data-cost="([^"]*)" data-unpriced="(\d+)"[^>]*>([^<]*)</span>', html)


def test_it_shows_the_executions_cost_and_each_tasks_with_what_is_unpriced(signed_in, costed):
    html = _text(signed_in.get("/executions/e"))
    # The header's total, then the task rows in completion order: b, c, then a (its retry ended last).
    assert _costs(html) == [("1.5", "2", "$1.50 + 2 unpriced attempts"), ("", "1", "unpriced"),
                            ("", "1", "unpriced"), ("1.5", "0", "$1.50")]
    assert "$0.00" not in html
    assert 'title="No price in force for mystery-9000"' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_sends_the_cost_with_a_changed_row_on_the_live_poll(signed_in, costed, ingest):
    # Task d's model is the plan's recommendation: the poll's rows resolve it as the page does.
    plan = {"title": "Priced", "tasks": [{"id": "a"}, {"id": "d", "recommendedModel": "acme-1"}]}
    assert ingest.plan("p", plan).status_code == 200
    ingest.start("live", "p", 2, T0)
    body = result(timestamp=T0 + 5, tokens={"input": 2_000_000, "output": 0}, model="acme-1")
    assert ingest.task("live", "a", body).status_code == 201
    html = _text(signed_in.get("/executions/live/poll?version=1", HTTP_HX_REQUEST="true"))
    assert _costs(html) == [("2", "0", "$2.00"), ("2", "0", "$2.00")]  # the header, then row a (version 2)
    body = result(timestamp=T0 + 6, tokens={"input": 3_000_000, "output": 0})
    assert ingest.task("live", "d", body).status_code == 201
    html = _text(signed_in.get("/executions/live/poll?version=2", HTTP_HX_REQUEST="true"))
    assert _costs(html) == [("5", "0", "$5.00"), ("3", "0", "$3.00")]  # the header, then row d alone


def test_it_shows_each_attempts_cost_on_the_task_page(signed_in, costed):
    html = _text(signed_in.get("/executions/e/tasks/a"))
    task_cost = re.search(r'id="task-cost">.*?</div></div>', html, flags=re.S).group(0)
    assert _costs(task_cost) == [("1.5", "0", "$1.50")]
    attempts = re.findall(r'<article class="card attempt[^"]*" id="attempt-(\d+)">.*?<span class="attempt-cost">(.*?)</span>'
                          r'</span>', html, flags=re.S)
    # Newest first: attempt 2 ran after the price cut.
    assert [(n, _costs(c + "</span>")[0][2]) for n, c in attempts] == [("2", "$0.50"), ("1", "$1.00")]
    unpriced = _text(signed_in.get("/executions/e/tasks/b"))
    assert ("", "1", "unpriced") in _costs(unpriced) and "mystery-9000" in unpriced


def test_it_shows_the_plans_cost_and_each_runs(signed_in, costed):
    html = _text(signed_in.get("/plans/p"))
    plan_cost = re.search(r'id="plan-cost">.*?</div></div>', html, flags=re.S).group(0)
    assert _costs(plan_cost) == [("1.5", "2", "$1.50 + 2 unpriced attempts")]
    assert _costs(html)[1:] == [("1.5", "2", "$1.50 + 2 unpriced attempts")]  # the one run listed


def test_it_shows_the_rework_in_currency_on_the_failure_report(signed_in, costed):
    day = datetime.fromtimestamp(T0 / 1000, UTC).date().isoformat()
    html = _text(signed_in.get(f"/reports/failures?started_from={day}&started_to={day}"))
    rework = re.search(r'data-stat="rework-cost">(.*?)</div>', html, flags=re.S).group(1)
    assert _costs(rework) == [("1", "0", "$1.00")]  # attempt 1 of task a failed, at $1 per 1M
    by_plan = re.search(r'id="by-plan">.*?</section>', html, flags=re.S).group(0)
    assert _costs(by_plan) == [("1", "0", "$1.00")]


def test_it_shows_unpriced_rework_as_unpriced_not_zero(signed_in, ingest):
    ingest.start("e", "p", 1, T0)
    failed = result("failure", timestamp=T0 + 1, error="boom", model="mystery")
    assert ingest.task("e", "a", failed).status_code == 201
    day = datetime.fromtimestamp(T0 / 1000, UTC).date().isoformat()
    html = _text(signed_in.get(f"/reports/failures?started_from={day}&started_to={day}"))
    rework = re.search(r'data-stat="rework-cost">(.*?)</div>', html, flags=re.S).group(1)
    assert _costs(rework) == [("", "1", "unpriced")]


# ---------------------------------------------------------------- the admin


def test_a_superuser_adds_a_price_in_the_admin_and_cannot_change_its_amounts(admin_client, shipped_prices):
    added = admin_client.post("/admin/executions/modelprice/add/", {
        "model": "  Acme-2 ", "input_per_million": "1.25", "output_per_million": "10",
        "effective_from_0": "2026-12-01", "effective_from_1": "00:00:00", "source": "vendor page",
    })
    assert added.status_code == 302, added.content.decode()[:2000]
    price = ModelPrice.objects.get(model="acme-2")
    assert (price.input_per_million, price.output_per_million) == (Decimal("1.25"), Decimal("10"))
    assert price.effective_from == datetime(2026, 12, 1, tzinfo=UTC)
    listing = _text(admin_client.get("/admin/executions/modelprice/"))
    assert "acme-2" in listing and "gpt-4.1" in listing  # beside the shipped table
    change = f"/admin/executions/modelprice/{price.pk}/change/"
    form = _text(admin_client.get(change))
    assert 'name="input_per_million"' not in form and 'name="source"' in form
    assert admin_client.post(change, {"input_per_million": "99", "source": "corrected"}).status_code == 302
    price.refresh_from_db()
    assert (price.input_per_million, price.source) == (Decimal("1.25"), "corrected")


def test_the_admin_refuses_a_second_price_for_the_same_model_and_moment(admin_client):
    body = {"model": "acme-3", "input_per_million": "1", "output_per_million": "2",
            "effective_from_0": "2026-12-01", "effective_from_1": "00:00:00"}
    assert admin_client.post("/admin/executions/modelprice/add/", body).status_code == 302
    again = admin_client.post("/admin/executions/modelprice/add/", {**body, "model": "ACME-3"})
    assert again.status_code == 200 and "already exists" in again.content.decode()
    negative = admin_client.post("/admin/executions/modelprice/add/", {**body, "input_per_million": "-1",
                                                                       "effective_from_0": "2026-12-02"})
    assert negative.status_code == 200 and "greater than or equal to 0" in negative.content.decode()
    assert ModelPrice.objects.filter(model="acme-3").count() == 1


def test_the_admin_refuses_a_price_that_does_not_start_at_a_utc_midnight(admin_client):
    body = {"model": "acme-4", "input_per_million": "1", "output_per_million": "2",
            "effective_from_0": "2026-12-01", "effective_from_1": "09:30:00"}
    refused = admin_client.post("/admin/executions/modelprice/add/", body)
    page = refused.content.decode()
    assert refused.status_code == 200 and "effective_from must be a UTC midnight (00:00:00 UTC)" in page
    assert not ModelPrice.objects.filter(model="acme-4").exists()
    assert admin_client.post("/admin/executions/modelprice/add/", {**body, "effective_from_1": "00:00:00"}).status_code == 302
    assert ModelPrice.objects.get(model="acme-4").effective_from == datetime(2026, 12, 1, tzinfo=UTC)


def test_it_exports_each_failed_tasks_cost_in_the_failure_csv(signed_in, ingest):
    import csv
    import io

    _price("acme-1", "2", "0", MIDNIGHT)
    ingest.start("f", "p", 2, T0)
    tokens = {"input": 250_000, "output": 0}
    failed = {"tokens": tokens, "model": "acme-1", "error": "boom"}
    assert ingest.task("f", "a", result("failure", timestamp=T0 + 1, **failed)).status_code == 201
    assert ingest.task("f", "b", result("failure", timestamp=T0 + 2, tokens=tokens, model="mystery-9000",
                                        error="boom")).status_code == 201
    response = signed_in.get("/reports/failures.csv?started_from=2025-11-12&started_to=2025-11-14")
    rows = {r["taskId"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert (rows["a"]["cost"], rows["a"]["currency"], rows["a"]["unpricedAttempts"]) == ("0.5", "USD", "0")
    assert (rows["b"]["cost"], rows["b"]["unpricedAttempts"]) == ("", "1")  # unpriced: blank, never 0
