"""A task of a plan across the plan's runs (selectors.task_history), on the real Neo4j."""

import pytest
from neomodel import db

from executions import cypher, selectors
from tests.support import history
from tests.support.history import RETRIED_RUN, RUNS, SKIPPED_RUN, SLOW_RUN, run_id


@pytest.fixture
def seeded(shared_graph, client, db):
    history.use(shared_graph, client)


def test_it_lists_the_task_in_the_plans_runs_newest_first_without_the_ones_that_skipped_it(seeded):
    data = selectors.task_history(plan_id="etl", task_id="extract")
    ids = [r["executionId"] for r in data["runs"]]
    assert ids == [run_id(i) for i in reversed(range(RUNS)) if i != SKIPPED_RUN]
    # The other plan's task of the same id is not this one.
    assert not [i for i in ids if i.startswith("other-")]
    assert data["task"] == {"taskId": "extract", "title": "Extract the rows", "defined": True, "parallelGroup": 1}


def test_it_reads_duration_tokens_of_every_attempt_attempts_and_qc_of_each_run(seeded):
    runs = {r["executionId"]: r for r in selectors.task_history(plan_id="etl", task_id="extract")["runs"]}
    retried = runs[run_id(RETRIED_RUN)]
    assert (retried["attemptCount"], retried["tokensTotal"], retried["qcScore"], retried["status"]) == (2, 1_400, 90,
                                                                                                        "success")
    assert runs[run_id(SLOW_RUN)]["durationMs"] == 600_000
    assert runs[run_id(0)]["durationMs"] == 60_000 and runs[run_id(0)]["tokensTotal"] == 1_000
    assert runs[run_id(0)]["executionStatus"] == "completed"


def test_it_marks_the_slow_run_and_the_retried_one_as_outliers_and_no_other(seeded):
    runs = selectors.task_history(plan_id="etl", task_id="extract")["runs"]
    marked = {r["executionId"]: r["outliers"] for r in runs if r["outliers"]}
    assert marked == {run_id(SLOW_RUN): {"durationMs": "high"},
                      run_id(RETRIED_RUN): {"tokensTotal": "high", "attemptCount": "high"}}


def test_it_keeps_the_last_n_runs(seeded):
    runs = selectors.task_history(plan_id="etl", task_id="extract", limit=3)["runs"]
    assert [r["executionId"] for r in runs] == [run_id(RUNS - 1), run_id(RUNS - 2), run_id(RUNS - 3)]


def test_it_answers_a_defined_task_never_run_with_no_runs_and_none_for_unknown_plans_or_tasks(seeded):
    never = selectors.task_history(plan_id="etl", task_id="never-run")
    assert never["runs"] == [] and never["task"]["title"] == "Not run yet"
    assert selectors.task_history(plan_id="nope", task_id="extract") is None
    assert selectors.task_history(plan_id="etl", task_id="nope") is None


def _operators(plan):
    yield plan
    for child in plan.get("children", []):
        yield from _operators(child)


def test_it_reads_from_the_plans_executions_by_key_not_every_task_execution(seeded):
    # The plan's executions are walked and each task execution is a seek of its (executionId,
    # taskId) key: no scan of the TaskExecution label nor of the taskId index (which would read the
    # other plan's `extract` too), and the walk stops once `limit` runs are found. Planned for this
    # graph's statistics: a test server keeps the first plan it made (maybe on an empty graph)
    # (conftest, for_tests), so this one statement is planned again (`replan=force`) on fresh index
    # samples; not `db.prepareForReplanning()`, which would empty the whole plan cache of the server.
    db.cypher_query("CALL db.resampleOutdatedIndexes()")
    with db.driver.session() as session:
        result = session.run("CYPHER replan=force PROFILE " + cypher.statement("pages/task_history"),
                             {"pid": "etl", "taskId": "extract", "limit": 3})
        rows = list(result)
        profile = result.consume().profile
    assert [r["executionId"] for r in rows[0]["runs"]] == [run_id(RUNS - 1), run_id(RUNS - 2), run_id(RUNS - 3)]
    ops = list(_operators(profile))
    text = "\n".join(f"{op['operatorType']} {op['args'].get('Details', '')[:160]} rows={op.get('rows')}" for op in ops)
    assert not [op for op in ops if "Scan" in op["operatorType"]], text
    seeks = [op for op in ops if "TaskExecution" in op["args"].get("Details", "") and "Seek" in op["operatorType"]]
    assert seeks and all("executionId" in op["args"]["Details"] for op in seeks), text
    # Three runs wanted: the seek is asked about a few executions, not every one of the plan's.
    assert sum(op["rows"] for op in seeks) <= 4, text
