// The attempts from results of executions $eids that were stored before attempts kept their
// errorKey (rederive_graph gives them one: signatures.error_key, computed in Python).
MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
WHERE e.executionId IN $eids AND a.source = 'result' AND a.errorKey IS NULL
RETURN a.executionId AS eid, a.taskId AS taskId, a.attemptNumber AS attemptNumber, a.error AS error
