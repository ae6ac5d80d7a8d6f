"""Reads from the graph of record. Views and API handlers call these; no Cypher lives elsewhere.

Each selector is a small fixed number of Cypher statements, whatever the number of tasks.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

import neo4j.exceptions
from django.conf import settings
from neomodel import db

from .services import DatabaseUnavailable
from .signatures import error_signature

EXECUTION_FIELDS = (
    "executionId planId status started finished cancelled startTime endTime durationMs tasksTotal "
    "tasksSuccessful tasksFailed tokensInput tokensOutput tokensTotal toolCalls lastEventAt version created updated"
).split()

TASK_EXECUTION_FIELDS = (
    "taskExecutionId executionId taskId taskTitle parallelGroup qcRoleDescription status output error prompt "
    "agentRoleDescription durationMs tokensInput tokensOutput tokensTotal toolCalls attemptNumber attemptCount "
    "qcPassed qcScore qcFeedback qcIssues qcRequiredFixes timestamp"
).split()

ATTEMPT_FIELDS = (
    "attemptId attemptNumber source status output error prompt agentRoleDescription durationMs tokensInput "
    "tokensOutput tokensTotal toolCalls qcPassed qcScore qcFeedback qcIssues qcRequiredFixes timestamp"
).split()


def _projection(var: str, fields: list[str]) -> str:
    return var + " {" + ", ".join(f".{f}" for f in fields) + "}"


def read(query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """Run a read query; a Neo4j that cannot be reached becomes DatabaseUnavailable."""
    try:
        rows, _ = db.cypher_query(query, params or {})
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError) as exc:
        raise DatabaseUnavailable(str(exc)) from exc
    return rows


def execution_get(*, execution_id: str) -> dict[str, Any] | None:
    """The execution with its counters and its task executions (latest attempt each), or None."""
    rows = read(
        f"""
        MATCH (e:OrchestrationExecution {{executionId: $eid}})
        OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
        WITH e, t ORDER BY t.timestamp, t.taskId
        RETURN {_projection('e', EXECUTION_FIELDS)} AS execution,
               [x IN collect(t) | {_projection('x', TASK_EXECUTION_FIELDS)}] AS tasks,
               [(e)-[:FAILED_TASK]->(f:TaskExecution) | f.taskId] AS failedTaskIds
        """,
        {"eid": execution_id},
    )
    if not rows:
        return None
    execution, tasks, failed = rows[0]
    return {**execution, "taskExecutions": tasks, "failedTaskIds": sorted(failed)}


def database_is_up() -> bool:
    try:
        read("RETURN 1")
    except DatabaseUnavailable:
        return False
    return True


# ---------------------------------------------------------------- dashboard pages
# Each page selector is ONE Cypher statement (the live poll's "unchanged?" check is one more, tiny).

# The list and the live page need no outputs or prompts (they can be megabytes).
TASK_ROW_FIELDS = [f for f in TASK_EXECUTION_FIELDS if f not in ("output", "prompt")]
PLAN_FIELDS = "planId registered title description version tasks parallelGroups taskCount created updated".split()
EXECUTION_SORT = "e.startTime DESC, e.created DESC, e.executionId DESC"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stale_before(now: int) -> int:
    return now - settings.EXECUTION_STALE_AFTER_SECONDS * 1000


def _day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def _with_derived(execution: dict[str, Any], now: int) -> dict[str, Any]:
    """Adds `stale`, `elapsedMs` (start→end, or start→now while running) and `pending`."""
    running = execution.get("status") == "running"
    last = execution.get("lastEventAt")
    execution["stale"] = bool(running and last is not None and last < _stale_before(now))
    start, end = execution.get("startTime"), execution.get("endTime")
    if start is not None and end is not None:
        execution["elapsedMs"] = max(0, end - start)
    elif start is not None and running:
        execution["elapsedMs"] = max(0, now - start)
    else:
        execution["elapsedMs"] = execution.get("durationMs")
    total = execution.get("tasksTotal") or 0
    done = (execution.get("tasksSuccessful") or 0) + (execution.get("tasksFailed") or 0)
    execution["tasksPending"] = max(0, total - done)
    return execution


def execution_list(
    *,
    status: str | None = None,
    plan_id: str | None = None,
    search: str | None = None,
    started_from: date | None = None,
    started_to: date | None = None,
    page: int = 1,
    per_page: int = 25,
) -> dict[str, Any]:
    """Executions newest first (by startTime; not-yet-started ones first), filtered, one page of them.

    `search` matches (case-insensitively) execution ids, plan ids and task titles. `started_to` is
    inclusive (the whole day, UTC). Returns {"executions", "page", "per_page", "has_next",
    "has_previous", "plan_ids", "any_running"}; one Cypher statement.
    """
    page = max(1, page)
    where: list[str] = []
    params: dict[str, Any] = {"skip": (page - 1) * per_page, "limit": per_page + 1}
    if status:
        where.append("e.status = $status")
        params["status"] = status
    if plan_id:
        where.append("e.planId = $planId")
        params["planId"] = plan_id
    if started_from:
        where.append("e.startTime >= $fromMs")
        params["fromMs"] = _day_start_ms(started_from)
    if started_to:
        where.append("e.startTime < $toMs")
        params["toMs"] = _day_start_ms(started_to + timedelta(days=1))
    if search and search.strip():
        # searchText: the lower-cased execution id, plan id and task titles, kept by services on
        # every write. One property per execution, read as the index walk below goes: a common term
        # stops the walk early, a rare one costs a read per execution, never one per task.
        where.append("e.searchText CONTAINS $q")
        params["q"] = search.strip().lower()
    # Only fixed fragments are joined here; every user value travels as a parameter.
    condition = "".join(f" AND {w}" for w in where)
    # Two index-backed parts, so that a page reads about `skip + limit` nodes, not every execution:
    # executions whose start has not arrived yet (few; index on `started`) come first, then the
    # started ones in startTime index order (Neo4j walks the index backwards and stops early).
    rows = read(
        f"""
        CALL () {{
          MATCH (p:Plan) WITH p.planId AS planId ORDER BY planId RETURN collect(planId) AS planIds
        }}
        CALL () {{
          MATCH (e:OrchestrationExecution) WHERE e.started = false{condition}
          WITH e ORDER BY e.created DESC, e.executionId DESC LIMIT $skip + $limit
          RETURN collect(e) AS early
        }}
        CALL () {{
          MATCH (e:OrchestrationExecution) WHERE e.startTime IS NOT NULL{condition}
          WITH e ORDER BY e.startTime DESC, e.executionId DESC LIMIT $skip + $limit
          RETURN collect(e) AS started
        }}
        RETURN planIds, [x IN (early + started)[$skip..$skip + $limit] | {_projection('x', EXECUTION_FIELDS)}]
        """,
        params,
    )
    plan_ids, executions = rows[0]
    now = _now_ms()
    executions = [_with_derived(e, now) for e in executions]
    has_next = len(executions) > per_page
    executions = executions[:per_page]
    return {
        "executions": executions,
        "page": page,
        "per_page": per_page,
        "has_next": has_next,
        "has_previous": page > 1,
        "plan_ids": plan_ids,
        "any_running": any(e["status"] == "running" for e in executions),
    }


def _timeline(execution: dict[str, Any], tasks: list[dict[str, Any]], now: int) -> dict[str, Any]:
    """Gantt bars: each task from timestamp − durationMs to timestamp, as percentages of the run."""
    spans = []
    for task in tasks:
        end, length = task.get("timestamp"), task.get("durationMs")
        if end is None:
            continue
        spans.append((task, end - (length or 0), end))
    if not spans:
        return {"rows": [], "startMs": execution.get("startTime"), "endMs": execution.get("endTime"), "groups": []}
    lo = min([s for _, s, _ in spans] + ([execution["startTime"]] if execution.get("startTime") else []))
    ends = [e for _, _, e in spans]
    if execution.get("endTime"):
        ends.append(execution["endTime"])
    elif execution.get("status") == "running":
        ends.append(now)
    hi = max(ends)
    width = max(1, hi - lo)
    rows = []
    for task, start, end in sorted(spans, key=lambda s: (s[1], s[2], s[0]["taskId"])):
        left = (start - lo) / width * 100
        rows.append(
            {
                "taskId": task["taskId"],
                "title": task.get("taskTitle") or task["taskId"],
                "status": task.get("status"),
                "parallelGroup": task.get("parallelGroup"),
                "colorIndex": (task.get("parallelGroup") or 0) % 8,
                "startMs": start,
                "endMs": end,
                "durationMs": end - start,
                "left": round(left, 3),
                "width": round(max(0.4, min(100 - left, (end - start) / width * 100)), 3),
            }
        )
    groups = sorted({r["parallelGroup"] for r in rows if r["parallelGroup"] is not None})
    return {"rows": rows, "startMs": lo, "endMs": hi, "groups": groups}


def execution_detail(*, execution_id: str) -> dict[str, Any] | None:
    """The live page: the execution (with stale/elapsed/pending), its plan title, its tasks (no
    outputs or prompts) ordered by completion, and the timeline. One Cypher statement."""
    rows = read(
        f"""
        MATCH (e:OrchestrationExecution {{executionId: $eid}})
        OPTIONAL MATCH (e)-[:EXECUTES_PLAN]->(p:Plan)
        CALL (e) {{
          OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
          WITH t ORDER BY t.timestamp, t.taskId
          RETURN [x IN collect(t) | {_projection('x', TASK_ROW_FIELDS)}] AS tasks
        }}
        RETURN {_projection('e', EXECUTION_FIELDS)} AS execution, p.title AS planTitle, tasks
        """,
        {"eid": execution_id},
    )
    if not rows:
        return None
    execution, plan_title, tasks = rows[0]
    now = _now_ms()
    execution = _with_derived(execution, now)
    execution["planTitle"] = plan_title
    return {"execution": execution, "tasks": tasks, "timeline": _timeline(execution, tasks, now)}


def execution_version(*, execution_id: str) -> dict[str, Any] | None:
    """{"version", "status"} of an execution, or None: the live page's cheap "anything new?" check."""
    rows = read(
        "MATCH (e:OrchestrationExecution {executionId: $eid}) RETURN e.version, e.status",
        {"eid": execution_id},
    )
    if not rows:
        return None
    return {"version": rows[0][0], "status": rows[0][1]}


