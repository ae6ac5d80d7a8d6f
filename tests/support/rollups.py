"""The failure report's rollups: the stored rows, and the same rows recomputed from scratch from the
facts (executions, task executions, attempts) in Python: a path of its own, not the statements that
maintain them."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

from executions.models import NO_MODEL, ROLLUP_DAY_FIELDS, ROLLUP_TASK_FIELDS

from .graph import cypher

DAY_MS = 86_400_000

_FACTS = """
MATCH (e:OrchestrationExecution)
OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  RETURN collect([a.attemptNumber, a.status, a.tokensInput, a.tokensOutput, a.tokensTotal, a.qcPassed, a.error])
    AS attempts
}
WITH e, collect(CASE WHEN t IS NOT NULL THEN [t.taskId, attempts] END) AS tasks
RETURN e.planId, e.firstKnownAt, e.finished, e.cancelled, tasks
"""

# The attempts that failed QC, their lists trimmed by Cypher (as report/qc trims them).
_QC_FACTS = """
MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
WHERE a.qcPassed = false
RETURN e.planId, e.firstKnownAt, [x IN coalesce(a.qcIssues, []) | trim(x)], [x IN coalesce(a.qcRequiredFixes, []) | trim(x)]
"""

# Every attempt with what prices it: its own model, its task execution's and the plan's definition's.
_REWORK_FACTS = """
MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
OPTIONAL MATCH (d:PlanTask {planId: e.planId, taskId: t.taskId})
RETURN e.executionId, e.planId, e.firstKnownAt, a.status, a.source, a.tokensInput, a.tokensOutput, a.tokensTotal,
       a.timestamp, a.model, t.recommendedModel, d.recommendedModel
"""


def stored_rollups() -> dict[str, dict[tuple, Any]]:
    """Every rollup row that is not all zero, by label and key."""
    days = {
        (plan, day): tuple(values)
        for plan, day, *values in cypher(
            "MATCH (r:ReportDay) RETURN r.planKey, r.day, "
            + ", ".join(f"r.{f}" for f in ROLLUP_DAY_FIELDS)
        )
        if any(values)
    }
    tasks = {
        (plan, day, task): tuple(values)
        for plan, day, task, *values in cypher(
            "MATCH (r:ReportTaskDay) RETURN r.planKey, r.day, r.taskId, "
            + ", ".join(f"r.{f}" for f in ROLLUP_TASK_FIELDS)
        )
        if any(values)
    }
    retries = {
        (plan, day, task, attempts): count
        for plan, day, task, attempts, count in cypher(
            "MATCH (r:ReportRetryDay) RETURN r.planKey, r.day, r.taskId, r.attempts, r.count"
        )
        if count
    }
    qc = {
        (plan, day, kind, key): (attempts, text)
        for plan, day, kind, key, attempts, text in cypher(
            "MATCH (r:ReportQcDay) RETURN r.planKey, r.day, r.kind, r.textKey, r.attempts, r.text"
        )
        if attempts
    }
    rework = {
        (plan, day, model, attempt_day): (tin, tout, attempts)
        for plan, day, model, attempt_day, tin, tout, attempts in cypher(
            "MATCH (r:ReportReworkDay) RETURN r.planKey, r.day, r.model, r.attemptDay, r.tokensInput, "
            "r.tokensOutput, r.attempts"
        )
        if any((tin, tout, attempts))
    }
    errors = {
        (plan, day, key): (failed, error)
        for plan, day, key, failed, error in cypher(
            "MATCH (r:ReportErrorDay) RETURN r.planKey, r.day, r.errorKey, r.failed, r.error"
        )
        if failed
    }
    return {"ReportDay": days, "ReportTaskDay": tasks, "ReportRetryDay": retries, "ReportErrorDay": errors,
            "ReportReworkDay": rework, "ReportQcDay": qc}


def _error_key(text: str | None) -> str:
    return "" if text is None else hashlib.sha256(text.encode()).hexdigest()


def recomputed_rollups() -> dict[str, dict[tuple, Any]]:
    """The rows the facts call for, summed in Python from every execution's attempts."""
    days: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(ROLLUP_DAY_FIELDS))
    tasks: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(ROLLUP_TASK_FIELDS))
    retries: Counter = Counter()
    errors: dict[tuple, list] = {}
    for plan, first_known, finished, cancelled, task_rows in cypher(_FACTS):
        key = (plan or "", first_known - first_known % DAY_MS)
        ok = bad = retried_here = 0
        tokens = rework = failed_qc = 0
        for task_id, attempts in task_rows:
            attempts = sorted((a for a in attempts if a[0] is not None), key=lambda a: a[0])
            latest = attempts[-1]
            retried = latest[1] == "success" and (len(attempts) > 1 or latest[0] > 1)
            ok += latest[1] == "success"
            bad += latest[1] == "failure"
            retried_here += retried
            tokens += sum((a[2] or 0) + (a[3] or 0) for a in attempts)
            failed_rework = sum(a[4] or 0 for a in attempts if a[1] == "failure")
            rework += failed_rework
            failed_qc += sum(1 for a in attempts if a[5] is False)
            if latest[1] == "failure":
                errors.setdefault((*key, _error_key(latest[6])), [0, latest[6]])[0] += 1
            row = tasks[(*key, task_id)]
            row[0] += 1
            row[1] += latest[1] == "failure"
            if retried:
                most = max(latest[0], len(attempts))
                row[2] += 1
                row[3] += most
                row[4] += failed_rework
                retries[(*key, task_id, most)] += 1
        # Failed: finished, not cancelled, some latest attempt failed (ingest/_refresh_executions).
        failed = finished and not cancelled and bad > 0
        for i, value in enumerate((1, int(finished), int(failed), ok + bad, bad, tokens, rework, failed_qc,
                                   retried_here)):
            days[key][i] += value
    qc: Counter = Counter()
    for plan, first_known, issues, fixes in cypher(_QC_FACTS):
        for kind, texts in (("issue", issues), ("fix", fixes)):
            for text in {t for t in texts if t}:
                qc[(plan or "", first_known - first_known % DAY_MS, kind, text)] += 1
    return {
        "ReportDay": {k: tuple(v) for k, v in days.items() if any(v)},
        "ReportTaskDay": {k: tuple(v) for k, v in tasks.items() if any(v)},
        "ReportRetryDay": dict(retries),
        "ReportErrorDay": {k: tuple(v) for k, v in errors.items()},
        "ReportReworkDay": _recomputed_rework(),
        "ReportQcDay": {(*key, hashlib.sha256(text.encode()).hexdigest()): (n, text) for (*key, text), n in qc.items()},
    }


