//@include report/_in_range
WITH e.planId AS planId, count(e) AS executions,
     count(CASE WHEN e.finished THEN 1 END) AS finishedExecutions,
     count(CASE WHEN e.finished AND e.status = 'failed' THEN 1 END) AS failedExecutions,
     collect(e) AS es,
     // The execution's counters (derived from its tasks by every write): task executions and
     // those whose latest attempt failed.
     sum(coalesce(e.tasksSuccessful, 0) + coalesce(e.tasksFailed, 0)) AS tasks,
     sum(coalesce(e.tasksFailed, 0)) AS failed
CALL (es) {
  UNWIND es AS e
  // FAILED_TASK links exactly the task executions whose latest attempt failed (status 'failure').
  MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
  WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId LIMIT $examples
  RETURN collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
         AS examples
}
CALL (es) {
//@include report/_rework_cost
}
OPTIONAL MATCH (p:Plan {planId: planId})
RETURN planId, p.title AS planTitle, executions, finishedExecutions, failedExecutions, tasks, failed, examples,
       cost AS reworkCost
ORDER BY failed DESC, failedExecutions DESC, planId
