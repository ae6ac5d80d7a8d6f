// The live page's poll after a change: the execution and its plan's title (the header) and task
// definitions (the dependency graph), and every
// task execution in the live page's order, as its place only (taskId, timestamp, durationMs, the
// versions at which it first appeared and last changed, and the status,
// group and title head the dependency graph's nodes are drawn from), or, when it changed after version $since
// or its change is not known (written before changedVersion was kept), as its whole row (as
// pages/execution_detail has it) with `changed: true`.
// Each task execution's place is read once, and its order and its changed-ness both come from that
// read, so a write that commits while this runs cannot give one task two places.
MATCH (e:OrchestrationExecution {executionId: $eid})
OPTIONAL MATCH (e)-[:EXECUTES_PLAN]->(p:Plan)
// The execution (its version) is read before its tasks: a write that commits in between shows in
// the tasks and moves the version past the one the page polls with, so the next poll brings it.
WITH e, @project(e, execution) AS execution, p.title AS planTitle, p.tasks AS planTasks
CALL (e) {
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  WITH e, t, t {.taskId, .timestamp, .durationMs, .firstVersion, .changedVersion, .status, .qcPassed, .attemptCount,
                  .parallelGroup, taskTitle: left(t.taskTitle, 200)} AS place
  WITH e, t, place, place.changedVersion IS NULL OR place.changedVersion > $since AS changed
  ORDER BY place.timestamp, place.taskId
  // The cost only of the rows sent.
  CALL (e, t, changed) {
    WITH e, t WHERE changed
//@include pages/_task_cost
  }
  WITH t, place, changed, cost, CASE WHEN changed THEN @project(t, task_row) END AS m
  RETURN collect(CASE WHEN t IS NULL THEN null
                      WHEN changed THEN m {.*, error: left(t.error, $errorChars), errorChars: size(t.error), cost: cost,
                                           timestamp: place.timestamp, durationMs: place.durationMs,
                                           firstVersion: place.firstVersion, changedVersion: place.changedVersion,
                                           changed: true}
                      ELSE place END) AS tasks
}
CALL (e) {
//@include pages/_execution_cost
}
RETURN execution {.*, cost: cost}, planTitle, tasks, planTasks
