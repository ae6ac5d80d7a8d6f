// The live page: the execution, its plan's title and task definitions (the dependency graph's nodes), its tasks without outputs or prompts (they can
// be megabytes) and with at most $errorChars of each error (`errorChars`: its size), ordered by
// completion; what the execution and each task cost (pages/_cost, priced with $prices); and the
// previous run of its plan (the latest other execution of it that started before this one, ties by
// id), which the page offers to compare with.
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
// The plan's earlier runs come from the (planId, startTime) index; Neo4j keeps the latest (a Top of
// one row, no sort of them all).
OPTIONAL CALL (e) {
  MATCH (prev:OrchestrationExecution {planId: e.planId})
  WHERE prev.startTime <= e.startTime AND (prev.startTime < e.startTime OR prev.executionId < e.executionId)
  RETURN prev.executionId AS previousRunId ORDER BY prev.startTime DESC, prev.executionId DESC LIMIT 1
}
RETURN execution {.*, cost: cost}, planTitle, tasks, planTasks, previousRunId
