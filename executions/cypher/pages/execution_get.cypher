// The read API's execution: counters, every task execution (latest attempt each), failed task ids.
MATCH (e:OrchestrationExecution {executionId: $eid})
OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
WITH e, t ORDER BY t.timestamp, t.taskId
RETURN @project(e, execution) AS execution,
       [x IN collect(t) | @project(x, task_execution)] AS tasks,
       [(e)-[:FAILED_TASK]->(f:TaskExecution) | f.taskId] AS failedTaskIds
