// The live page: the execution, its plan's title and task definitions (the dependency graph's nodes), its tasks without outputs or prompts (they can
// be megabytes) and with at most $errorChars of each error (`errorChars`: its size), ordered by
// completion; what the execution and each task cost (pages/_cost, priced with $prices).
MATCH (e:OrchestrationExecution {executionId: $eid})
OPTIONAL MATCH (e)-[:EXECUTES_PLAN]->(p:Plan)
// The execution (its version) is read before its tasks: a write that commits in between shows in
// the tasks and moves the version past the one the page polls with, so the next poll brings it.
WITH e, @project(e, execution) AS execution, p.title AS planTitle, p.tasks AS planTasks
CALL (e) {
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  CALL (e, t) {
//@include pages/_task_cost
  }
  WITH t, cost, @project(t, task_row) AS m ORDER BY t.timestamp, t.taskId
  RETURN collect(m {.*, error: left(t.error, $errorChars), errorChars: size(t.error), cost: cost}) AS tasks,
         collect(cost) AS costs
}
CALL (costs) {
//@include pages/_sum_costs
}
RETURN execution {.*, cost: cost}, planTitle, tasks, planTasks