def task_detail(*, execution_id: str, task_id: str) -> dict[str, Any] | None:
    """A task of an execution with every attempt, newest first; each attempt carries `diff`, the
    unified diff of its output against the previous attempt that has an output (None when there is
    none to compare with). One Cypher statement."""
    from .rendering import output_diff

    rows = read(
        f"""
        MATCH (e:OrchestrationExecution {{executionId: $eid}})-[:HAS_TASK_EXECUTION]->
              (t:TaskExecution {{taskExecutionId: $teid}})
        CALL (t) {{
          OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
          WITH a ORDER BY a.attemptNumber DESC
          RETURN [x IN collect(a) | {_projection('x', ATTEMPT_FIELDS)}] AS attempts
        }}
        RETURN e {{.executionId, .planId, .status, .version, .lastEventAt, .startTime, .endTime}} AS execution,
               {_projection('t', TASK_EXECUTION_FIELDS)} AS task, attempts
        """,
        {"eid": execution_id, "teid": f"{execution_id}-{task_id}"},
    )
    if not rows:
        return None
    execution, task, attempts = rows[0]
    # attempts are newest first: the one to compare with is the next older one that has an output.
    for index, attempt in enumerate(attempts):
        attempt["hasOutput"] = attempt.get("source") == "result"
        previous = next((a for a in attempts[index + 1 :] if a.get("source") == "result"), None)
        attempt["previousAttemptNumber"] = previous["attemptNumber"] if previous else None
        attempt["diff"] = (
            output_diff(previous.get("output"), attempt.get("output"))
            if previous is not None and attempt["hasOutput"]
            else None
        )
    return {"execution": _with_derived(execution, _now_ms()), "task": task, "attempts": attempts}


