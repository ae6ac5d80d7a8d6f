// Fragment: the body of a CALL subquery. Needs `planKey`, `taskId` (null: any task) and `days`
// (the UTC midnights with failed tasks of that group, newest first) in scope and $examples; returns
// `examples`: the group's failed task executions (FAILED_TASK), newest day first and within a day
// newest first, reading days only until $examples are found.
UNWIND days AS day
CALL (planKey, taskId, day) {
  CALL (planKey, day) {
//@include report/days/_executions_of_day
  }
  MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
  WHERE taskId IS NULL OR t.taskId = taskId
  WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId LIMIT $examples
  RETURN e, t
}
WITH e, t LIMIT $examples
RETURN collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
       AS examples
