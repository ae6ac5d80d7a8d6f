MATCH (e:OrchestrationExecution)-[:HAS_TASK_EXECUTION]->(t:TaskExecution) WHERE e.executionId IN $eids
  AND t.executionId = e.executionId
RETURN collect({eid: t.executionId, taskId: t.taskId}) AS tasks
