// Fragment: the body of a CALL subquery. Needs `link` ('FAILED_TASK': latest attempt failed, or
// 'RETRIED_TASK': passed after earlier attempts), `planKey`, `taskId` (null: any task) and `days`
// (the UTC midnights of that group's rollup rows, newest first) in scope and $examples; returns
// `examples`: the group's linked task executions, newest day first and within a day newest first,
// reading days only until $examples are found. Retried ones carry their `attempts`.
UNWIND days AS day
CALL (link, planKey, taskId, day) {
  CALL (planKey, day) {
//@include report/days/_executions_of_day
  }
  MATCH (e)-[l:FAILED_TASK|RETRIED_TASK]->(t:TaskExecution)
  WHERE type(l) = link AND (taskId IS NULL OR t.taskId = taskId)
  WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId LIMIT $examples
  RETURN e, t
}
WITH link, e, t LIMIT $examples
WITH link, {executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp} AS example,
     CASE WHEN coalesce(t.attemptNumber, 0) > coalesce(t.attemptCount, 0) THEN t.attemptNumber ELSE t.attemptCount END
       AS attempts
RETURN collect(CASE WHEN link = 'RETRIED_TASK' THEN example {.*, attempts: attempts} ELSE example END) AS examples
