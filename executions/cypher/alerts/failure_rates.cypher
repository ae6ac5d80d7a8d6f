// Failure rate per plan over a rolling window: of the executions of each plan in $planIds that
// finished with their last event at or after $since, the share that failed. A plan with no such
// execution answers runs 0. Counted by Neo4j, through the planId index.
UNWIND $planIds AS pid
CALL (pid) {
  MATCH (e:OrchestrationExecution {planId: pid})
  WHERE e.lastEventAt >= $since AND e.finished = true
  RETURN count(e) AS runs, count(CASE WHEN e.status = 'failed' THEN 1 END) AS failed
}
RETURN pid AS planId, runs, failed
