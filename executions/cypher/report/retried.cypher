// Task executions whose latest attempt passed after at least one earlier attempt.
//@include report/_in_range
// RETRIED_TASK links exactly the task executions whose latest attempt passed after earlier ones.
MATCH (e)-[:RETRIED_TASK]->(t:TaskExecution)
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt {status: 'failure'})
  RETURN coalesce(sum(a.tokensTotal), 0) AS reworkTokens
}
WITH e, t, reworkTokens,
     CASE WHEN coalesce(t.attemptNumber, 0) > coalesce(t.attemptCount, 0)
          THEN t.attemptNumber ELSE t.attemptCount END AS attempts
ORDER BY t.timestamp DESC, e.executionId
WITH e.planId AS planId, t.taskId AS taskId, collect(t.taskTitle)[0] AS taskTitle, count(t) AS retried,
     max(attempts) AS maxAttempts, sum(attempts) AS totalAttempts, sum(reworkTokens) AS reworkTokens,
     collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp,
              attempts: attempts})[..$examples] AS examples
ORDER BY retried DESC, planId, taskId
WITH collect({planId: planId, taskId: taskId, taskTitle: taskTitle, retried: retried, maxAttempts: maxAttempts,
              totalAttempts: totalAttempts, reworkTokens: reworkTokens, examples: examples}) AS groups
RETURN size(groups) AS total, reduce(n = 0, g IN groups | n + g.retried) AS retried, groups[..$limit] AS groups