def _plan_tasks(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        tasks = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [t for t in tasks if isinstance(t, dict)]


_PLAN_STATS = """
  OPTIONAL MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
  RETURN count(e) AS runs,
         count(CASE WHEN e.status = 'completed' THEN 1 END) AS completed,
         count(CASE WHEN e.status = 'failed' THEN 1 END) AS failed,
         count(CASE WHEN e.status = 'cancelled' THEN 1 END) AS cancelled,
         count(CASE WHEN e.status = 'running' THEN 1 END) AS running,
         avg(e.durationMs) AS avgDurationMs, avg(e.tokensTotal) AS avgTokens, max(e.startTime) AS lastRunAt
"""


def _stats(row: dict[str, Any]) -> dict[str, Any]:
    finished = row["completed"] + row["failed"] + row["cancelled"]
    row["successRate"] = row["completed"] / finished if finished else None
    for key in ("avgDurationMs", "avgTokens"):
        if row[key] is not None:
            row[key] = round(row[key])
    return row


def plan_list() -> list[dict[str, Any]]:
    """Every plan with its run statistics (runs, success rate over finished runs, average duration
    and tokens), most recently run first. One Cypher statement."""
    rows = read(
        f"""
        MATCH (p:Plan)
        CALL (p) {{ {_PLAN_STATS} }}
        RETURN p {{.planId, .registered, .title, .description, .taskCount}} AS plan,
               {{runs: runs, completed: completed, failed: failed, cancelled: cancelled, running: running,
                 avgDurationMs: avgDurationMs, avgTokens: avgTokens, lastRunAt: lastRunAt}} AS stats
        ORDER BY lastRunAt IS NULL, lastRunAt DESC, p.planId
        """
    )
    return [{**plan, "stats": _stats(stats)} for plan, stats in rows]


def plan_detail(*, plan_id: str, page: int = 1, per_page: int = 20) -> dict[str, Any] | None:
    """A plan, its task definitions (with dependencies and parallel groups), its run statistics and
    one page of its executions, newest first. One Cypher statement."""
    page = max(1, page)
    rows = read(
        f"""
        MATCH (p:Plan {{planId: $pid}})
        CALL (p) {{ {_PLAN_STATS} }}
        CALL (p) {{
          OPTIONAL MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
          WITH e ORDER BY {EXECUTION_SORT} SKIP $skip LIMIT $limit
          RETURN [x IN collect(e) | {_projection('x', EXECUTION_FIELDS)}] AS executions
        }}
        RETURN {_projection('p', PLAN_FIELDS)} AS plan,
               {{runs: runs, completed: completed, failed: failed, cancelled: cancelled, running: running,
                 avgDurationMs: avgDurationMs, avgTokens: avgTokens, lastRunAt: lastRunAt}} AS stats,
               executions
        """,
        {"pid": plan_id, "skip": (page - 1) * per_page, "limit": per_page + 1},
    )
    if not rows:
        return None
    plan, stats, executions = rows[0]
    now = _now_ms()
    tasks = _plan_tasks(plan.pop("tasks"))
    titles = {t.get("id"): t.get("title") or t.get("id") for t in tasks}
    for task in tasks:
        task["dependencies"] = [{"id": d, "title": titles.get(d, d)} for d in task.get("dependencies") or []]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for task in tasks:
        groups.setdefault(task.get("parallelGroup"), []).append(task)
    executions = [_with_derived(e, now) for e in executions]
    return {
        "plan": plan,
        "tasks": tasks,
        "parallel_groups": [
            {"group": g, "colorIndex": (g or 0) % 8 if isinstance(g, int) else 0, "tasks": groups[g]}
            for g in sorted(groups, key=lambda g: (g is None, g if g is not None else 0))
        ],
        "stats": _stats(stats),
        "executions": executions[:per_page],
        "page": page,
        "has_next": len(executions) > per_page,
        "has_previous": page > 1,
    }


# ---------------------------------------------------------------- failure report
#
# The range is by execution startTime: started_from inclusive, started_to exclusive (epoch ms).
# Task failure rate = failed task executions (latest attempt failed) / task executions recorded;
# execution failure rate = failed executions / finished executions (completed, failed or cancelled).
# Six statements per report, one for the CSV rows, whatever the data size.

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
# Up to this many days the trend has daily buckets, beyond it weekly ones (Mondays, UTC).
DAILY_TREND_MAX_DAYS = 31
REPORT_GROUP_LIMIT = 20
REPORT_EXAMPLE_LIMIT = 10

_IN_RANGE = """
MATCH (e:OrchestrationExecution)
WHERE e.startTime >= $started_from AND e.startTime < $started_to
  AND ($plan_id IS NULL OR e.planId = $plan_id)
"""

_EXAMPLE = "{executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp}"

# Task counts and tokens are the execution's counters, and reworkTokens the tokens of its failed
# attempts, all recomputed by services from the stored tasks and attempts on every write:
# tasksSuccessful + tasksFailed = task executions (each has a latest attempt that succeeded or failed).
_REPORT_TREND = (
    _IN_RANGE
    + """
WITH (e.startTime - $origin) / $bucket_ms AS bucket, e,
     coalesce(e.tasksSuccessful, 0) + coalesce(e.tasksFailed, 0) AS tasks, coalesce(e.tasksFailed, 0) AS failedTasks
RETURN bucket,
       count(e) AS executions,
       count(CASE WHEN e.finished THEN 1 END) AS finishedExecutions,
       count(CASE WHEN e.finished AND e.status = 'failed' THEN 1 END) AS failedExecutions,
       sum(tasks) AS tasks, sum(failedTasks) AS failedTasks,
       sum(coalesce(e.tokensTotal, 0)) AS tokens, sum(coalesce(e.reworkTokens, 0)) AS reworkTokens
ORDER BY bucket
"""
)

_REPORT_BY_TASK = (
    _IN_RANGE
    + f"""
WITH collect(e) AS es
// The groups: failed task executions (FAILED_TASK: latest attempt failed), newest first; a group is
// titled like its newest failed task execution.
CALL (es) {{
  UNWIND es AS e
  MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
  WITH e, t ORDER BY t.timestamp DESC, e.executionId
  WITH e.planId AS planId, t.taskId AS taskId, collect({_EXAMPLE}) AS failedTasks
  RETURN collect({{planId: planId, taskId: taskId, taskTitle: failedTasks[0].taskTitle, failed: size(failedTasks),
                   examples: failedTasks[..$examples]}}) AS failedGroups
}}
// Denominators: every task execution of the range, counted from each execution's sorted list of
// task ids (services keep it with the counters) rather than by reading every task execution.
CALL (es) {{
  UNWIND es AS e
  UNWIND e.taskIds AS taskId
  WITH e.planId AS planId, taskId, count(*) AS tasks
  RETURN collect({{planId: planId, taskId: taskId, tasks: tasks}}) AS counts
}}
UNWIND failedGroups AS g
WITH g, [c IN counts WHERE c.taskId = g.taskId AND (c.planId = g.planId OR (c.planId IS NULL AND g.planId IS NULL))][0].tasks
       AS tasks
ORDER BY g.failed DESC, g.planId, g.taskId
WITH collect(g {{.planId, .taskId, .taskTitle, tasks: tasks, .failed, .examples}}) AS groups
RETURN size(groups) AS total, groups[..$limit] AS groups
"""
)

_REPORT_BY_PLAN = (
    _IN_RANGE
    + f"""
WITH e.planId AS planId, count(e) AS executions,
     count(CASE WHEN e.finished THEN 1 END) AS finishedExecutions,
     count(CASE WHEN e.finished AND e.status = 'failed' THEN 1 END) AS failedExecutions,
     collect(e) AS es,
     // The execution's counters (recomputed from its tasks on every write): task executions and
     // those whose latest attempt failed.
     sum(coalesce(e.tasksSuccessful, 0) + coalesce(e.tasksFailed, 0)) AS tasks,
     sum(coalesce(e.tasksFailed, 0)) AS failed
CALL (es) {{
  UNWIND es AS e
  // FAILED_TASK links exactly the task executions whose latest attempt failed (status 'failure').
  MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
  WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId LIMIT $examples
  RETURN collect({_EXAMPLE}) AS examples
}}
OPTIONAL MATCH (p:Plan {{planId: planId}})
RETURN planId, p.title AS planTitle, executions, finishedExecutions, failedExecutions, tasks, failed, examples
ORDER BY failed DESC, failedExecutions DESC, planId
"""
)

# Grouped by exact error text here; merged by signature in Python.
_REPORT_BY_ERROR = (
    _IN_RANGE
    + f"""
// FAILED_TASK links exactly the task executions whose latest attempt failed (status 'failure').
MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId
RETURN t.error AS error, count(t) AS failed, collect({_EXAMPLE})[..$examples] AS examples
"""
)

# The most frequent texts of one list property over the attempts that failed QC, with examples.
# Attempts are referred to by their position in failedQc (already newest first), so that counting
# distinct attempts and picking examples handle integers, not maps.
_TOP_QC_TEXTS = """
CALL (failedQc) {{
  UNWIND range(0, size(failedQc) - 1) AS i
  UNWIND failedQc[i].{key} AS raw
  WITH DISTINCT i, trim(raw) AS text WHERE text <> ''
  WITH text, count(i) AS attempts, collect(i) AS all
  ORDER BY attempts DESC, text LIMIT $limit
  // Examples are task executions: two attempts of one task give one example.
  WITH text, attempts, reduce(picked = [], j IN all |
    CASE WHEN size(picked) >= $examples OR any(k IN picked WHERE failedQc[k].task = failedQc[j].task)
         THEN picked ELSE picked + j END) AS picked
  RETURN collect({{text: text, attempts: attempts, examples: [j IN picked | failedQc[j].ref]}}) AS {alias}
}}
"""

# QC issues and required fixes of every attempt that failed QC (history attempts included).
_REPORT_QC = (
    _IN_RANGE
    + f"""
// QC_FAILED_TASK links exactly the task executions with an attempt that failed QC.
MATCH (e)-[:QC_FAILED_TASK]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
WHERE a.qcPassed = false
WITH e, t, a ORDER BY t.timestamp DESC, e.executionId, t.taskId
WITH collect({{task: t.taskExecutionId, ref: {_EXAMPLE}, issues: a.qcIssues, fixes: a.qcRequiredFixes}}) AS failedQc
WITH failedQc, size(failedQc) AS failedQcAttempts
"""
    + _TOP_QC_TEXTS.format(key="issues", alias="issues")
    + _TOP_QC_TEXTS.format(key="fixes", alias="fixes")
    + """RETURN failedQcAttempts, issues, fixes
"""
)

# Task executions whose latest attempt passed after at least one earlier attempt.
_REPORT_RETRIED = (
    _IN_RANGE
    + """
// RETRIED_TASK links exactly the task executions whose latest attempt passed after earlier ones.
MATCH (e)-[:RETRIED_TASK]->(t:TaskExecution)
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt {status: 'failure'})
  RETURN coalesce(sum(a.tokensTotal), 0) AS reworkTokens
}
WITH e, t, reworkTokens,
     CASE WHEN coalesce(t.attemptNumber, 0) > coalesce(t.attemptCount, 0)
          THEN t.attemptNumber ELSE t.attemptCount END AS attempts
ORDER BY t.timestamp DESC, e.executionId
WITH e.planId AS planId, t.taskId AS taskId, collect(t.taskTitle)[0] AS taskTitle, count(t) AS retried,
     max(attempts) AS maxAttempts, sum(attempts) AS totalAttempts, sum(reworkTokens) AS reworkTokens,
     collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp,
              attempts: attempts})[..$examples] AS examples
ORDER BY retried DESC, planId, taskId
WITH collect({planId: planId, taskId: taskId, taskTitle: taskTitle, retried: retried, maxAttempts: maxAttempts,
              totalAttempts: totalAttempts, reworkTokens: reworkTokens, examples: examples}) AS groups
RETURN size(groups) AS total, reduce(n = 0, g IN groups | n + g.retried) AS retried, groups[..$limit] AS groups
"""
)

_REPORT_ROWS = (
    _IN_RANGE
    + """
// FAILED_TASK links exactly the task executions whose latest attempt failed (status 'failure').
MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  RETURN coalesce(sum(a.tokensTotal), 0) AS tokens
}
RETURN e.executionId AS executionId, e.planId AS planId, t.taskId AS taskId, t.taskTitle AS taskTitle,
       t.attemptNumber AS attemptNumber, t.attemptCount AS attempts, t.error AS error, t.qcScore AS qcScore,
       t.qcIssues AS qcIssues, tokens, t.timestamp AS timestamp
ORDER BY e.startTime, e.executionId, t.taskId
"""
)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def report_trend_buckets(*, started_from: int, started_to: int) -> tuple[str, int, int]:
    """(unit, origin, size) of the trend's buckets: UTC days for ranges up to DAILY_TREND_MAX_DAYS,
    else weeks starting on Monday (UTC). Bucket i covers [origin + i*size, origin + (i+1)*size)."""
    if started_to - started_from <= DAILY_TREND_MAX_DAYS * DAY_MS:
        return "day", started_from - started_from % DAY_MS, DAY_MS
    days = started_from // DAY_MS
    # 1970-01-01 was a Thursday: weekday (Monday = 0) of day d is (d + 3) % 7.
    return "week", (days - (days + 3) % 7) * DAY_MS, WEEK_MS


def _filter_params(started_from: int, started_to: int, plan_id: str | None) -> dict[str, Any]:
    return {"started_from": int(started_from), "started_to": int(started_to), "plan_id": plan_id or None}


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["taskFailureRate"] = _ratio(row["failedTasks"], row["tasks"])
    row["executionFailureRate"] = _ratio(row["failedExecutions"], row["finishedExecutions"])
    return row


def _merge_by_signature(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """(error, count, examples) rows grouped by exact text → groups by error signature."""
    merged: dict[str, dict[str, Any]] = {}
    for error, failed, examples in rows:
        signature = error_signature(error)
        group = merged.setdefault(
            signature, {"signature": signature, "failed": 0, "variants": 0, "sample": error, "sampleCount": 0, "examples": []}
        )
        group["failed"] += failed
        group["variants"] += 1
        group["examples"].extend(examples)
        if failed > group["sampleCount"]:
            group["sample"], group["sampleCount"] = error, failed
    groups = sorted(merged.values(), key=lambda g: (-g["failed"], g["signature"]))
    for group in groups:
        group["examples"].sort(key=lambda x: (-(x["timestamp"] or 0), x["executionId"], x["taskId"]))
        del group["examples"][REPORT_EXAMPLE_LIMIT:]
        del group["sampleCount"]
    return groups


def failure_report(*, started_from: int, started_to: int, plan_id: str | None) -> dict[str, Any]:
    """Failure rates and their trend, failed tasks grouped by task, plan and error signature, top QC
    issues and required fixes, tasks retried before passing, and the tokens spent on failed attempts,
    for the executions started in [started_from, started_to) (epoch ms), optionally of one plan."""
    params = {
        **_filter_params(started_from, started_to, plan_id),
        "examples": REPORT_EXAMPLE_LIMIT,
        "limit": REPORT_GROUP_LIMIT,
    }
    unit, origin, size = report_trend_buckets(started_from=started_from, started_to=started_to)

    counted = ("executions", "finishedExecutions", "failedExecutions", "tasks", "failedTasks", "tokens", "reworkTokens")
    by_bucket = {row[0]: dict(zip(counted, row[1:])) for row in read(_REPORT_TREND, {**params, "origin": origin, "bucket_ms": size})}
    trend = []
    for index in range(max(1, -(-(started_to - origin) // size))):
        start = origin + index * size
        counts = by_bucket.get(index, dict.fromkeys(counted, 0))
        trend.append(_with_rates({"start": start, "end": start + size, **counts}))
    totals = _with_rates({key: sum(bucket[key] for bucket in trend) for key in counted})
    totals["reworkShare"] = _ratio(totals["reworkTokens"], totals["tokens"])

    by_task_total, by_task = read(_REPORT_BY_TASK, params)[0]
    plan_keys = ("planId", "planTitle", "executions", "finishedExecutions", "failedExecutions", "tasks", "failed", "examples")
    by_plan = []
    for row in read(_REPORT_BY_PLAN, params):
        plan = dict(zip(plan_keys, row))
        plan["taskFailureRate"] = _ratio(plan["failed"], plan["tasks"])
        plan["executionFailureRate"] = _ratio(plan["failedExecutions"], plan["finishedExecutions"])
        by_plan.append(plan)
    for group in by_task:
        group["failureRate"] = _ratio(group["failed"], group["tasks"])

    by_error = _merge_by_signature(read(_REPORT_BY_ERROR, params))
    failed_qc_attempts, qc_issues, qc_fixes = read(_REPORT_QC, params)[0]
    retried_groups_total, retried, retried_groups = read(_REPORT_RETRIED, params)[0]

    return {
        "started_from": started_from,
        "started_to": started_to,
        "plan_id": plan_id or None,
        "bucket": unit,
        "totals": totals,
        "has_failures": bool(
            totals["failedTasks"] or totals["failedExecutions"] or totals["reworkTokens"] or failed_qc_attempts or retried
        ),
        "trend": trend,
        "by_task": {"total": by_task_total, "groups": by_task},
        "by_plan": by_plan,
        "by_error": {"total": len(by_error), "groups": by_error[:REPORT_GROUP_LIMIT]},
        "qc": {"failed_attempts": failed_qc_attempts, "issues": qc_issues, "fixes": qc_fixes},
        "retried": {"total": retried, "groups_total": retried_groups_total, "groups": retried_groups},
    }


def failure_rows(*, started_from: int, started_to: int, plan_id: str | None) -> list[dict[str, Any]]:
    """One row per failed task execution (latest attempt failed) of the executions started in
    [started_from, started_to), oldest execution first; `tokens` sums all of its attempts and
    `signature` is the error's signature."""
    keys = ("executionId", "planId", "taskId", "taskTitle", "attemptNumber", "attempts", "error", "qcScore", "qcIssues", "tokens", "timestamp")
    rows = [dict(zip(keys, row)) for row in read(_REPORT_ROWS, _filter_params(started_from, started_to, plan_id))]
    for row in rows:
        row["signature"] = error_signature(row["error"])
    return rows


def report_plan_options() -> list[tuple[str, str]]:
    """(planId, label) of every plan, for the report's plan filter."""
    rows = read("MATCH (p:Plan) RETURN p.planId, p.title ORDER BY p.planId")
    return [(plan_id, f"{title} ({plan_id})" if title and title != plan_id else plan_id) for plan_id, title in rows]
