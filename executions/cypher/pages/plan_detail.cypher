// A plan, its run statistics and one page of its executions, newest first.
MATCH (p:Plan {planId: $pid})
CALL (p) {
//@include pages/_plan_stats
}
CALL (p) {
  OPTIONAL MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
  WITH e ORDER BY e.startTime DESC, e.created DESC, e.executionId DESC SKIP $skip LIMIT $limit
  RETURN [x IN collect(e) | @project(x, execution)] AS executions
}
RETURN @project(p, plan) AS plan, stats, executions
