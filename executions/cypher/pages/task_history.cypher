// One task of a plan across its runs: the plan, and the task execution of each of the $limit most
// recent executions of the plan that ran the task, newest first (by the execution's firstKnownAt).
// It walks the plan's executions (EXECUTES_PLAN, sorted by firstKnownAt), not the task executions:
// each one's task execution is a seek of the (executionId, taskId) key, and the walk stops after
// $limit found. (Through the taskId index instead it would read every task execution with this id
// in every plan: ids such as `setup` repeat across plans. docs/benchmarks.md, "Task history".)
// tokensTotal sums every attempt (a retry costs real tokens); null when none reported tokens.
MATCH (p:Plan {planId: $pid})
CALL (p) {
  MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
  WITH e ORDER BY e.firstKnownAt DESC, e.executionId DESC
  MATCH (t:TaskExecution {executionId: e.executionId, taskId: $taskId})
  WHERE (e)-[:HAS_TASK_EXECUTION]->(t)
  WITH e, t LIMIT $limit
  CALL (t) {
    OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
    RETURN CASE WHEN count(a.tokensTotal) = 0 THEN null ELSE sum(a.tokensTotal) END AS tokens
  }
  RETURN collect({executionId: e.executionId, executionStatus: e.status, firstKnownAt: e.firstKnownAt,
                  startTime: e.startTime, status: t.status, taskTitle: t.taskTitle, durationMs: t.durationMs,
                  tokensTotal: tokens, attemptCount: coalesce(t.attemptCount, 1), qcPassed: t.qcPassed,
                  qcScore: t.qcScore, timestamp: t.timestamp}) AS runs
}
RETURN p {.planId, .title, .registered, .tasks} AS plan, runs
