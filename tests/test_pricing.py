"""Cost in currency (executions/pricing.py): dated prices from SQL applied by Neo4j's reads to the
stored tokens, Decimal arithmetic, unpriced models, mixed totals. Real ingest over HTTP, real Neo4j,
the real SQL table."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from executions import pricing, selectors, services
from executions.models import ModelPrice
from tests.support.graph import cypher
from tests.support.pages import T0, result

HOUR = 3_600_000
DAY = 24 * HOUR
MIDNIGHT = T0 - T0 % DAY  # of T0's day: prices take effect at a UTC midnight
DOCS = Path(__file__).resolve().parent.parent / "docs" / "pricing.md"


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _price(model: str, input_price: str, output_price: str, since: int) -> ModelPrice:
    return ModelPrice.objects.create(model=model, input_per_million=Decimal(input_price),
                                     output_per_million=Decimal(output_price), effective_from=_at(since))


def _attempt(ingest, eid: str, task: str, number: int, *, at: int, model: str | None = "acme-1",
             tokens: tuple[int, int] = (1_000_000, 100_000), status: str = "success", definition=None):
    body = result(status, attemptNumber=number, timestamp=at, tokens={"input": tokens[0], "output": tokens[1]})
    if model is not None:
        body["model"] = model
    response = ingest.task(eid, task, body, task=definition)
    assert response.status_code == 201, response.content


def _costs(eid: str, task: str) -> tuple[pricing.Cost, dict[int, pricing.Cost]]:
    detail = selectors.task_detail(execution_id=eid, task_id=task)
    return detail["task"]["cost"], {a["attemptNumber"]: a["cost"] for a in detail["attempts"]}


# ---------------------------------------------------------------- dated prices


def test_it_prices_each_attempt_at_the_price_in_force_at_its_time(ingest):
    _price("acme-1", "2.00", "8.00", MIDNIGHT - DAY)
    _price("acme-1", "1.00", "4.00", MIDNIGHT + DAY)  # a price cut the next day
    ingest.start("e", "p", 1, T0 - HOUR)
    _attempt(ingest, "e", "a", 1, at=T0, status="failure")
    _attempt(ingest, "e", "a", 2, at=T0 + DAY)
    task, attempts = _costs("e", "a")
    # 1M input and 100k output tokens each: 2.00 + 0.80 before the cut, 1.00 + 0.40 after.
    assert attempts == {1: pricing.Cost(Decimal("2.8"), pricedAttempts=1), 2: pricing.Cost(Decimal("1.4"), pricedAttempts=1)}
    assert task == pricing.Cost(Decimal("4.2"), pricedAttempts=2)
    assert selectors.execution_detail(execution_id="e")["execution"]["cost"] == pricing.Cost(Decimal("4.2"), pricedAttempts=2)


def test_it_does_not_reprice_past_attempts_when_a_new_price_is_added(ingest):
    _price("acme-1", "2.00", "8.00", MIDNIGHT - DAY)
    ingest.start("e", "p", 1, T0 - HOUR)
    _attempt(ingest, "e", "a", 1, at=T0)
    before = _costs("e", "a")
    _price("acme-1", "20.00", "80.00", MIDNIGHT + DAY)
    one = pricing.Cost(Decimal("2.8"), pricedAttempts=1)
    assert _costs("e", "a") == before == (one, {1: one})


def test_it_takes_a_price_from_the_moment_it_is_effective(ingest):
    _price("acme-1", "1.00", "0", MIDNIGHT + DAY)
    ingest.start("e", "p", 2, T0 - HOUR)
    _attempt(ingest, "e", "early", 1, at=MIDNIGHT + DAY - 1)
    _attempt(ingest, "e", "on-time", 1, at=MIDNIGHT + DAY)
    assert _costs("e", "early")[0] == pricing.Cost(None, 1, ("acme-1",))  # no price in force yet
    assert _costs("e", "on-time")[0] == pricing.Cost(Decimal("1"), pricedAttempts=1)


def test_it_applies_a_deleted_rows_correction_to_the_attempts_of_its_period(ingest):
    _price("acme-1", "2.00", "8.00", MIDNIGHT - DAY)
    wrong = _price("acme-1", "200.00", "800.00", MIDNIGHT)
    ingest.start("e", "p", 1, T0 - HOUR)
    _attempt(ingest, "e", "a", 1, at=T0)
    assert _costs("e", "a")[0] == pricing.Cost(Decimal("280"), pricedAttempts=1)
    wrong.delete()
    assert _costs("e", "a")[0] == pricing.Cost(Decimal("2.8"), pricedAttempts=1)


# ---------------------------------------------------------------- unpriced and mixed


def test_it_counts_an_unknown_model_as_unpriced_never_as_zero(ingest):
    ingest.start("e", "p", 1, T0)
    _attempt(ingest, "e", "a", 1, at=T0 + 1, model="mystery-9000")
    task, attempts = _costs("e", "a")
    assert task == attempts[1] == pricing.Cost(None, 1, ("mystery-9000",))
    assert task.describe() == "unpriced" and task.amount is None


def test_it_counts_an_attempt_naming_no_model_as_unpriced(ingest):
    ingest.start("e", "p", 1, T0)
    _attempt(ingest, "e", "a", 1, at=T0 + 1, model=None)
    assert _costs("e", "a")[0] == pricing.Cost(None, 1, ())


def test_it_totals_a_mix_of_priced_and_unpriced_attempts(ingest):
    _price("acme-1", "1.00", "0", MIDNIGHT)
    ingest.start("e", "p", 5, T0)
    for n, model in enumerate(["acme-1", "acme-1", "mystery", "mystery", None]):
        _attempt(ingest, "e", f"t{n}", 1, at=T0 + n + 1, model=model)
    cost = selectors.execution_detail(execution_id="e")["execution"]["cost"]
    assert cost == pricing.Cost(Decimal("2"), 3, ("mystery",), pricedAttempts=2)
    assert cost.describe() == "$2.00 + 3 unpriced attempts"
    assert selectors.execution_get(execution_id="e")["cost"] == cost


def test_it_leaves_out_attempts_without_tokens_and_those_known_only_from_qc_history(ingest):
    ingest.start("e", "p", 1, T0)
    history = [{"passed": False, "score": 10, "feedback": "no"}, {"passed": True, "score": 90, "feedback": "ok"}]
    body = result(attemptNumber=2, timestamp=T0 + 1, tokens={"input": 0, "output": 0}, qcVerificationHistory=history)
    assert ingest.task("e", "a", body).status_code == 201  # no model, no tokens: nothing to price
    task, attempts = _costs("e", "a")
    assert task == attempts[1] == attempts[2] == pricing.Cost(Decimal(0))
    assert task.describe() == "$0.00"


def test_it_adds_money_exactly_where_floats_would_not(ingest):
    _price("acme-1", "0.1", "0.2", MIDNIGHT)
    ingest.start("e", "p", 3, T0)
    for n in range(3):
        _attempt(ingest, "e", f"t{n}", 1, at=T0 + n + 1, tokens=(1_000_000, 1_000_000))
    cost = selectors.execution_detail(execution_id="e")["execution"]["cost"]
    assert cost.amount == Decimal("0.9")  # 3 × (0.1 + 0.2); as floats 0.9000000000000001
    assert 3 * (0.1 + 0.2) != 0.9


# ---------------------------------------------------------------- which model


def test_it_prices_by_the_results_model_else_the_tasks_else_the_plans(ingest):
    _price("big", "10", "0", MIDNIGHT)
    _price("small", "1", "0", MIDNIGHT)
    _price("plan-model", "5", "0", MIDNIGHT)
    plan = {"title": "P", "tasks": [{"id": "a", "recommendedModel": "Plan-Model "},
                                    {"id": "b", "recommendedModel": "plan-model"},
                                    {"id": "c", "recommendedModel": "plan-model"}]}
    assert ingest.plan("p", plan).status_code == 200
    ingest.start("e", "p", 3, T0)
    _attempt(ingest, "e", "a", 1, at=T0 + 1, model=None, tokens=(1_000_000, 0))
    _attempt(ingest, "e", "b", 1, at=T0 + 2, model=None, tokens=(1_000_000, 0),
             definition={"id": "b", "recommendedModel": "small"})
    _attempt(ingest, "e", "c", 1, at=T0 + 3, model="BIG", tokens=(1_000_000, 0),
             definition={"id": "c", "recommendedModel": "small"})
    detail = selectors.execution_detail(execution_id="e")
    costs = {t["taskId"]: t["cost"].amount for t in detail["tasks"]}
    # The plan's definition (names matched ignoring case and spaces), the posted one, the result's.
    assert costs == {"a": Decimal(5), "b": Decimal(1), "c": Decimal(10)}
    assert detail["execution"]["cost"] == pricing.Cost(Decimal(16), pricedAttempts=3)
    priced_as = {t: selectors.task_detail(execution_id="e", task_id=t)["attempts"][0]["pricedModel"] for t in "abc"}
    assert priced_as == {"a": "Plan-Model ", "b": "small", "c": "BIG"}


def test_it_follows_a_plan_whose_recommended_model_changes(ingest):
    _price("m1", "1", "0", MIDNIGHT)
    _price("m2", "3", "0", MIDNIGHT)
    assert ingest.plan("p", {"tasks": [{"id": "a", "recommendedModel": "m1"}, {"id": "b"}]}).status_code == 200
    ingest.start("e", "p", 2, T0)
    _attempt(ingest, "e", "a", 1, at=T0 + 1, model=None, tokens=(1_000_000, 0))
    assert selectors.execution_detail(execution_id="e")["execution"]["cost"].amount == Decimal(1)
    assert ingest.plan("p", {"tasks": [{"id": "a", "recommendedModel": "m2"}, {"id": "b"}]}).status_code == 200
    assert selectors.execution_detail(execution_id="e")["execution"]["cost"].amount == Decimal(3)
    assert ingest.plan("p", {"tasks": [{"id": "a"}, {"id": "b"}]}).status_code == 200
    assert selectors.execution_detail(execution_id="e")["execution"]["cost"] == pricing.Cost(None, 1, ())


def test_it_gives_plans_put_by_an_older_version_their_task_models_on_rederive(ingest):
    _price("m1", "1", "0", MIDNIGHT)
    assert ingest.plan("p", {"tasks": [{"id": "a", "recommendedModel": "m1"}, {"id": "b"}]}).status_code == 200
    ingest.start("e", "p", 1, T0)
    _attempt(ingest, "e", "a", 1, at=T0 + 1, model=None, tokens=(1_000_000, 0))
    # As an older version left it: no PlanTask nodes, nor the mark that the plan has them.
    cypher("MATCH (d:PlanTask) DETACH DELETE d")
    cypher("MATCH (p:Plan) REMOVE p.taskModelsKept")
    assert selectors.execution_detail(execution_id="e")["execution"]["cost"] == pricing.Cost(None, 1, ())
    assert services.executions_need_rederive()
    out = io.StringIO()
    call_command("rederive_graph", "--if-needed", stdout=out)
    assert "plans: 1 given the recommended models of their tasks" in out.getvalue()
    assert selectors.execution_detail(execution_id="e")["execution"]["cost"] == pricing.Cost(Decimal(1), 0, (), 1)
    assert not services.executions_need_rederive()
    assert services.plan_task_models_keep() == 0


def test_it_keeps_a_replay_without_a_model_a_replay_and_refuses_a_different_model(ingest):
    ingest.start("e", "p", 1, T0)
    body = result(timestamp=T0 + 1)
    assert ingest.task("e", "a", body).status_code == 201
    assert ingest.task("e", "a", body).json()["replayed"] is True
    conflict = ingest.task("e", "a", {**body, "model": "acme-1"})
    assert conflict.status_code == 409
    assert [e["field"] for e in conflict.json()["errors"]] == ["result.model"]


def test_it_refuses_an_empty_model_name_naming_the_field(ingest):
    ingest.start("e", "p", 1, T0)
    response = ingest.task("e", "a", result(model=""))
    assert response.status_code == 400
    assert "result.model" in response.content.decode()


# ---------------------------------------------------------------- plans and the failure report


def test_it_prices_a_plans_runs_and_each_listed_run(ingest):
    _price("acme-1", "1", "0", MIDNIGHT)
    for n, eid in enumerate(["r1", "r2"]):
        ingest.start(eid, "p", 2, T0 + n * HOUR)
        _attempt(ingest, eid, "a", 1, at=T0 + n * HOUR + 1, tokens=(1_000_000, 0))
        _attempt(ingest, eid, "b", 1, at=T0 + n * HOUR + 2, model="mystery", tokens=(1_000_000, 0))
    detail = selectors.plan_detail(plan_id="p")
    assert detail["cost"] == pricing.Cost(Decimal(2), 2, ("mystery",), pricedAttempts=2)
    assert {e["executionId"]: e["cost"] for e in detail["executions"]} == {
        "r1": pricing.Cost(Decimal(1), 1, ("mystery",), 1), "r2": pricing.Cost(Decimal(1), 1, ("mystery",), 1)}


def test_it_reports_the_rework_in_currency(ingest):
    _price("acme-1", "1", "10", MIDNIGHT)
    ingest.start("e1", "p1", 1, T0)
    _attempt(ingest, "e1", "a", 1, at=T0 + 1, status="failure", tokens=(1_000_000, 100_000))  # $2 of rework
    _attempt(ingest, "e1", "a", 2, at=T0 + 2, tokens=(1_000_000, 100_000))  # passed: not rework
    ingest.start("e2", "p2", 1, T0 + 3)
    _attempt(ingest, "e2", "b", 1, at=T0 + 4, status="failure", model="mystery")
    report = selectors.failure_report(started_from=T0 - HOUR, started_to=T0 + HOUR, plan_id=None)
    assert report["totals"]["reworkCost"] == pricing.Cost(Decimal(2), 1, ("mystery",), pricedAttempts=1)
    assert {p["planId"]: p["reworkCost"] for p in report["by_plan"]} == {
        "p1": pricing.Cost(Decimal(2), pricedAttempts=1), "p2": pricing.Cost(None, 1, ("mystery",))}
    assert sum((b["reworkCost"] for b in report["trend"]), pricing.NO_COST) == report["totals"]["reworkCost"]


# ---------------------------------------------------------------- the table and formats


@pytest.mark.django_db
def test_it_ships_the_default_price_table_docs_pricing_lists(shipped_prices):
    shipped = {p.model: (p.input_per_million, p.output_per_million) for p in ModelPrice.objects.all()}
    assert shipped["gpt-4.1"] == (Decimal("2"), Decimal("8"))
    assert shipped["claude-sonnet-4-5"] == (Decimal("3"), Decimal("15"))
    documented = re.findall(r"^\| ([\w.-]+) \| ([\d.]+) \| ([\d.]+) \|$", DOCS.read_text(), flags=re.M)
    assert {m: (Decimal(i), Decimal(o)) for m, i, o in documented} == shipped


@pytest.mark.django_db
def test_it_refuses_to_change_a_saved_price_but_keeps_its_note_editable():
    price = _price(" Acme-1 ", "1", "2", MIDNIGHT)
    assert price.model == "acme-1"
    price.source = "corrected note"
    price.save()
    price.input_per_million = Decimal("5")
    with pytest.raises(ValidationError, match="later effective_from"):
        price.save()
    assert ModelPrice.objects.get(pk=price.pk).input_per_million == Decimal("1")


@pytest.mark.django_db
@pytest.mark.parametrize("since", [MIDNIGHT + HOUR, MIDNIGHT + 1, MIDNIGHT - 1])
def test_it_refuses_a_price_that_does_not_start_at_a_utc_midnight(since):
    # A rollup row's attempt day decides its price (ReportReworkDay): prices change at midnight only.
    price = ModelPrice(model="acme-1", input_per_million=Decimal("1"), output_per_million=Decimal("2"),
                       effective_from=_at(since))
    with pytest.raises(ValidationError) as refused:
        price.full_clean()
    assert "effective_from" in refused.value.message_dict and "UTC midnight" in str(refused.value)
    with pytest.raises(ValidationError, match="effective_from must be a UTC midnight"):
        price.save()
    assert not ModelPrice.objects.filter(model="acme-1").exists()
    _price("acme-1", "1", "2", MIDNIGHT)  # a midnight is taken
    assert ModelPrice.objects.filter(model="acme-1").count() == 1


def test_the_migration_moves_a_price_saved_at_another_time_to_the_next_utc_midnight(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([("executions", "0005_default_model_prices")])
    try:
        old = executor.loader.project_state([("executions", "0005_default_model_prices")]).apps.get_model(
            "executions", "ModelPrice")
        for model, since, amount in (("acme-1", MIDNIGHT - DAY, "1"), ("acme-1", MIDNIGHT + HOUR, "2"),
                                     ("acme-2", MIDNIGHT + HOUR, "3"), ("acme-2", MIDNIGHT + 2 * HOUR, "4"),
                                     ("acme-3", MIDNIGHT + 3 * HOUR, "5"), ("acme-3", MIDNIGHT + DAY, "6")):
            old.objects.create(model=model, input_per_million=Decimal(amount), output_per_million=Decimal(0),
                               effective_from=_at(since))
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    prices = {(p.model, p.effective_from, p.input_per_million)
              for p in ModelPrice.objects.filter(model__startswith="acme-")}
    # Never earlier than it said; of two meeting on one midnight, the one in force at it is kept.
    assert prices == {
        ("acme-1", _at(MIDNIGHT - DAY), Decimal(1)), ("acme-1", _at(MIDNIGHT + DAY), Decimal(2)),
        ("acme-2", _at(MIDNIGHT + DAY), Decimal(4)), ("acme-3", _at(MIDNIGHT + DAY), Decimal(6)),
    }
    assert all(ModelPrice.starts_at_midnight(p.effective_from) for p in ModelPrice.objects.all())


@pytest.mark.parametrize(("amount", "shown"), [
    ("0", "$0.00"), ("0.00004", "< $0.0001"), ("0.00425", "$0.0043"), ("0.01", "$0.01"), ("1234.565", "$1,234.57"),
])
def test_it_formats_money_to_the_cent_and_small_amounts_to_four_places(amount, shown):
    assert pricing.money(Decimal(amount)) == shown


def test_it_adds_costs_keeping_what_is_unpriced():
    total = pricing.Cost(Decimal("1.5"), 1, ("x",), 2) + pricing.Cost(None, 2, ("y",)) + pricing.NO_COST
    assert total == pricing.Cost(Decimal("1.5"), 3, ("x", "y"), 2)
    assert total.describe() == "$1.50 + 3 unpriced attempts"
    assert (pricing.Cost(None, 2) + pricing.Cost(None, 1)).describe() == "unpriced (3 attempts)"
    # Nothing spent added to what is only unpriced stays unpriced, not "$0.00 + ...".
    assert (pricing.NO_COST + pricing.Cost(None, 1)).describe() == "unpriced"
