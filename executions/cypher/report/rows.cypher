// The CSV: one row per failed task execution, oldest execution first, with the cost of all its
// attempts (pages/_cost; $prices as the pages take them).
//@include report/_in_range
// FAILED_TASK links exactly the task executions whose latest attempt failed (status 'failure').
MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  RETURN coalesce(sum(a.tokensTotal), 0) AS tokens
}
CALL (e, t) {
//@include pages/_task_cost
}
RETURN e.executionId AS executionId, e.planId AS planId, t.taskId AS taskId, t.taskTitle AS taskTitle,
       t.attemptNumber AS attemptNumber, t.attemptCount AS attempts, t.error AS error, t.qcScore AS qcScore,
       t.qcIssues AS qcIssues, tokens, cost, t.timestamp AS timestamp
ORDER BY e.firstKnownAt, e.executionId, t.taskId
