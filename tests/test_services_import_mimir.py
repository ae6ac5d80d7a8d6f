"""services.mimir_import against the real graph Mimir's own persistence code wrote (the shipped
sample, loaded into the test Neo4j as Mimir's :Node beside our graph): every scenario of the
sample's README comes out with its truth, every repair is reported, and a second run changes
nothing."""

from __future__ import annotations

import pytest

from executions import selectors, services
from executions.services.import_mimir import split_qc_list
from tests.support import mimir
from tests.support.graph import cypher

# The reads price what they read from the SQL price table (executions/pricing.py).
pytestmark = pytest.mark.django_db

OURS = "n:OrchestrationExecution OR n:TaskExecution OR n:TaskAttempt OR n:Plan OR n:PlanTask"


@pytest.fixture
def sample():
    mimir.load_sample()


def _import(**kwargs) -> services.ImportReport:
    return services.mimir_import(source=services.MimirSource(), **kwargs)


def _task(execution: dict, task_id: str) -> dict:
    (task,) = [t for t in execution["taskExecutions"] if t["taskId"] == task_id]
    return task


def _snapshot() -> dict:
    """Everything of ours in the graph but the per-write nonces (random by design) and the live
    poll's `changedVersion`, which counts writes, not data: a replay marks its rows one version
    ahead by design (ingest/_refresh_tasks.cypher), and an import in other batches writes in
    another order."""
    rows = cypher(
        f"MATCH (n) WHERE {OURS} "
        "RETURN labels(n)[0], n {.*, lockNonce: null, nonce: null, changedVersion: null} AS props, "
        "[(n)-[r]->(m) | [type(r), coalesce(m.taskId, m.planId)]] AS links"
    )
    return sorted((label, sorted(props.items(), key=str), sorted(links)) for label, props, links in rows)


def test_it_imports_every_scenario_with_the_truth_of_the_samples_readme(sample):
    report = _import()
    for eid, (status, ok, bad, tokens, calls, duration) in mimir.TRUTH.items():
        execution = selectors.execution_get(execution_id=eid)
        got = (execution["status"], execution["tasksSuccessful"], execution["tasksFailed"],
               execution["tokensTotal"], execution["toolCalls"], execution["durationMs"])
        assert got == (status, ok, bad, tokens, calls, duration), eid
        assert execution["tokensTotal"] == execution["tokensInput"] + execution["tokensOutput"]
    # Announced, never reported: the long-duration ones' one task, the runs that stopped early.
    assert selectors.execution_get(execution_id="exec-1796110318654-26h")["tasksMissing"] == 1
    assert selectors.execution_get(execution_id="exec-1796110317904")["tasksTotal"] == 10
    assert report.read == {"plans": 3, "executions": 9, "executions without a node": 1, "task executions": 39}
    assert report.executions == {"imported": 10}
    assert report.task_executions == {"created": 39}
    assert report.plans == {"created": 3}
    assert report.refused == []


def test_it_shows_an_execution_a_crash_left_running_as_stale(sample):
    _import()
    crashed = selectors.execution_get(execution_id="exec-1796110321409")
    assert crashed["status"] == "running" and crashed["endTime"] is None
    # Its last news is Mimir's last write, not the import's time.
    assert crashed["lastEventAt"] == services.import_mimir.epoch_ms("2026-12-01T07:32:01.680000000Z")
    assert crashed["stale"] is True


def test_it_keeps_one_attempt_per_mimir_node_with_its_number(sample):
    _import()
    execution = selectors.execution_get(execution_id="exec-1796110316274")
    for task_id, score in (("validation-checker", 91), ("improvement-implementer-2", 88)):
        task = _task(execution, task_id)
        assert (task["attemptNumber"], task["attemptCount"], task["qcScore"], task["qcPassed"]) == (2, 1, score, True)
    retried = cypher("MATCH (:OrchestrationExecution {executionId: 'exec-1796110316274'})-[:RETRIED_TASK]->(t) "
                     "RETURN t.taskId ORDER BY t.taskId")
    assert retried == [["improvement-implementer-2"], ["validation-checker"]]
    # The parallel group comes from the plan the execution is linked to.
    assert _task(execution, "improvement-implementer-2")["parallelGroup"] == 2


def test_it_tells_no_qc_from_a_failed_qc_scored_zero_and_splits_the_qc_lists_back(sample):
    _import()
    failure = selectors.execution_get(execution_id="exec-1796110317372")
    packing = _task(failure, "packing-list-generator")
    # QC ran and failed with 0, no feedback, no issues: Mimir stored '' for the empty lists.
    assert (packing["status"], packing["qcPassed"], packing["qcScore"], packing["qcFeedback"],
            packing["qcIssues"], packing["qcRequiredFixes"]) == ("failure", False, 0, "", [], [])
    assert packing["error"] == "QC verification failed after 2 attempts"
    # A transformer: no QC ran, although Mimir stored passed=false, score=0.
    transformer = _task(failure, "research-consolidator")
    assert (transformer["qcPassed"], transformer["qcScore"], transformer["qcIssues"]) == (None, None, None)
    assert cypher("MATCH (:OrchestrationExecution {executionId: 'exec-1796110317372'})-[:FAILED_TASK]->(t) "
                  "RETURN t.taskId") == [["packing-list-generator"]]
    # An item that held newlines (a heading and its bullets) stays one item.
    budget = _task(selectors.execution_get(execution_id="exec-1796110317904"), "budget-calculator")
    assert budget["qcIssues"] == ["Prices are estimates:\n- flights\n- hotels", "Currency not stated"]
    assert budget["qcRequiredFixes"] == [] and budget["qcFeedback"] == "Budget is complete; state the currency."


