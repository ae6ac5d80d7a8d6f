// Deletes up to $limit nodes of the prunable executions, oldest first, listed so that every node
// comes after the nodes hanging from it (a task execution's attempts, then it; an execution's task
// executions, then it). A batch cut anywhere in that list leaves no attempt without its task
// execution and no task execution without its execution, and the next batch goes on from there.
// Only facts go: Plan, PlanTask and the Report* rollups are never in the list, and no counter is
// refreshed. The counts are added to the run's node in the same transaction, so they stay exact
// however often a prune is interrupted.
//@include retention/_prunable
WITH e ORDER BY e.firstKnownAt
CALL (e) {
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  CALL (t) {
    OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
    WITH collect(a) AS attempts
    RETURN CASE WHEN t IS NULL THEN [] ELSE attempts + [t] END AS branch
  }
  UNWIND branch AS node
  RETURN collect(node) AS below
}
UNWIND below + [e] AS node
WITH node LIMIT $limit
WITH collect(node) AS doomed
WITH doomed,
     size([n IN doomed WHERE n:TaskAttempt]) AS attempts,
     size([n IN doomed WHERE n:TaskExecution]) AS tasks,
     size([n IN doomed WHERE n:OrchestrationExecution]) AS executions
FOREACH (n IN doomed | DETACH DELETE n)
WITH executions, tasks, attempts
MATCH (r:PruneRun {runId: $runId})
SET r.executionsDeleted = r.executionsDeleted + executions,
    r.taskExecutionsDeleted = r.taskExecutionsDeleted + tasks,
    r.attemptsDeleted = r.attemptsDeleted + attempts
RETURN executions, tasks, attempts
