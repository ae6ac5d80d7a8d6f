"""The read API answers cost in currency (issue #13) as the pages show it: exact decimals as
strings, unpriced attempts counted and never priced at 0. Real HTTP, real Neo4j, the real SQL table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from executions.models import ModelPrice
from tests.support.pages import T0, result

HOUR = 3_600_000


def _get(client, token: str, path: str, **params):
    response = client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return response.json()


def _cost(amount, unpriced=0, models=(), priced=0) -> dict:
    return {"currency": "USD", "amount": amount, "unpricedAttempts": unpriced, "unpricedModels": list(models),
            "pricedAttempts": priced}


def test_it_answers_each_cost_of_an_execution_its_tasks_attempts_plan_and_rework(client, ingest, ingest_token):
    ModelPrice.objects.create(model="acme-1", input_per_million=Decimal("0.1"), output_per_million=Decimal("0.2"),
                              effective_from=datetime.fromtimestamp((T0 - T0 % (24 * HOUR)) / 1000, UTC))
    ingest.start("e", "p", 2, T0)
    tokens = {"input": 1_000_000, "output": 1_000_000}
    for number, status in ((1, "failure"), (2, "success")):
        body = result(status, attemptNumber=number, timestamp=T0 + number, tokens=tokens, model="acme-1", error="x")
        assert ingest.task("e", "a", body).status_code == 201
    assert ingest.task("e", "b", result(timestamp=T0 + 3, model="mystery")).status_code == 201

    execution = _get(client, ingest_token, "/executions/e")
    assert execution["cost"] == _cost("0.6", 1, ["mystery"], 2)
    assert {t["taskId"]: t["cost"] for t in execution["taskExecutions"]} == {
        "a": _cost("0.6", priced=2), "b": _cost(None, 1, ["mystery"])}
    assert {t["taskId"]: t["model"] for t in execution["taskExecutions"]} == {"a": "acme-1", "b": "mystery"}

    task = _get(client, ingest_token, "/executions/e/tasks/a")
    assert task["task"]["cost"] == _cost("0.6", priced=2)
    assert [(a["attemptNumber"], a["pricedModel"], a["cost"]["amount"]) for a in task["attempts"]] == [
        (2, "acme-1", "0.3"), (1, "acme-1", "0.3")]

    plan = _get(client, ingest_token, "/plans/p")
    assert plan["cost"] == execution["cost"]
    assert [e["cost"] for e in plan["executions"]] == [execution["cost"]]

    day = datetime.fromtimestamp(T0 / 1000, UTC).date().isoformat()
    report = _get(client, ingest_token, "/reports/failures", started_from=day, started_to=day)
    assert report["totals"]["reworkCost"] == _cost("0.3", priced=1)
    assert [p["reworkCost"] for p in report["byPlan"]] == [_cost("0.3", priced=1)]
    assert sum(Decimal(b["reworkCost"]["amount"] or 0) for b in report["trend"]) == Decimal("0.3")


def test_it_documents_the_cost_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    schema = document["components"]["schemas"]["CostOut"]
    assert set(schema["properties"]) == {"currency", "amount", "unpricedAttempts", "unpricedModels", "pricedAttempts"}
    assert "amount" in schema["required"]
