"""manage.py import_mimir: the report on stdout and as JSON, the progress bar on stderr, --dry-run,
--plan-map, --limit, --source (another Neo4j, here the test one over its own Bolt URL)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support import mimir
from tests.support.graph import cypher

OURS = "n:OrchestrationExecution OR n:TaskExecution OR n:TaskAttempt OR n:Plan"


@pytest.fixture
def sample():
    mimir.load_sample()


def _run(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_mimir", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_it_prints_the_counts_and_every_repair_and_writes_the_report_as_json(sample, tmp_path):
    report_file = tmp_path / "report.json"
    out, err = _run(report_json=str(report_file))
    assert "read from the product's database: 9 executions, 1 executions without a node, 3 plans, " \
           "39 task executions" in out
    assert "executions: 10 imported" in out and "task executions: 39 created" in out
    assert "changes: 52" in out
    assert "counter          exec-1796110314856  tokensTotal: 27153 -> 48882" in out
    assert "duration         exec-1796110318673-32d1h  durationMs: 3600000 -> 2768400000" in out
    assert f"orphan_attached  {mimir.ORPHAN} / flight-finder" in out
    assert "exec-1796110318441: it announced 2 tasks" in out
    # The bar: on stderr, ending at every execution.
    assert "10/10" in err and "executions" in err
    report = json.loads(report_file.read_text())
    assert report["changes"] == 52 and report["dryRun"] is False
    kinds = {r["kind"] for r in report["repairs"]}
    assert {"counter", "duration", "status", "plan_link", "orphan_attached", "left_running", "qc_not_run",
            "qc_list_split"} == kinds
    assert len(report["unmatched"]) == 5 and report["refused"] == []


@pytest.mark.slow  # two imports of the sample
def test_it_reports_zero_changes_when_run_again(sample):
    _run()
    out, _ = _run(no_progress=True)
    assert "changes: 0" in out and "repairs: 0" in out and "executions: 10 unchanged" in out


def test_it_writes_nothing_on_a_dry_run(sample, tmp_path):
    out, _ = _run(dry_run=True, report_json=str(tmp_path / "r.json"))
    assert out.startswith("dry run (nothing written): ") and "changes: 52" in out
    assert cypher(f"MATCH (n) WHERE {OURS} RETURN count(n)") == [[0]]
    assert json.loads((tmp_path / "r.json").read_text())["dryRun"] is True


@pytest.mark.slow  # two imports of the sample
def test_it_stops_after_a_limit_and_a_second_run_goes_on(sample):
    out, err = _run(limit=4)
    assert "stopped after 4 executions" in out and "4/4" in err
    out, _ = _run()
    assert "executions: 6 imported, 4 unchanged" in out


def test_it_links_the_executions_a_plan_map_names(sample, tmp_path):
    plan_map = tmp_path / "plans.json"
    plan_map.write_text(json.dumps({"exec-1796110318441": "memory-1-1796110314685"}))
    out, _ = _run(plan_map=str(plan_map))
    assert "plan links: 1 mapped, 5 matched by task ids, 4 unmatched" in out
    assert cypher("MATCH (:OrchestrationExecution {executionId: 'exec-1796110318441'})-[:EXECUTES_PLAN]->(p) "
                  "RETURN p.planId, p.registered") == [["memory-1-1796110314685", True]]


@pytest.mark.parametrize("content", ["not json", '["a list"]', '{"exec-1": 7}'])
def test_it_refuses_a_plan_map_that_is_not_an_object_of_ids(tmp_path, content):
    plan_map = tmp_path / "plans.json"
    plan_map.write_text(content)
    with pytest.raises(CommandError, match="--plan-map") as refused:
        _run(plan_map=str(plan_map))
    assert refused.value.returncode == 2


def test_it_reads_mimir_from_another_neo4j_given_as_source(sample, neo4j_url):
    out, _ = _run(source=neo4j_url, no_progress=True)
    assert "read from bolt://127.0.0.1:" in out and "neo4j:neo4j" not in out  # never the password
    assert "executions: 10 imported" in out
    assert cypher("MATCH (e:OrchestrationExecution {executionId: 'exec-1796110316274'}) RETURN e.tokensTotal") == [
        [123_109]]


def test_it_says_when_the_source_cannot_be_reached():
    with pytest.raises(CommandError, match="run it again to resume"):
        _run(source="bolt://neo4j:x@127.0.0.1:9", no_progress=True)


@pytest.mark.slow
def test_it_imports_ten_thousand_generated_task_executions_with_a_progress_bar_and_a_summary():
    mimir.generate(executions=1_000, tasks_per_execution=10)
    out, err = _run(batch_size=200)
    assert "1000/1000" in err
    assert "executions: 1000 imported" in out and "task executions: 10000 created" in out


def test_it_refuses_a_source_that_is_not_a_bolt_url():
    with pytest.raises(CommandError, match="--source") as refused:
        _run(source="http://127.0.0.1:7474", no_progress=True)
    assert refused.value.returncode == 2
