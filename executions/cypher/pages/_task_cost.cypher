// Fragment: the body of a CALL subquery. Needs `e` and `t` (a task execution of it, or null) in
// scope and $prices; returns `cost` (pages/_cost) of the task's attempts.
OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
//@include pages/_attempt_model
//@include pages/_cost
