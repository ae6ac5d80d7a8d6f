// A task execution with every attempt, newest first.
MATCH (e:OrchestrationExecution {executionId: $eid})-[:HAS_TASK_EXECUTION]->
      (t:TaskExecution {executionId: $eid, taskId: $taskId})
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  WITH a ORDER BY a.attemptNumber DESC
  RETURN [x IN collect(a) | @project(x, attempt)] AS attempts
}
RETURN e {.executionId, .planId, .status, .version, .lastEventAt, .startTime, .endTime} AS execution,
       @project(t, task_execution) AS task, attempts
