// Fragment. Needs `e` (its counters just refreshed), `failedQc` (its attempts with qcPassed =
// false) and `retried` (its task executions that count as retried) in scope, and $write.touched,
// $write.allTasks (ingest/_refresh_executions). Binds `dayDeltas`, `taskDeltas`, `retryDeltas`: what this
// write changes in the failure report's rollups (ingest/_apply_rollups applies them), and for the
// fragments after it the row keys (`planKey`, `day`) and those contributed to before (`oldPlanKey`,
// `oldDay`) and whether each of them has anything to recompute (`rollErrors`, `rollRework`,
// `rollQc`); and records what is now contributed: the execution's ReportDay counters on `e`
// (e.rolled*), each task execution's ReportTaskDay values on it (t.rolledValues, a copy of the
// t.reportValues that ingest/_refresh_tasks derives). Each delta is (new - old): the old
// contribution comes off the row it was added to and the new one goes on the row of the
// execution's current plan and day, so a late start event that moves the execution to another day
// (or plan) moves all of its contributions. Rows whose deltas cancel out are not written
// (ingest/_apply_rollups drops them).
// The execution's ReportDay counters, in models.ROLLUP_DAY_FIELDS order (the report's definitions:
// report/trend, by_plan, qc, retried).
WITH e, coalesce(e.planId, '') AS planKey, e.firstKnownAt - e.firstKnownAt % 86400000 AS day,
     [1, CASE WHEN e.finished THEN 1 ELSE 0 END, CASE WHEN e.finished AND e.status = 'failed' THEN 1 ELSE 0 END,
      e.tasksSuccessful + e.tasksFailed, e.tasksFailed, e.tokensTotal, e.reworkTokens, failedQc, retried] AS counts,
     e.rolledPlanKey AS oldPlanKey, e.rolledDay AS oldDay, coalesce(e.rolledCounts, []) AS oldCounts
// Which task executions' contributions can have changed: those this write refreshed, unless the
// execution's row moved, or it is rolled up for the first time (or afresh: rollups_rebuild made it
// forget), or $write.allTasks: then all of them.
WITH e, planKey, day, counts, oldPlanKey, oldDay, oldCounts,
     oldDay IS NULL OR oldPlanKey <> planKey OR oldDay <> day OR $write.allTasks AS everyTask
SET e.rolledPlanKey = planKey, e.rolledDay = day, e.rolledCounts = counts
// The lists by which it kept its tasks' values before they were kept on the task executions.
REMOVE e.rolledTaskIds, e.rolledTaskValues
WITH e, planKey, day, counts, oldPlanKey, oldDay, oldCounts, everyTask
// Its task executions carry these row keys for the report's examples (ingest/_refresh_tasks gives a
// new one the execution's as they were): when the row moves, or on the first roll-up, all follow.
CALL (e, planKey, day, oldPlanKey, oldDay) {
  WITH e WHERE oldDay IS NULL OR oldPlanKey <> planKey OR oldDay <> day
  MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  SET t.reportPlanKey = planKey, t.reportDay = day
}
CALL (e, everyTask, oldDay) {
  CALL (e, everyTask) {
    WITH e WHERE everyTask
    MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
    RETURN t
    UNION
    WITH e WHERE NOT everyTask
    UNWIND coalesce($write.touched[e.executionId], []) AS taskId
    // By its key (as everywhere in this statement): left to statistics, Neo4j may seek every task
    // execution with this task id in the graph (one per run of the plan) by the taskId index, and
    // keep the one of this execution.
    MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution {executionId: e.executionId, taskId: taskId})
    USING INDEX t:TaskExecution(executionId, taskId)
    RETURN t
  }
  // Nothing was added to the execution's old row (first roll-up, or rows rebuilt): no old values.
  WITH t, t.reportValues AS new, CASE WHEN oldDay IS NULL THEN null ELSE t.rolledValues END AS old,
       t.attemptsReworkTokens > 0 OR coalesce(t.rolledReworkTokens, 0) > 0 AS rework,
       t.attemptsFailedQc > 0 OR coalesce(t.rolledFailedQc, 0) > 0 AS qc
  SET t.rolledValues = new, t.rolledReworkTokens = t.attemptsReworkTokens, t.rolledFailedQc = t.attemptsFailedQc
  WITH t, old, new, rework, qc ORDER BY t.taskId
  RETURN collect({taskId: t.taskId, old: old, new: new, same: coalesce(old = new, false),
                  failed: new[1] = 1 OR coalesce(old[1] = 1, false), rework: rework, qc: qc}) AS tasks
}
WITH e, planKey, day, oldPlanKey, oldDay, counts, oldCounts, tasks, everyTask,
     coalesce(oldPlanKey = planKey AND oldDay = day, false) AS sameRow
// Whether the fragments after this one need to walk the execution again (each recomputes its whole
// contribution): only when every task was looked at, or a task this write refreshed is or was
// failed (ReportErrorDay), has or had failed attempts' tokens (ReportReworkDay) or attempts that
// failed QC (ReportQcDay; an attempt known from QC history can be upgraded to a result that
// passed). A write of a task that never failed leaves all three as they were.
WITH e, planKey, day, oldPlanKey, oldDay, counts, oldCounts, tasks, sameRow,
     everyTask OR any(x IN tasks WHERE x.failed) AS rollErrors,
     everyTask OR any(x IN tasks WHERE x.rework) AS rollRework,
     everyTask OR any(x IN tasks WHERE x.qc) AS rollQc
WITH e, planKey, day, oldPlanKey, oldDay, rollErrors, rollRework, rollQc,
     CASE WHEN sameRow AND oldCounts = counts THEN [] ELSE
       [x IN CASE WHEN oldDay IS NULL THEN [] ELSE [1] END | {planKey: oldPlanKey, day: oldDay, d: [c IN oldCounts | -c]}]
       + [{planKey: planKey, day: day, d: counts}] END AS dayDeltas,
     [x IN tasks WHERE x.old IS NOT NULL AND NOT (sameRow AND x.same) |
       {planKey: oldPlanKey, day: oldDay, taskId: x.taskId, d: [v IN x.old | -v]}]
     + [x IN tasks WHERE NOT (sameRow AND x.same) | {planKey: planKey, day: day, taskId: x.taskId, d: x.new}]
       AS taskDeltas,
     [x IN tasks WHERE x.old IS NOT NULL AND x.old[2] = 1 AND NOT (sameRow AND x.same) |
       {planKey: oldPlanKey, day: oldDay, taskId: x.taskId, attempts: x.old[3], d: -1}]
     + [x IN tasks WHERE x.new[2] = 1 AND NOT (sameRow AND x.same) |
       {planKey: planKey, day: day, taskId: x.taskId, attempts: x.new[3], d: 1}] AS retryDeltas
