//@include report/_in_range
WITH collect(e) AS es
// The groups: failed task executions (FAILED_TASK: latest attempt failed), newest first; a group is
// titled like its newest failed task execution.
CALL (es) {
  UNWIND es AS e
  MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
  WITH e, t ORDER BY t.timestamp DESC, e.executionId
  WITH e.planId AS planId, t.taskId AS taskId,
       collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
         AS failedTasks
  RETURN collect({planId: planId, taskId: taskId, taskTitle: failedTasks[0].taskTitle, failed: size(failedTasks),
                  examples: failedTasks[..$examples]}) AS failedGroups
}
// Denominators: every task execution of the range, counted from each execution's sorted list of
// task ids (every write keeps it with the counters) rather than by reading every task execution.
CALL (es) {
  UNWIND es AS e
  UNWIND e.taskIds AS taskId
  WITH e.planId AS planId, taskId, count(*) AS tasks
  RETURN collect({planId: planId, taskId: taskId, tasks: tasks}) AS counts
}
UNWIND failedGroups AS g
WITH g, [c IN counts WHERE c.taskId = g.taskId AND (c.planId = g.planId OR (c.planId IS NULL AND g.planId IS NULL))][0].tasks
       AS tasks
ORDER BY g.failed DESC, g.planId, g.taskId
WITH collect(g {.planId, .taskId, .taskTitle, tasks: tasks, .failed, .examples}) AS groups
RETURN size(groups) AS total, groups[..$limit] AS groups
