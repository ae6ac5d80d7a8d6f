// Fragment: the body of a CALL subquery. Needs `e` (an execution, or null) in scope and $prices;
// returns `cost` (pages/_cost) of every attempt of its tasks.
OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
//@include pages/_attempt_model
//@include pages/_cost
