// The attempts of executions $eids with a QC list but not its keys (written before keys were kept):
// their key and lists, for executions_rederive to give them their keys.
MATCH (e:OrchestrationExecution)
WHERE e.executionId IN $eids
MATCH (e)-[:HAS_TASK_EXECUTION]->(:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
WHERE (a.qcIssues IS NOT NULL AND a.qcIssueKeys IS NULL) OR (a.qcRequiredFixes IS NOT NULL AND a.qcFixKeys IS NULL)
RETURN collect({executionId: a.executionId, taskId: a.taskId, attemptNumber: a.attemptNumber,
                issues: a.qcIssues, fixes: a.qcRequiredFixes}) AS attempts
