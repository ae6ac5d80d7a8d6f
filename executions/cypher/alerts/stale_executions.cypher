// Running executions that went stale between two passes: no event since before $cutoff (now less
// EXECUTION_STALE_AFTER_SECONDS), but one at or after $since (the previous pass's cutoff, less the
// overlap). Through the lastEventAt index; at most $limit, oldest first.
MATCH (e:OrchestrationExecution)
WHERE e.lastEventAt >= $since AND e.lastEventAt < $cutoff AND e.status = 'running'
  AND (e.lastEventAt > $since OR e.executionId > $afterId)
WITH e ORDER BY e.lastEventAt, e.executionId LIMIT $limit
RETURN e.executionId AS executionId, e.planId AS planId, e.status AS status,
       e.finished AS finished, e.startTime AS startTime, e.endTime AS endTime,
       e.tasksTotal AS tasksTotal, e.tasksFailed AS tasksFailed, e.reworkTokens AS reworkTokens,
       e.lastEventAt AS lastEventAt, e.version AS version
