// Fragment, the body of a CALL (a, b) subquery: task $task's latest output in executions `a` and `b`
// (either may be null), each as its first $chars characters with its size; binds `outputs`, null
// when $task is null. A side is null when its execution has no such task.
// By their keys: left to statistics, Neo4j may seek every task execution with this task id (one
// per run of the plan, and these are runs of one plan) by the taskId index.
  OPTIONAL MATCH (a)-[:HAS_TASK_EXECUTION]->(ta:TaskExecution {executionId: $a, taskId: $task})
  USING INDEX ta:TaskExecution(executionId, taskId)
  OPTIONAL MATCH (b)-[:HAS_TASK_EXECUTION]->(tb:TaskExecution {executionId: $b, taskId: $task})
  USING INDEX tb:TaskExecution(executionId, taskId)
  RETURN CASE WHEN $task IS NULL THEN null ELSE {
           taskId: $task,
           a: CASE WHEN ta IS NULL THEN null ELSE {output: left(ta.output, $chars), outputChars: size(ta.output),
                                                   attemptNumber: ta.attemptNumber} END,
           b: CASE WHEN tb IS NULL THEN null ELSE {output: left(tb.output, $chars), outputChars: size(tb.output),
                                                   attemptNumber: tb.attemptNumber} END} END AS outputs
