// The executions whose last event is after the alert detector's cursor: (lastEventAt, executionId)
// after ($since, $afterId), through the lastEventAt index, with the facts the rules read. At most
// $limit, oldest first, so that a pass that stops at the limit resumes from the last one read.
// Their tasks are read apart (alerts/execution_tasks), only for executions not already evaluated.
MATCH (e:OrchestrationExecution)
WHERE e.lastEventAt >= $since AND (e.lastEventAt > $since OR e.executionId > $afterId)
WITH e ORDER BY e.lastEventAt, e.executionId LIMIT $limit
RETURN e.executionId AS executionId, e.planId AS planId, e.status AS status,
       e.finished AS finished, e.startTime AS startTime, e.endTime AS endTime,
       e.tasksTotal AS tasksTotal, e.tasksFailed AS tasksFailed, e.reworkTokens AS reworkTokens,
       e.lastEventAt AS lastEventAt, e.version AS version
