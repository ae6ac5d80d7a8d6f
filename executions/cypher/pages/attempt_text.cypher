// One long text of an attempt, whole: its output, prompt or error ($field), for the plain-text view.
MATCH (:OrchestrationExecution {executionId: $eid})-[:HAS_TASK_EXECUTION]->
      (:TaskExecution {executionId: $eid, taskId: $taskId})-[:HAS_ATTEMPT]->
      (a:TaskAttempt {executionId: $eid, taskId: $taskId, attemptNumber: $attemptNumber})
RETURN CASE $field WHEN 'output' THEN a.output WHEN 'prompt' THEN a.prompt WHEN 'error' THEN a.error END AS text
