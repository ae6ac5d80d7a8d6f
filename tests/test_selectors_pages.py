"""The dashboard pages' selectors, on a real Neo4j, with data posted through the ingest API."""

from datetime import date

from executions import rendering, selectors
from executions.charts import execution_timeline
from executions.rendering import with_output_diffs
from tests.support.graph import cypher
from tests.support.pages import PLAN, T0, result, run

DAY = 86_400_000


def _ids(listing):
    return [e["executionId"] for e in listing["executions"]]


def test_it_lists_executions_newest_first_with_their_counters(ingest):
    run(ingest, "old", start=T0, tasks=2)
    run(ingest, "new", start=T0 + DAY, tasks=3, failed=(1,))
    listing = selectors.execution_list()
    assert _ids(listing) == ["new", "old"]
    new = listing["executions"][0]
    assert (new["status"], new["tasksSuccessful"], new["tasksFailed"], new["tasksTotal"]) == ("failed", 2, 1, 3)
    assert (new["tokensTotal"], new["toolCalls"]) == (3 * 1250, 6)
    assert new["elapsedMs"] == 4 * 60_000 and new["stale"] is False
    assert listing["plan_ids"] == ["plan-a"] and listing["any_running"] is False


def test_it_places_an_execution_whose_start_has_not_arrived_by_its_first_attempts_start(ingest):
    run(ingest, "before", start=T0 - DAY)
    run(ingest, "after", start=T0 + DAY)
    # Its attempt began at T0 (it completed a minute later): between the two, not above both.
    ingest.task("no-start", "x", result(timestamp=T0 + 60_000))
    listing = selectors.execution_list()
    assert _ids(listing) == ["after", "no-start", "before"]
    assert [e["started"] for e in listing["executions"]] == [True, False, True]
    assert listing["executions"][1]["firstKnownAt"] == T0
    assert _ids(selectors.execution_list(start_event="missing")) == ["no-start"]
    assert _ids(selectors.execution_list(start_event="received")) == ["after", "before"]
    # The days filter the first-known time too (as the failure report places it).
    assert _ids(selectors.execution_list(started_from=date(2025, 11, 13), started_to=date(2025, 11, 13))) == ["no-start"]
    # Its start moves it to the start's time.
    assert ingest.start("no-start", "plan-a", 1, T0 + 2 * DAY).status_code == 201
    assert _ids(selectors.execution_list()) == ["no-start", "after", "before"]
    assert _ids(selectors.execution_list(start_event="missing")) == []


def test_it_filters_by_status_plan_and_started_dates(ingest):
    run(ingest, "a", plan_id="p1", start=T0)  # 2025-11-13
    run(ingest, "b", plan_id="p2", start=T0 + DAY, failed=(0,))  # 2025-11-14
    run(ingest, "c", plan_id="p1", start=T0 + 2 * DAY, finish=False)  # 2025-11-15
    assert _ids(selectors.execution_list(status="failed")) == ["b"]
    assert _ids(selectors.execution_list(status="running")) == ["c"]
    assert _ids(selectors.execution_list(plan_id="p1")) == ["c", "a"]
    assert _ids(selectors.execution_list(started_from=date(2025, 11, 14))) == ["c", "b"]
    # "to" includes the whole day.
    assert _ids(selectors.execution_list(started_to=date(2025, 11, 14))) == ["b", "a"]
    assert _ids(selectors.execution_list(started_from=date(2025, 11, 14), started_to=date(2025, 11, 14))) == ["b"]
    assert _ids(selectors.execution_list(plan_id="p1", status="completed")) == ["a"]
    assert selectors.execution_list(plan_id="p1")["any_running"] is True


def test_it_searches_execution_ids_plan_ids_and_task_titles_ignoring_case(ingest):
    run(ingest, "exec-alpha", plan_id="billing", start=T0, title="Write tests")
    run(ingest, "exec-beta", plan_id="search-plan", start=T0 + 1, title="Deploy")
    run(ingest, "exec-gamma", plan_id="other", start=T0 + 2, title="Refactor PARSER")
    assert _ids(selectors.execution_list(search="ALPHA")) == ["exec-alpha"]
    assert _ids(selectors.execution_list(search="search-pl")) == ["exec-beta"]
    assert _ids(selectors.execution_list(search="parser")) == ["exec-gamma"]
    assert _ids(selectors.execution_list(search="exec-")) == ["exec-gamma", "exec-beta", "exec-alpha"]
    assert _ids(selectors.execution_list(search="  ")) == ["exec-gamma", "exec-beta", "exec-alpha"]


