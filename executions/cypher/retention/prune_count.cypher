// What a prune before $before would delete, and the old executions it keeps (running ones; failed
// ones with $keepFailed). Writes nothing: the dry run, and the progress bar's total.
//@include retention/_prunable
CALL (e) {
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  RETURN count(DISTINCT t) AS tasks, count(a) AS attempts
}
WITH count(e) AS executions, sum(tasks) AS tasks, sum(attempts) AS attempts
CALL () {
  MATCH (k:OrchestrationExecution)
  WHERE k.firstKnownAt < $before AND NOT coalesce(k.finished, false)
  RETURN count(k) AS running
}
CALL () {
  MATCH (k:OrchestrationExecution)
  WHERE $keepFailed AND k.firstKnownAt < $before AND k.finished = true AND k.status = 'failed'
  RETURN count(k) AS failedKept
}
RETURN executions, tasks, attempts, running, failedKept
