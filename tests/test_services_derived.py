"""Facts that every write derives from the stored attempts for the list search and the failure report,
and the rederive_graph command that brings an older graph up to date."""

import io

from django.core.management import call_command

from tests.support.graph import cypher

E = "exec-1"
T0 = 1_763_000_000_000


def _result(status, attempt, qc_passed, tokens=10, **extra):
    return {"status": status, "attemptNumber": attempt, "duration": 5, "tokens": {"input": tokens, "output": 0},
            "qcVerification": {"passed": qc_passed, "score": 90 if qc_passed else 20, "feedback": "f",
                               "issues": [] if qc_passed else ["no tests"], "requiredFixes": []}, **extra}


def _links(kind):
    return cypher(f"MATCH (:OrchestrationExecution)-[:{kind}]->(t:TaskExecution) RETURN t.taskId ORDER BY t.taskId")


def _derived():
    return {
        "failed": _links("FAILED_TASK"),
        "qcFailed": _links("QC_FAILED_TASK"),
        "retried": _links("RETRIED_TASK"),
        "execution": cypher("MATCH (e:OrchestrationExecution) RETURN e.executionId, e.reworkTokens, e.taskIds, e.tasksFailed, e.version ORDER BY e.executionId"),
        "search": cypher("MATCH (e:OrchestrationExecution) RETURN e.searchText ORDER BY e.executionId"),
    }


def test_it_follows_a_task_from_failure_to_a_pass_after_retry(ingest):
    ingest.start(E, "p", 2, T0)
    ingest.task(E, "b", _result("success", 1, True))
    ingest.task(E, "a", _result("failure", 1, False, tokens=70, error="boom"), task={"id": "a", "title": "Write API Docs"})
    assert _links("FAILED_TASK") == [["a"]]
    assert _links("QC_FAILED_TASK") == [["a"]]
    assert _links("RETRIED_TASK") == []
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.reworkTokens, e.taskIds") == [[70, ["a", "b"]]]

    ingest.task(E, "a", _result("success", 2, True, tokens=30))
    assert _links("FAILED_TASK") == []
    # Attempt 1 still failed QC: it stays in the QC report; the task now counts as retried.
    assert _links("QC_FAILED_TASK") == [["a"]]
    assert _links("RETRIED_TASK") == [["a"]]
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.reworkTokens") == [[70]]
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.searchText") == [["exec-1\np\nwrite api docs\nb"]]


def test_it_derives_the_same_facts_when_the_retry_arrives_before_the_failure(ingest):
    ingest.task(E, "a", _result("success", 2, True, tokens=30))
    assert _links("RETRIED_TASK") == [["a"]]
    ingest.task(E, "a", _result("failure", 1, False, tokens=70))
    assert (_links("FAILED_TASK"), _links("QC_FAILED_TASK"), _links("RETRIED_TASK")) == ([], [["a"]], [["a"]])
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.reworkTokens") == [[70]]


def test_it_rederives_a_graph_written_without_the_derived_facts_and_leaves_versions_alone(ingest):
    ingest.start(E, "p", 3, T0)
    ingest.task(E, "a", _result("failure", 1, False, tokens=70), task={"id": "a", "title": "Lint"})
    ingest.task(E, "a", _result("success", 2, True))
    ingest.task(E, "b", _result("failure", 1, False, error="boom"))
    ingest.task(E, "c", _result("success", 1, True))
    ingest.task("exec-2", "z", _result("failure", 1, False))  # a second batch of one execution
    expected = _derived()
    # What a graph written by an older version looks like: none of the derived facts.
    cypher("MATCH (e:OrchestrationExecution) REMOVE e.reworkTokens, e.taskIds, e.searchText")
    cypher("MATCH ()-[r:FAILED_TASK|QC_FAILED_TASK|RETRIED_TASK]->() DELETE r")

    out = io.StringIO()
    call_command("rederive_graph", "--if-needed", batch_size=1, stdout=out)
    assert "re-derived 2 executions" in out.getvalue()

    assert _derived() == expected
    assert expected["qcFailed"] == [["a"], ["b"], ["z"]] and expected["retried"] == [["a"]]


def test_it_skips_rederiving_when_every_execution_has_its_derived_facts(ingest):
    ingest.task(E, "a", _result("success", 1, True))
    out = io.StringIO()
    call_command("rederive_graph", "--if-needed", stdout=out)
    assert out.getvalue().strip() == "every execution has its derived facts"


def test_it_keeps_the_search_text_current_when_the_start_or_a_new_title_arrives_late(ingest):
    from executions import selectors

    ingest.task(E, "a", _result("success", 1, True))
    assert selectors.execution_list(search="billing")["executions"] == []
    ingest.start(E, "billing-v2", 2, T0)
    ingest.task(E, "b", _result("success", 1, True), task={"id": "b", "title": "Reconcile Ledger"})
    assert [e["executionId"] for e in selectors.execution_list(search="BILLING")["executions"]] == [E]
    assert [e["executionId"] for e in selectors.execution_list(search="ledger")["executions"]] == [E]


def test_it_rederives_an_execution_written_before_first_known_times(ingest):
    ingest.task("orphan", "a", {"status": "failure", "duration": 500, "timestamp": 1_763_000_001_000})
    cypher("MATCH (e:OrchestrationExecution) REMOVE e.firstKnownAt")
    out = io.StringIO()
    call_command("rederive_graph", "--if-needed", stdout=out)
    assert "re-derived 1 executions" in out.getvalue()
    assert cypher("MATCH (e:OrchestrationExecution) RETURN e.firstKnownAt") == [[1_763_000_000_500]]
