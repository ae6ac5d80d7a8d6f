MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t:TaskExecution) WHERE e.executionId IN $eids
RETURN collect(t.taskExecutionId) AS teids