def test_it_passes_filter_values_as_parameters_not_as_cypher(ingest):
    run(ingest, "e1")
    hostile = "x' OR 1=1 WITH e MATCH (n) DETACH DELETE n //"
    assert selectors.execution_list(search=hostile)["executions"] == []
    assert selectors.execution_list(plan_id=hostile, status="running' OR true //")["executions"] == []
    assert cypher("MATCH (e:OrchestrationExecution) RETURN count(e)") == [[1]]


def test_it_paginates_newest_first_and_says_whether_there_is_more(ingest):
    for i in range(5):
        ingest.start(f"e{i}", "p", 1, T0 + i * 1000)
    first = selectors.execution_list(page=1, per_page=2)
    second = selectors.execution_list(page=2, per_page=2)
    last = selectors.execution_list(page=3, per_page=2)
    assert (_ids(first), first["has_previous"], first["has_next"]) == (["e4", "e3"], False, True)
    assert (_ids(second), second["has_previous"], second["has_next"]) == (["e2", "e1"], True, True)
    assert (_ids(last), last["has_next"]) == (["e0"], False)
    assert selectors.execution_list(page=9, per_page=2)["executions"] == []


def test_it_flags_a_running_execution_without_recent_events_as_stale(ingest, settings, frozen_clock):
    run(ingest, "running", finish=False)
    run(ingest, "finished", start=T0 + 1)
    assert {e["executionId"]: e["stale"] for e in selectors.execution_list()["executions"]} == {
        "running": False, "finished": False}
    # Exactly the allowed silence is not stale yet; a millisecond more is.
    frozen_clock.advance(seconds=settings.EXECUTION_STALE_AFTER_SECONDS)
    assert selectors.execution_detail(execution_id="running")["execution"]["stale"] is False
    frozen_clock.advance(ms=1)
    listing = {e["executionId"]: e["stale"] for e in selectors.execution_list()["executions"]}
    assert listing == {"running": True, "finished": False}
    assert selectors.execution_detail(execution_id="running")["execution"]["stale"] is True
    # News makes it fresh again.
    ingest.task("running", "late", result())
    assert selectors.execution_detail(execution_id="running")["execution"]["stale"] is False


def test_it_details_an_execution_with_its_tasks_and_a_timeline(ingest):
    ingest.plan("plan-a", PLAN)
    run(ingest, "e", tasks=4, failed=(2,))
    detail = selectors.execution_detail(execution_id="e")
    execution = detail["execution"]
    assert (execution["status"], execution["planTitle"], execution["tasksPending"]) == ("failed", "Build the API", 0)
    assert execution["elapsedMs"] == 5 * 60_000
    assert [t["taskId"] for t in detail["tasks"]] == ["t0", "t1", "t2", "t3"]
    assert [t["status"] for t in detail["tasks"]] == ["success", "success", "failure", "success"]
    assert "output" not in detail["tasks"][0] and detail["tasks"][2]["error"] == "boom 2"
    timeline = execution_timeline(execution, detail["tasks"], now=T0 + 10 * 60_000)
    bars = timeline["rows"]
    # Execution spans T0 .. T0+5min; task i runs from T0+i min to T0+(i+1) min.
    assert [(b["taskId"], b["left"], b["width"]) for b in bars] == [
        ("t0", 0.0, 20.0), ("t1", 20.0, 20.0), ("t2", 40.0, 20.0), ("t3", 60.0, 20.0)]
    assert [b["parallelGroup"] for b in bars] == [0, 0, 0, 1]
    assert timeline["groups"] == [0, 1]


