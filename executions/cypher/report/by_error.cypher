// Grouped by exact error text here; the selector merges them by signature.
//@include report/_in_range
// FAILED_TASK links exactly the task executions whose latest attempt failed (status 'failure').
MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId
RETURN t.error AS error, count(t) AS failed,
       collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
         [..$examples] AS examples
