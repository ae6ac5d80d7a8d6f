// Attempts written before keys were pairs were found by "<executionId>-<taskId>#<n>": give each
// the key of the task execution it belongs to. Auto-commit, in bounded transactions.
MATCH (t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt) WHERE a.executionId IS NULL
CALL (t, a) {
  SET a.executionId = t.executionId, a.taskId = t.taskId
  REMOVE a.attemptId
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS migrated
