"""GET /api/v1/plans/<planId>/tasks/<taskId>/history: the task history page's data as JSON."""

import pytest

from executions import selectors, services
from tests.support import history
from tests.support.history import RETRIED_RUN, RUNS, SKIPPED_RUN, SLOW_RUN, run_id

PATH = "/api/v1/plans/etl/tasks/extract/history"


@pytest.fixture
def seeded(shared_graph, client, db):
    history.use(shared_graph, client)


@pytest.fixture
def read_token(db):
    return services.ingest_token_create(name="reader", scopes=("read",))


def _get(client, token, path=PATH, **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_it_answers_what_the_page_shows(seeded, client, read_token):
    body = _get(client, read_token).json()
    page = selectors.task_history(plan_id="etl", task_id="extract")
    assert body["planId"] == "etl" and body["task"] == page["task"]
    assert [r["executionId"] for r in body["runs"]] == [run_id(i) for i in reversed(range(RUNS)) if i != SKIPPED_RUN]
    assert body["runs"] == page["runs"]
    runs = {r["executionId"]: r for r in body["runs"]}
    assert runs[run_id(SLOW_RUN)]["outliers"] == {"durationMs": "high"}
    assert runs[run_id(RETRIED_RUN)]["outliers"] == {"tokensTotal": "high", "attemptCount": "high"}
    assert runs[run_id(RETRIED_RUN)]["tokensTotal"] == 1_400 and runs[run_id(RETRIED_RUN)]["attemptCount"] == 2
    duration = next(m for m in body["metrics"] if m["field"] == "durationMs")
    # 60, 60, 61, 62, 62, 63, 63, 64, 65, 65 and 600 s.
    assert duration["median"] == 63_000 and duration["low"] < 60_000 < 65_000 < duration["high"] < 600_000


def test_it_keeps_the_last_n(seeded, client, read_token):
    runs = _get(client, read_token, n=2).json()["runs"]
    assert [r["executionId"] for r in runs] == [run_id(RUNS - 1), run_id(RUNS - 2)]


@pytest.mark.parametrize("n", ["0", "abc", str(selectors.HISTORY_MAX_RUNS + 1)])
def test_it_answers_400_naming_n_for_a_bad_one(seeded, client, read_token, n):
    response = _get(client, read_token, n=n)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["n"]


def test_it_answers_404_for_an_unknown_task_or_plan(seeded, client, read_token):
    assert _get(client, read_token, "/api/v1/plans/etl/tasks/nope/history").status_code == 404
    assert _get(client, read_token, "/api/v1/plans/nope/tasks/extract/history").status_code == 404


def test_it_refuses_a_write_only_token_and_one_limited_to_another_plan(seeded, client):
    writer = services.ingest_token_create(name="writer", scopes=("write",))
    assert _get(client, writer).status_code == 403
    other = services.ingest_token_create(name="other-plan", scopes=("read",), plans=["other"])
    response = _get(client, other)
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "plan"
    mine = services.ingest_token_create(name="etl-plan", scopes=("read",), plans=["etl"])
    assert _get(client, mine).status_code == 200