def test_it_measures_a_running_execution_from_start_to_now_and_counts_pending_tasks(ingest, frozen_clock):
    now = frozen_clock.now_ms()
    run(ingest, "live", tasks=1, start=now - 90_000, finish=False)
    ingest.start("live2", "p", 5, now - 1000)
    execution = selectors.execution_detail(execution_id="live")["execution"]
    assert execution["status"] == "running" and execution["elapsedMs"] == 90_000
    frozen_clock.advance(seconds=10)
    assert selectors.execution_detail(execution_id="live")["execution"]["elapsedMs"] == 100_000
    assert selectors.execution_detail(execution_id="live2")["execution"]["tasksPending"] == 5


def test_it_returns_none_for_unknown_executions_tasks_and_plans(ingest):
    run(ingest, "e", tasks=1)
    run(ingest, "other", tasks=2)
    assert selectors.execution_detail(execution_id="nope") is None
    assert selectors.execution_version(execution_id="nope") is None
    assert selectors.task_detail(execution_id="e", task_id="nope") is None
    # A task of another execution is not found under this one.
    assert selectors.task_detail(execution_id="e", task_id="t1") is None
    assert selectors.plan_detail(plan_id="nope", page=1) is None


def test_it_bumps_the_version_on_every_change_and_not_on_replays(ingest):
    ingest.start("e", "p", 1, T0)
    v1 = selectors.execution_version(execution_id="e")
    ingest.task("e", "a", result())
    v2 = selectors.execution_version(execution_id="e")
    ingest.task("e", "a", result())  # replay: no change
    v3 = selectors.execution_version(execution_id="e")
    ingest.finish("e", T0 + 10)
    v4 = selectors.execution_version(execution_id="e")
    assert v1["status"] == "running" and v4["status"] == "completed"
    assert v1["version"] < v2["version"] == v3["version"] < v4["version"]


def test_it_gives_a_task_every_attempt_newest_first_with_qc_and_a_diff_against_the_previous(ingest):
    ingest.start("e", "p", 1, T0)
    first = result("failure", attemptNumber=1, output="line one\nline two\n", error="tests missing",
                   qcVerification={"passed": False, "score": 35, "feedback": "no tests",
                                   "issues": ["No tests"], "requiredFixes": ["Add tests"]})
    second = result(attemptNumber=2, output="line one\nline two, fixed\ntests added\n",
                    qcVerification={"passed": True, "score": 90, "feedback": "good"})
    ingest.task("e", "a", first, task={"id": "a", "title": "Write code", "qcRole": "Strict reviewer"})
    ingest.task("e", "a", second)
    detail = selectors.task_detail(execution_id="e", task_id="a")
    task, attempts = detail["task"], with_output_diffs(detail["attempts"])
    assert (task["status"], task["attemptCount"], task["qcRoleDescription"]) == ("success", 2, "Strict reviewer")
    assert [a["attemptNumber"] for a in attempts] == [2, 1]
    assert [(a["qcPassed"], a["qcScore"], a["qcIssues"], a["qcRequiredFixes"]) for a in attempts] == [
        (True, 90, [], []), (False, 35, ["No tests"], ["Add tests"])]
    diff = attempts[0]["diff"]
    assert attempts[0]["previousAttemptNumber"] == 1
    assert (diff["added"], diff["removed"], diff["identical"]) == (2, 1, False)
    changed = [(line["kind"], line["text"]) for line in diff["lines"] if line["kind"] in ("add", "del")]
    assert changed == [("del", "-line two"), ("add", "+line two, fixed"), ("add", "+tests added")]
    assert attempts[1]["diff"] is None  # nothing older to compare with


def test_it_diffs_against_the_last_attempt_that_has_an_output_skipping_history_only_ones(ingest):
    ingest.start("e", "p", 1, T0)
    history = [
        {"passed": False, "score": 10, "feedback": "f1", "issues": ["i1"], "requiredFixes": ["r1"]},
        {"passed": False, "score": 40, "feedback": "f2", "issues": ["i2"], "requiredFixes": ["r2"]},
        {"passed": True, "score": 95, "feedback": "f3"},
    ]
    ingest.task("e", "a", result("failure", attemptNumber=1, output="v1"))
    ingest.task("e", "a", result(attemptNumber=3, output="v3", qcVerification=history[2], qcVerificationHistory=history))
    attempts = with_output_diffs(selectors.task_detail(execution_id="e", task_id="a")["attempts"])
    assert [(a["attemptNumber"], a["source"], a["hasOutput"]) for a in attempts] == [
        (3, "result", True), (2, "history", False), (1, "result", True)]
    assert attempts[0]["previousAttemptNumber"] == 1
    assert [line["text"] for line in attempts[0]["diff"]["lines"] if line["kind"] in ("add", "del")] == ["-v1", "+v3"]
    assert attempts[1]["diff"] is None and attempts[1]["qcIssues"] == ["i2"]


