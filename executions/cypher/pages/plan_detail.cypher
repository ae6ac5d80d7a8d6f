// A plan, its run statistics and one page of its executions, newest first; what all its runs cost
// and what each listed one did (pages/_cost, priced with $prices).
MATCH (p:Plan {planId: $pid})
CALL (p) {
//@include pages/_plan_stats
}
CALL (p) {
  OPTIONAL MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
  WITH e ORDER BY e.startTime DESC, e.created DESC, e.executionId DESC SKIP $skip LIMIT $limit
  CALL (e) {
//@include pages/_execution_cost
  }
  WITH cost, @project(e, execution) AS m
  RETURN collect(m {.*, cost: cost}) AS executions
}
CALL (p) {
  OPTIONAL MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
//@include pages/_attempt_model
//@include pages/_cost
}
RETURN @project(p, plan) AS plan, stats, executions, cost
