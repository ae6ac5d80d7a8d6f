// Fragment, after ingest/_roll_up_execution (needs `e`, `planKey`, `day`, `oldPlanKey`, `oldDay`,
// `rollErrors`: unless it is true, nothing is read and the contribution stays as it was).
// Binds `errorDeltas`: what this write changes in the ReportErrorDay rows (failed task executions
// per exact error text: the failure report's error groups), applied by ingest/_apply_error_rollups,
// and records on `e` what it now contributes (rolledErrorKeys, sorted, and rolledErrorCounts). As
// in _roll_up_execution, each delta is new - old, so a write that moves the execution to another
// day or plan moves its contributions, and nothing is written when they are unchanged.
// FAILED_TASK links exactly the task executions whose latest attempt failed; t.errorKey is that
// attempt's key ('' for no error text; also for an attempt stored before keys were kept, until
// rederive_graph gives it its key).
// Also while it has no error rows of its own (a graph rolled up before these rows existed).
WITH e, planKey, day, oldPlanKey, oldDay, dayDeltas, taskDeltas, retryDeltas, rollRework, rollQc,
     rollErrors OR e.rolledErrorKeys IS NULL AS rollErrors
CALL (e, rollErrors) {
  WITH e WHERE rollErrors
  OPTIONAL MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
  WITH t WHERE t IS NOT NULL
  WITH coalesce(t.errorKey, '') AS errorKey, count(*) AS failed, head(collect(t.error)) AS error
  ORDER BY errorKey
  // [error]: collect skips nulls, and the lists must stay aligned.
  RETURN collect(errorKey) AS errorKeys, collect(failed) AS errorCounts, collect([error]) AS errorTexts
}
WITH e, planKey, day, oldPlanKey, oldDay, dayDeltas, taskDeltas, retryDeltas, rollRework, rollQc, rollErrors,
     errorKeys, errorCounts, errorTexts,
     coalesce(e.rolledErrorKeys, []) AS oldKeys, coalesce(e.rolledErrorCounts, []) AS oldCounts
SET e.rolledErrorKeys = CASE WHEN rollErrors THEN errorKeys ELSE e.rolledErrorKeys END,
    e.rolledErrorCounts = CASE WHEN rollErrors THEN errorCounts ELSE e.rolledErrorCounts END
WITH e, dayDeltas, taskDeltas, retryDeltas, rollRework, rollQc,
     CASE WHEN NOT rollErrors OR (oldPlanKey = planKey AND oldDay = day AND oldKeys = errorKeys AND oldCounts = errorCounts)
          THEN [] ELSE
       [i IN range(0, size(oldKeys) - 1) | {planKey: oldPlanKey, day: oldDay, errorKey: oldKeys[i], d: -oldCounts[i]}]
       + [i IN range(0, size(errorKeys) - 1) |
           {planKey: planKey, day: day, errorKey: errorKeys[i], error: errorTexts[i][0], d: errorCounts[i]}] END
       AS errorDeltas
