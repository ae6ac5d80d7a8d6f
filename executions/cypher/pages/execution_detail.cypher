// The live page: the execution, its plan's title, its tasks without outputs or prompts (they can
// be megabytes), ordered by completion.
MATCH (e:OrchestrationExecution {executionId: $eid})
OPTIONAL MATCH (e)-[:EXECUTES_PLAN]->(p:Plan)
CALL (e) {
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  WITH t ORDER BY t.timestamp, t.taskId
  RETURN [x IN collect(t) | @project(x, task_row)] AS tasks
}
RETURN @project(e, execution) AS execution, p.title AS planTitle, tasks