def test_it_reports_identical_outputs_as_an_identical_diff(ingest):
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result("failure", attemptNumber=1, output="same"))
    ingest.task("e", "a", result(attemptNumber=2, output="same"))
    diff = with_output_diffs(selectors.task_detail(execution_id="e", task_id="a")["attempts"])[0]["diff"]
    assert diff == {"lines": [], "added": 0, "removed": 0, "identical": True, "limited": False,
                    "maxLines": rendering.DIFF_MAX_LINES, "maxChars": rendering.DIFF_MAX_CHARS}


def test_it_tells_no_qc_apart_from_a_zero_score(ingest):
    ingest.start("e", "p", 2, T0)
    ingest.task("e", "noqc", result())
    ingest.task("e", "zero", result("failure", qcVerification={"passed": False, "score": 0, "feedback": "nothing"}))
    tasks = {t["taskId"]: t for t in selectors.execution_detail(execution_id="e")["tasks"]}
    assert (tasks["noqc"]["qcPassed"], tasks["noqc"]["qcScore"]) == (None, None)
    assert (tasks["zero"]["qcPassed"], tasks["zero"]["qcScore"]) == (False, 0)


def test_it_summarises_each_plan_with_runs_success_rate_and_averages(ingest):
    ingest.plan("plan-a", PLAN)
    run(ingest, "a1", plan_id="plan-a", tasks=2, start=T0)  # 3 min, 2500 tokens
    run(ingest, "a2", plan_id="plan-a", tasks=4, failed=(0,), start=T0 + DAY)  # 5 min, 5000 tokens
    run(ingest, "a3", plan_id="plan-a", tasks=1, start=T0 + 2 * DAY, finish=False)
    run(ingest, "b1", plan_id="plan-b", tasks=1, start=T0 - DAY)
    ingest.plan("unused", {"title": "Never run"})
    plans = {p["planId"]: p for p in selectors.plan_list()}
    assert list(plans) == ["plan-a", "plan-b", "unused"]
    a = plans["plan-a"]
    assert (a["title"], a["registered"], a["taskCount"]) == ("Build the API", True, 3)
    assert (a["stats"]["runs"], a["stats"]["completed"], a["stats"]["failed"], a["stats"]["running"]) == (3, 1, 1, 1)
    assert a["stats"]["successRate"] == 0.5
    assert a["stats"]["avgDurationMs"] == 4 * 60_000
    assert a["stats"]["avgTokens"] == round((2500 + 5000 + 1250) / 3)
    assert plans["plan-b"]["registered"] is False and plans["plan-b"]["stats"]["successRate"] == 1.0
    assert (plans["unused"]["stats"]["runs"], plans["unused"]["stats"]["successRate"]) == (0, None)


def test_it_details_a_plan_with_its_tasks_groups_dependencies_and_paginated_history(ingest):
    ingest.plan("plan-a", PLAN)
    for i in range(3):
        run(ingest, f"e{i}", plan_id="plan-a", tasks=1, start=T0 + i * DAY)
    first = selectors.plan_detail(plan_id="plan-a", page=1, per_page=2)
    assert first["plan"]["title"] == "Build the API"
    assert [t["id"] for t in first["tasks"]] == ["design", "api", "docs"]
    assert first["tasks"][1]["dependencies"] == [{"id": "design", "title": "Design the schema"}]
    assert [(g["group"], [t["id"] for t in g["tasks"]]) for g in first["parallel_groups"]] == [
        (1, ["design"]), (2, ["api", "docs"])]
    assert [e["executionId"] for e in first["executions"]] == ["e2", "e1"]
    assert (first["has_next"], first["has_previous"], first["stats"]["runs"]) == (True, False, 3)
    second = selectors.plan_detail(plan_id="plan-a", page=2, per_page=2)
    assert [e["executionId"] for e in second["executions"]] == ["e0"] and second["has_next"] is False
