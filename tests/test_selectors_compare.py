"""selectors.execution_compare and compare_outputs against the real Neo4j, on two runs posted
through the ingest API (tests/support/compare.py says how they differ)."""

from __future__ import annotations

import pytest

from executions import rendering, selectors
from tests.support import compare
from tests.support.pages import T0, result


@pytest.fixture
def runs(shared_graph, ingest):
    shared_graph.use("compare-runs", lambda: compare.build(ingest))


def _by_id(data: dict) -> dict[str, dict]:
    return {t["taskId"]: t for t in data["tasks"]}


def test_it_lines_up_every_task_id_of_both_runs_with_each_side_and_presence(runs):
    data = selectors.execution_compare(a_id="run-1", b_id="run-2")
    assert [t["taskId"] for t in data["tasks"]] == sorted(["build", "unit", "e2e", "lint", "perf", "docs", "ship"])
    tasks = _by_id(data)
    assert {t: tasks[t]["presence"] for t in ("build", "docs", "ship")} == {"build": "both", "docs": "a", "ship": "b"}
    assert tasks["docs"]["b"] is None and tasks["ship"]["a"] is None
    assert tasks["unit"]["a"]["status"] == "success" and tasks["unit"]["b"]["status"] == "failure"
    assert tasks["unit"]["taskTitle"] == "The unit step"
    assert tasks["lint"]["b"]["attemptCount"] == 2 and tasks["lint"]["a"]["attemptCount"] == 1
    assert tasks["build"]["b"]["outputChars"] == len("built v1")


def test_it_computes_each_tasks_deltas_b_minus_a_and_none_where_a_side_is_missing(runs):
    tasks = _by_id(selectors.execution_compare(a_id="run-1", b_id="run-2"))
    assert tasks["unit"]["delta"] == {"attemptCount": 0, "qcScore": 40 - 88, "durationMs": 20_000, "tokensTotal": 0}
    assert tasks["perf"]["delta"]["tokensTotal"] == 5_000 - 1_250
    assert tasks["lint"]["delta"]["attemptCount"] == 1
    # lint's QC: none ran on its latest attempt in a (null), so there is no QC delta.
    assert tasks["lint"]["delta"]["qcScore"] is None
    assert set(tasks["docs"]["delta"].values()) == {None} and set(tasks["ship"]["delta"].values()) == {None}


def test_it_flags_what_got_better_or_worse_and_counts_it(runs):
    data = selectors.execution_compare(a_id="run-1", b_id="run-2")
    changed = {key: [t["taskId"] for t in tasks] for key, tasks in data["changes"].items()}
    assert changed == {"newlyFailing": ["unit"], "fixed": ["e2e"], "qcDown": ["unit"], "qcUp": ["e2e"],
                       "moreAttempts": ["lint"], "fewerAttempts": [], "tokensUp": ["perf"], "tokensDown": []}
    assert data["counts"] == {"newlyFailing": 1, "fixed": 1, "qcDown": 1, "qcUp": 1, "moreAttempts": 1,
                              "fewerAttempts": 0, "tokensUp": 1, "tokensDown": 0, "outputChanged": 3,
                              "inBoth": 5, "onlyInA": 1, "onlyInB": 1}
    # lint's latest output is "clean" again: the same, though it took two attempts.
    assert {t["taskId"] for t in data["tasks"] if t["outputChanged"]} == {"unit", "e2e", "perf"}
    assert [t["taskId"] for t in data["only_a"]] == ["docs"] and [t["taskId"] for t in data["only_b"]] == ["ship"]


def test_it_compares_the_executions_own_numbers(runs):
    data = selectors.execution_compare(a_id="run-1", b_id="run-2")
    a, b = data["a"], data["b"]
    assert (a["executionId"], b["executionId"]) == ("run-1", "run-2")
    assert data["deltas"]["tasksFailed"] == b["tasksFailed"] - a["tasksFailed"]
    assert data["deltas"]["tokensTotal"] == b["tokensTotal"] - a["tokensTotal"] != 0
    assert data["deltas"]["elapsedMs"] == b["elapsedMs"] - a["elapsedMs"] == 60_000  # one task more


def test_it_answers_none_for_an_execution_that_does_not_exist_and_no_deltas(runs):
    data = selectors.execution_compare(a_id="run-1", b_id="nope")
    assert data["b"] is None and data["a"]["executionId"] == "run-1" and data["deltas"] is None
    assert all(t["presence"] == "a" for t in data["tasks"]) and len(data["tasks"]) == 6
    assert selectors.execution_compare(a_id="nope", b_id="nope-2")["tasks"] == []


def test_it_reads_one_tasks_outputs_for_the_diff_only_when_asked(runs):
    assert selectors.execution_compare(a_id="run-1", b_id="run-2")["outputs"] is None
    data = selectors.execution_compare(a_id="run-1", b_id="run-2", task_id="unit")
    assert data["outputs"]["a"]["output"] == "120 passed"
    assert data["outputs"]["b"]["output"].startswith("117 passed")
    alone = selectors.compare_outputs(a_id="run-1", b_id="run-2", task_id="unit")
    assert alone == {"a_found": True, "b_found": True, "outputs": data["outputs"]}
    diff = rendering.runs_output_diff(alone["outputs"], a_id="run-1", b_id="run-2")
    assert [line["text"] for line in diff["lines"] if line["kind"] in ("add", "del")] == [
        "-120 passed", "+117 passed", "+3 failed <script>alert(1)</script>"]
    assert [line["text"] for line in diff["lines"] if line["kind"] == "meta"] == ["--- run-1", "+++ run-2"]
    ship = selectors.compare_outputs(a_id="run-1", b_id="run-2", task_id="ship")["outputs"]
    assert ship["a"] is None and ship["b"]["output"] == "shipped"
    assert rendering.runs_output_diff(ship, a_id="run-1", b_id="run-2") is None


def test_it_reads_the_head_of_long_outputs_with_their_sizes(ingest):
    long = "line\n" * 20_000
    for eid in ("x-1", "x-2"):
        assert ingest.start(eid, "p", 1, T0).status_code == 201
        assert ingest.task(eid, "t", result(output=long + eid)).status_code == 201
    outputs = selectors.compare_outputs(a_id="x-1", b_id="x-2", task_id="t", text_chars=1_000)["outputs"]
    assert len(outputs["a"]["output"]) == 1_000 and outputs["a"]["outputChars"] == len(long) + 3


def test_the_previous_run_is_the_latest_other_run_of_the_plan_started_before(ingest):
    compare.build(ingest)  # run-1 at T0, run-2 a day later, plan "release"
    assert ingest.start("other-plan", "elsewhere", 1, T0 + compare.DAY // 2).status_code == 201
    assert ingest.start("run-3", "release", 1, T0 + 2 * compare.DAY).status_code == 201
    assert ingest.start("tie", "release", 1, T0 + 2 * compare.DAY).status_code == 201  # same start as run-3
    previous = {eid: selectors.execution_detail(execution_id=eid)["previous_run_id"]
                for eid in ("run-1", "run-2", "run-3", "tie", "other-plan")}
    # Ties are broken by id: "run-3" sorts before "tie".
    assert previous == {"run-1": None, "run-2": "run-1", "run-3": "run-2", "tie": "run-3", "other-plan": None}
    # Only task results, no start event: no plan and no start, so no previous run.
    assert ingest.task("stray", "build", result()).status_code == 201
    assert selectors.execution_detail(execution_id="stray")["previous_run_id"] is None
