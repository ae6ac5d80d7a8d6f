// report/retried over whole UTC days: the groups from the ReportTaskDay rollups, a group's max
// attempts from ReportRetryDay (retried task executions per attempts); a shown group's examples
// (and its title, its newest one's) by report/days/_examples, bounded.
MATCH (r:ReportTaskDay)
WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id) AND r.retried > 0
WITH r.planKey AS planKey, r.taskId AS taskId, r.day AS day, r.retried AS retried, r.retriedAttempts AS attempts,
     r.retriedReworkTokens AS reworkTokens
ORDER BY day DESC
WITH planKey, taskId, sum(retried) AS retried, sum(attempts) AS totalAttempts, sum(reworkTokens) AS reworkTokens,
     collect(day) AS days
CALL (planKey, taskId) {
  MATCH (x:ReportRetryDay {planKey: planKey, taskId: taskId})
  WHERE x.day >= $started_from AND x.day < $started_to AND x.count > 0
  RETURN max(x.attempts) AS maxAttempts
}
WITH planKey, taskId, retried, totalAttempts, reworkTokens, days, maxAttempts,
     CASE WHEN planKey = '' THEN null ELSE planKey END AS planId
ORDER BY retried DESC, planId, taskId
WITH collect({planKey: planKey, planId: planId, taskId: taskId, retried: retried, maxAttempts: maxAttempts,
              totalAttempts: totalAttempts, reworkTokens: reworkTokens, days: days}) AS groups
CALL (groups) {
  UNWIND groups[..$limit] AS g
  CALL (g) {
    WITH 'RETRIED_TASK' AS link, g.planKey AS planKey, g.taskId AS taskId, g.days AS days
//@include report/days/_examples
  }
  RETURN collect(g {.planId, .taskId, taskTitle: examples[0].taskTitle, .retried, .maxAttempts, .totalAttempts,
                    .reworkTokens, examples: examples}) AS shown
}
RETURN size(groups) AS total, reduce(n = 0, g IN groups | n + g.retried) AS retried, shown AS groups
