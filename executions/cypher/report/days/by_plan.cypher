// report/by_plan over whole UTC days: counts from the ReportDay rollups; examples by
// report/days/_plan_examples (bounded), the rework's ReportReworkDay rows (report/days/_rework_cost, for
// pricing.rollup_cost).
//@include report/days/_rows
WITH r.planKey AS planKey, r.day AS day, r.executions AS executions, r.finishedExecutions AS finishedExecutions,
     r.failedExecutions AS failedExecutions, r.tasks AS tasks, r.failedTasks AS failed, r.reworkTokens AS reworkTokens
ORDER BY day DESC
WITH planKey, sum(executions) AS executions, sum(finishedExecutions) AS finishedExecutions,
     sum(failedExecutions) AS failedExecutions, sum(tasks) AS tasks, sum(failed) AS failed,
     sum(reworkTokens) AS reworkTokens, collect(CASE WHEN failed > 0 THEN day END) AS days
WHERE executions > 0
CALL (planKey, days) {
//@include report/days/_plan_examples
}
CALL (planKey, reworkTokens) {
  WITH planKey, $started_from AS lo, $started_to AS hi WHERE reworkTokens > 0
//@include report/days/_rework_cost
}
WITH CASE WHEN planKey = '' THEN null ELSE planKey END AS planId, executions, finishedExecutions, failedExecutions,
     tasks, failed, examples, rework
OPTIONAL MATCH (p:Plan {planId: planId})
RETURN planId, p.title AS planTitle, executions, finishedExecutions, failedExecutions, tasks, failed, examples,
       rework AS reworkCost
ORDER BY failed DESC, failedExecutions DESC, planId