def test_it_splits_a_qc_list_at_each_newline_but_under_a_heading():
    assert split_qc_list(None) == ([], False) and split_qc_list("") == ([], False)
    assert split_qc_list("a\nb") == (["a", "b"], False)
    assert split_qc_list("- a\n- b") == (["- a", "- b"], False)
    assert split_qc_list("Fix:\n  indent\n1. one\nnext") == (["Fix:\n  indent\n1. one", "next"], True)


def test_it_links_plans_by_task_ids_and_reports_the_executions_it_cannot_link(sample):
    report = _import()
    for eid, plan_id in mimir.PLANS.items():
        assert selectors.execution_get(execution_id=eid)["planId"] == plan_id, eid
    detail = selectors.plan_detail(plan_id="memory-1-1796110314685")
    plan = detail["plan"]
    assert plan["registered"] is True and plan["taskCount"] == 8
    assert plan["title"].startswith("Plan: Test complex Lambda workflow")
    assert plan["description"].startswith("Test complex Lambda workflow")
    research = [t for t in detail["tasks"] if t["id"] == "research-1"][0]
    assert research["parallelGroup"] == 1 and research["dependencies"] == []
    # The replay announced 2 tasks (no plan has 2); the long ones ran none; the orphan has no start.
    unmatched = {u["executionId"]: u["reason"] for u in report.unmatched}
    assert set(unmatched) == {"exec-1796110318441", "exec-1796110318654-26h", "exec-1796110318673-32d1h",
                              "exec-1796110318695-59min", mimir.ORPHAN}
    assert "announced 2 tasks" in unmatched["exec-1796110318441"]
    assert "no start" in unmatched[mimir.ORPHAN]
    # Unlinked executions keep the plan id Mimir stored (their own id).
    assert selectors.execution_get(execution_id="exec-1796110318441")["planId"] == "exec-1796110318441"
    assert report.plan_links == {"matched by task ids": 5, "unmatched": 5}


def test_it_accepts_a_plan_map_for_executions_task_ids_cannot_link(sample):
    report = _import(plan_map={"exec-1796110318441": "memory-1-1796110314685"})
    assert selectors.execution_get(execution_id="exec-1796110318441")["planId"] == "memory-1-1796110314685"
    assert report.plan_links["mapped"] == 1
    assert "exec-1796110318441" not in {u["executionId"] for u in report.unmatched}


def test_it_attaches_an_orphaned_task_execution_to_its_created_execution(sample):
    _import()
    orphan = selectors.execution_get(execution_id=mimir.ORPHAN)
    assert orphan["started"] is False and orphan["status"] == "running"
    assert [t["taskId"] for t in orphan["taskExecutions"]] == ["flight-finder"]
    assert (orphan["tasksSuccessful"], orphan["tokensTotal"], orphan["toolCalls"]) == (1, 5_900, 6)


def test_it_reports_every_repair(sample):
    report = _import()
    repairs = {(r.kind, r.executionId, r.taskId, r.field): (r.mimir, r.derived) for r in report.repairs}
    for eid, stored in mimir.STORED.items():
        truth = mimir.TRUTH[eid]
        assert repairs[("counter", eid, None, "tokensTotal")] == (stored["tokensTotal"], truth[3])
        assert repairs[("counter", eid, None, "toolCalls")] == (stored["toolCalls"], truth[4])
    for eid, stored in mimir.STORED_DURATIONS.items():
        assert repairs[("duration", eid, None, "durationMs")] == (stored, mimir.TRUTH[eid][5])
    # 59 minutes: Mimir's duration was right, so nothing to repair.
    assert ("duration", "exec-1796110318695-59min", None, "durationMs") not in repairs
    assert repairs[("status", "exec-1796110318654-26h", None, "status")] == ("completed", "incomplete")
    for eid, plan_id in mimir.PLANS.items():
        assert repairs[("plan_link", eid, None, "planId")] == (eid, plan_id)
    assert ("orphan_attached", mimir.ORPHAN, "flight-finder", None) in repairs
    assert {r.executionId for r in report.repairs if r.kind == "left_running"} == {
        "exec-1796110321409", "exec-1796110318441"}
    not_run = {(r.executionId, r.taskId) for r in report.repairs if r.kind == "qc_not_run"}
    transformers = cypher("MATCH (t:Node {type: 'task_execution'}) WHERE t.qcIssues IS NULL "
                          "RETURN t.executionId, t.taskId")
    assert not_run == {tuple(row) for row in transformers} and len(not_run) == 8
    assert repairs[("qc_list_split", "exec-1796110317904", "budget-calculator", "qc.issues")][1] == [
        "Prices are estimates:\n- flights\n- hotels", "Currency not stated"]
    # Counters Mimir got right (task counts: it SETs them) are not repairs.
    assert not [r for r in report.repairs if r.field in ("tasksSuccessful", "tasksFailed")]
    assert not [r for r in report.repairs if r.kind == "qc_ambiguous"]
    assert report.changes == 10 + 39 + 3


