// Fragment: the body of a CALL subquery. Needs `es` (executions) in scope and $prices; returns
// `cost` (pages/_cost) of their failed attempts: the rework in currency. Only executions with
// rework tokens are walked (an attempt without tokens costs nothing).
UNWIND es AS e
WITH e WHERE e.reworkTokens > 0
OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt {status: 'failure'})
//@include pages/_attempt_model
//@include pages/_cost
