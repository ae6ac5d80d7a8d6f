// report/by_task over whole UTC days: the groups and their denominators from the ReportTaskDay
// rollups; a shown group's examples (and so its title, its newest failed task execution's) by
// report/days/_examples, bounded.
MATCH (r:ReportTaskDay)
WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id)
WITH r.planKey AS planKey, r.taskId AS taskId, r.day AS day, r.tasks AS tasks, r.failed AS failed
ORDER BY day DESC
WITH planKey, taskId, sum(tasks) AS tasks, sum(failed) AS failed, collect(CASE WHEN failed > 0 THEN day END) AS days
WHERE failed > 0
WITH planKey, taskId, tasks, failed, days, CASE WHEN planKey = '' THEN null ELSE planKey END AS planId
ORDER BY failed DESC, planId, taskId
WITH collect({planKey: planKey, planId: planId, taskId: taskId, tasks: tasks, failed: failed, days: days}) AS groups
CALL (groups) {
  UNWIND groups[..$limit] AS g
  CALL (g) {
    WITH 'FAILED_TASK' AS link, g.planKey AS planKey, g.taskId AS taskId, g.days AS days
//@include report/days/_examples
  }
  RETURN collect(g {.planId, .taskId, taskTitle: examples[0].taskTitle, .tasks, .failed, examples: examples}) AS shown
}
RETURN size(groups) AS total, shown AS groups