@pytest.mark.slow  # two imports of the sample
def test_it_changes_nothing_when_run_again(sample):
    _import()
    before = _snapshot()
    again = _import()
    assert again.changes == 0 and again.repairs == [] and again.refused == []
    assert again.executions == {"unchanged": 10} and again.task_executions == {"unchanged": 39}
    assert again.plans == {"unchanged": 3}
    assert _snapshot() == before


def test_it_writes_nothing_on_a_dry_run_and_reports_what_a_run_would_do(sample):
    dry = _import(dry_run=True)
    assert cypher(f"MATCH (n) WHERE {OURS} RETURN count(n)") == [[0]]
    real = _import()
    assert {**dry.as_dict(), "dryRun": False} == real.as_dict()


@pytest.mark.slow  # three imports of the sample
def test_it_resumes_an_interrupted_import_to_the_same_result(sample):
    first = _import(limit=3, batch_size=2)
    assert first.stopped_after == 3 and first.executions == {"imported": 3}
    resumed = _import(batch_size=2)
    assert resumed.executions == {"unchanged": 3, "imported": 7}
    interrupted = _snapshot()
    cypher(f"MATCH (n) WHERE {OURS} DETACH DELETE n")
    _import()
    assert _snapshot() == interrupted


@pytest.mark.slow
def test_it_imports_a_generated_mimir_graph_of_ten_thousand_task_executions():
    truth = mimir.generate(executions=1_000, tasks_per_execution=10)
    seen = []
    report = _import(on_total=lambda n: seen.append(("total", n)), on_progress=lambda n: seen.append(n))
    assert seen[0] == ("total", 1_000) and sum(seen[1:]) == 1_000
    assert report.read["task executions"] == 10_000 and report.task_executions == {"created": 10_000}
    rows = cypher("MATCH (e:OrchestrationExecution) RETURN e.executionId, e.tasksSuccessful, e.tasksFailed, "
                  "e.tokensTotal, e.toolCalls, e.durationMs")
    got = {eid: dict(zip(("tasksSuccessful", "tasksFailed", "tokensTotal", "toolCalls", "durationMs"), rest,
                         strict=True)) for eid, *rest in rows}
    assert got == truth
    assert len([r for r in report.repairs if r.kind == "counter" and r.field == "tokensTotal"]) == 1_000
    assert _import().changes == 0


def _mimir_task(eid: str, task_id: str, **props) -> None:
    cypher(
        "MERGE (e:Node {id: $eid}) ON CREATE SET e.type = 'orchestration_execution', e.planId = $eid, "
        "e.status = 'running', e.startTime = datetime('2026-12-01T08:00:00Z'), e.tasksTotal = 2 "
        "CREATE (e)-[:HAS_TASK_EXECUTION]->(t:Node {type: 'task_execution', id: $eid + '-' + $taskId}) "
        "SET t += $props, t.executionId = $eid, t.taskId = $taskId, t.timestamp = datetime('2026-12-01T08:01:00Z')",
        {"eid": eid, "taskId": task_id, "props": {"status": "success", "tokensInput": 10, "tokensOutput": 5,
                                                   "tokensTotal": 15, "toolCalls": 1, "duration": 60_000, **props}},
    )


def test_it_reports_a_qc_verdict_it_cannot_tell_from_no_qc():
    # A QC role, passed=false, score=0 and nothing else: a failed QC scored 0 or no QC at all.
    _mimir_task("exec-1", "review", qcRoleDescription="Reviewer", qcPassed=False, qcScore=0)
    report = _import()
    task = _task(selectors.execution_get(execution_id="exec-1"), "review")
    assert (task["qcPassed"], task["qcScore"]) == (None, None)
    (ambiguous,) = [r for r in report.repairs if r.kind == "qc_ambiguous"]
    assert (ambiguous.executionId, ambiguous.taskId) == ("exec-1", "review")


def test_it_refuses_what_our_model_cannot_hold_naming_the_field_and_imports_the_rest():
    _mimir_task("exec-1", "good")
    _mimir_task("exec-1", "odd", status="skipped")
    report = _import()
    assert report.task_executions == {"created": 1, "refused": 1}
    assert report.executions == {"refused": 1}
    (refused,) = report.refused
    assert refused["id"] == "exec-1 / odd" and "result.status" in refused["reason"]
    assert [t["taskId"] for t in selectors.execution_get(execution_id="exec-1")["taskExecutions"]] == ["good"]
