// Before keys were pairs, execution `a-b` + task `c` and execution `a` + task `b-c` shared one task
// execution, linked from both. Each execution keeps only its own task executions.
MATCH (e:OrchestrationExecution)-[link]->(t:TaskExecution) WHERE t.executionId <> e.executionId
WITH e, link, type(link) = 'HAS_TASK_EXECUTION' AS counted
DELETE link
RETURN count(CASE WHEN counted THEN 1 END) AS unlinked, collect(DISTINCT e.executionId) AS executions
