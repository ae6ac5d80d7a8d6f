// Give attempts their errorKey ($keys: {eid, taskId, attemptNumber, errorKey}; see
// ingest/attempts_without_error_key).
UNWIND $keys AS k
MATCH (a:TaskAttempt {executionId: k.eid, taskId: k.taskId, attemptNumber: k.attemptNumber})
SET a.errorKey = k.errorKey
RETURN count(a) AS keyed
