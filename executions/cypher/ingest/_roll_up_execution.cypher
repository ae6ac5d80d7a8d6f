// Fragment. Needs `e` (its counters just refreshed), `failedQc` (its attempts with qcPassed =
// false), `taskIds` and `taskValues` (per task id, ingest/_refresh_executions) in scope. Binds
// `dayDeltas`, `taskDeltas`, `retryDeltas`: what this write changes in the failure report's rollups
// (ingest/_apply_rollups applies them), and for the fragments after it the row keys (`planKey`,
// `day`) and those contributed to before (`oldPlanKey`, `oldDay`); and records on `e` what it now
// contributes (e.rolled*). Each delta is (new - old): the old contribution comes off the row it was
// added to and the new one goes on the row of the execution's current plan and day, so a late start
// event that moves the execution to another day (or plan) moves all of its contributions. Rows
// whose deltas cancel out are not written (ingest/_apply_rollups drops them).
// The execution's ReportDay counters, in models.ROLLUP_DAY_FIELDS order (the report's definitions:
// report/trend, by_plan, qc, retried).
WITH e, taskIds, taskValues, coalesce(e.planId, '') AS planKey,
     e.firstKnownAt - e.firstKnownAt % 86400000 AS day,
     [1, CASE WHEN e.finished THEN 1 ELSE 0 END, CASE WHEN e.finished AND e.status = 'failed' THEN 1 ELSE 0 END,
      e.tasksSuccessful + e.tasksFailed, e.tasksFailed, e.tokensTotal, e.reworkTokens, failedQc,
      reduce(n = 0, i IN range(0, size(taskIds) - 1) | n + taskValues[i * 5 + 2])] AS counts,
     e.rolledPlanKey AS oldPlanKey, e.rolledDay AS oldDay, coalesce(e.rolledCounts, []) AS oldCounts,
     coalesce(e.rolledTaskIds, []) AS oldIds, coalesce(e.rolledTaskValues, []) AS oldValues
WITH e, taskIds, taskValues, planKey, day, counts, oldPlanKey, oldDay, oldCounts, oldIds, oldValues,
     oldPlanKey = planKey AND oldDay = day AND oldCounts = counts AND oldIds = taskIds AND oldValues = taskValues
       AS same
SET e.rolledPlanKey = planKey, e.rolledDay = day, e.rolledCounts = counts, e.rolledTaskIds = taskIds,
    e.rolledTaskValues = taskValues
WITH e, taskIds, taskValues, planKey, day, counts, oldPlanKey, oldDay, oldCounts, oldIds, oldValues, same
// Its task executions carry these row keys for the report's examples (ingest/_refresh_tasks gives a
// new one the execution's as they were): when the row moves, or on the first roll-up, all follow.
CALL (e, planKey, day, oldPlanKey, oldDay) {
  WITH e WHERE oldDay IS NULL OR oldPlanKey <> planKey OR oldDay <> day
  MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  SET t.reportPlanKey = planKey, t.reportDay = day
}
WITH e, planKey, day, oldPlanKey, oldDay,
     CASE WHEN same THEN [] ELSE
       [x IN CASE WHEN oldDay IS NULL THEN [] ELSE [1] END | {planKey: oldPlanKey, day: oldDay, d: [c IN oldCounts | -c]}]
       + [{planKey: planKey, day: day, d: counts}] END AS dayDeltas,
     CASE WHEN same THEN [] ELSE
       [i IN range(0, size(oldIds) - 1) |
         {planKey: oldPlanKey, day: oldDay, taskId: oldIds[i], d: [j IN range(0, 4) | -oldValues[i * 5 + j]]}]
       + [i IN range(0, size(taskIds) - 1) |
         {planKey: planKey, day: day, taskId: taskIds[i], d: [j IN range(0, 4) | taskValues[i * 5 + j]]}] END
       AS taskDeltas,
     CASE WHEN same THEN [] ELSE
       [i IN range(0, size(oldIds) - 1) WHERE oldValues[i * 5 + 2] = 1 |
         {planKey: oldPlanKey, day: oldDay, taskId: oldIds[i], attempts: oldValues[i * 5 + 3], d: -1}]
       + [i IN range(0, size(taskIds) - 1) WHERE taskValues[i * 5 + 2] = 1 |
         {planKey: planKey, day: day, taskId: taskIds[i], attempts: taskValues[i * 5 + 3], d: 1}] END
       AS retryDeltas