def _recomputed_rework() -> dict[tuple, tuple[int, int, int]]:
    """ReportReworkDay from the attempts: of executions with failed attempts' tokens, each failed
    attempt from a result with tokens, by (plan, day, model as priced, UTC day of its completion)."""
    rows = cypher(_REWORK_FACTS)
    rework_tokens: Counter = Counter()
    for eid, _, _, status, _, _, _, total, *_ in rows:
        rework_tokens[eid] += (total or 0) if status == "failure" else 0
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for eid, plan, first_known, status, source, tin, tout, _, at, *models in rows:
        if not (rework_tokens[eid] > 0 and status == "failure" and source == "result" and (tin or 0) + (tout or 0) > 0):
            continue
        model = next((m for m in models if m is not None), None)
        key = (plan or "", first_known - first_known % DAY_MS, (model or NO_MODEL).strip().lower(), at - at % DAY_MS)
        for i, value in enumerate((tin or 0, tout or 0, 1)):
            sums[key][i] += value
    return {k: tuple(v) for k, v in sums.items()}


_EXAMPLE_KEY_FACTS = """
MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
CALL (t) {
  MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  RETURN collect([a.attemptNumber, a.status, a.qcPassed, a.error]) AS attempts
}
RETURN e.executionId, t.taskId, e.planId, e.firstKnownAt, attempts,
       [t.reportPlanKey, t.reportDay, t.reportLink, t.reportErrorKey, t.reportQcFailed]
"""


def example_keys() -> tuple[dict[tuple, tuple], dict[tuple, tuple]]:
    """What each task execution carries for the report's examples (TaskExecution.report*), as stored
    and as recomputed from its execution and attempts, by (executionId, taskId)."""
    stored, expected = {}, {}
    for eid, task_id, plan, first_known, attempts, keys in cypher(_EXAMPLE_KEY_FACTS):
        attempts = sorted((a for a in attempts if a[0] is not None), key=lambda a: a[0])
        number, status, _, error = attempts[-1]
        failed = status == "failure"
        retried = status == "success" and (len(attempts) > 1 or number > 1)
        link = "FAILED_TASK" if failed else "RETRIED_TASK" if retried else None
        qc_failed = True if any(a[2] is False for a in attempts) else None
        stored[(eid, task_id)] = tuple(keys)
        expected[(eid, task_id)] = (plan or "", first_known - first_known % DAY_MS, link,
                                    _error_key(error) if failed else None, qc_failed)
    return stored, expected


def db_hits(name: str, params: dict[str, Any]) -> int:
    """The database hits of PROFILE of a named statement: the work Neo4j did for it."""
    from neomodel import db

    from executions.cypher import statement

    def total(plan: dict) -> int:
        return plan.get("dbHits", 0) + sum(total(child) for child in plan.get("children", []))

    with db.driver.session() as session:
        result = session.run("PROFILE " + statement(name), params)
        list(result)
        return total(result.consume().profile)
