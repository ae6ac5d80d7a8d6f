// Fragment. Needs `e` (its counters just refreshed) and `rollRework` (ingest/_roll_up_execution:
// unless it is true, nothing is read and the contribution stays as it was) in scope. Binds
// `reworkDeltas`: what this write changes in ReportReworkDay (ingest/_apply_rework_rollups applies
// them), and records on `e` what it now contributes (e.rolledRework*), as ingest/_roll_up_execution
// does for the other rollups: (new - old) per row, the old off the row it was added to, so that a
// late start event that moves the execution to another day (or plan) moves these too; unchanged,
// no deltas.
// Per row: the failed attempts report/_rework_cost prices (pages/_cost: from results, with tokens,
// of an execution with rework tokens), by the model that prices them (pages/_attempt_model,
// lower-cased and trimmed as $prices is keyed; models.NO_MODEL for none) and their completion's UTC
// day (prices take effect at a UTC midnight, so the day decides the price in force). A task without
// a model of its own is rolled up with the plan's PlanTask model of the time of this write: a later
// plan PUT that changes it reprices nothing here until a write of one of the execution's tasks
// with failed attempts' tokens, or rollups_rebuild (docs/design.md, "Cost in currency").
CALL (e, rollRework) {
  // Also whenever its rows are not the execution's (a graph rolled up before these rows existed).
  WITH e, rollRework OR NOT coalesce(e.rolledReworkPlanKey = coalesce(e.planId, '')
         AND e.rolledReworkDay = e.firstKnownAt - e.firstKnownAt % 86400000, false) AS roll
  CALL (e, roll) {
    WITH e WHERE roll
    // A failed attempt from a result belongs to a task whose latest attempt failed (FAILED_TASK) or
    // passed after it (RETRIED_TASK; statuses are success or failure): only those are walked.
    OPTIONAL MATCH (e)-[:FAILED_TASK|RETRIED_TASK]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt {status: 'failure'})
    WHERE e.reworkTokens > 0 AND a.source = 'result' AND coalesce(a.tokensInput, 0) + coalesce(a.tokensOutput, 0) > 0
//@include pages/_attempt_model
    WITH a, toLower(trim(coalesce(model, ''))) AS model WHERE a IS NOT NULL
    WITH model, a.timestamp - a.timestamp % 86400000 AS attemptDay, coalesce(sum(a.tokensInput), 0) AS tin,
         coalesce(sum(a.tokensOutput), 0) AS tout, count(*) AS attempts
    ORDER BY model, attemptDay
    RETURN collect(model) AS models,
           reduce(flat = [], v IN collect([attemptDay, tin, tout, attempts]) | flat + v) AS values
  }
  WITH e, roll, models, values, coalesce(e.planId, '') AS planKey, e.firstKnownAt - e.firstKnownAt % 86400000 AS day,
       e.rolledReworkPlanKey AS oldPlanKey, e.rolledReworkDay AS oldDay,
       coalesce(e.rolledReworkModels, []) AS oldModels, coalesce(e.rolledReworkValues, []) AS oldValues
  WITH e, roll, models, values, planKey, day, oldPlanKey, oldDay, oldModels, oldValues,
       NOT roll OR (oldPlanKey = planKey AND oldDay = day AND oldModels = models AND oldValues = values) AS same
  SET e.rolledReworkPlanKey = planKey, e.rolledReworkDay = day,
      e.rolledReworkModels = CASE WHEN roll THEN models ELSE e.rolledReworkModels END,
      e.rolledReworkValues = CASE WHEN roll THEN values ELSE e.rolledReworkValues END
  RETURN CASE WHEN same THEN [] ELSE
    [i IN range(0, size(oldModels) - 1) |
      {planKey: oldPlanKey, day: oldDay, model: oldModels[i], attemptDay: oldValues[i * 4],
       d: [j IN range(1, 3) | -oldValues[i * 4 + j]]}]
    + [i IN range(0, size(models) - 1) |
      {planKey: planKey, day: day, model: models[i], attemptDay: values[i * 4], d: [j IN range(1, 3) | values[i * 4 + j]]}]
    END AS reworkDeltas
}
