// The executions whose last event is after the alert detector's cursor: (lastEventAt, executionId)
// after ($since, $afterId), through the lastEventAt index, with what the rules need: the execution's facts, and its task
// executions that need more than $attemptsAbove attempts or have an attempt QC-scored below
// $qcBelow (either parameter null: no such rule, and no task is read for it). At most $limit,
// oldest first, so that a pass that stops at the limit resumes from the last one read.
MATCH (e:OrchestrationExecution)
WHERE e.lastEventAt >= $since AND (e.lastEventAt > $since OR e.executionId > $afterId)
WITH e ORDER BY e.lastEventAt, e.executionId LIMIT $limit
RETURN e.executionId AS executionId, e.planId AS planId, e.status AS status,
       e.finished AS finished, e.startTime AS startTime, e.endTime AS endTime,
       e.tasksTotal AS tasksTotal, e.tasksFailed AS tasksFailed, e.reworkTokens AS reworkTokens,
       e.lastEventAt AS lastEventAt,
       CASE WHEN $qcBelow IS NULL AND $attemptsAbove IS NULL THEN [] ELSE COLLECT {
         MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
         WITH t, COLLECT { MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt) WHERE a.qcScore IS NOT NULL
                           RETURN a.qcScore ORDER BY a.qcScore LIMIT 1 } AS lowest
         WITH t, CASE WHEN size(lowest) = 0 THEN null ELSE lowest[0] END AS lowestQcScore
         WHERE ($attemptsAbove IS NOT NULL AND t.attemptCount > $attemptsAbove)
            OR ($qcBelow IS NOT NULL AND lowestQcScore < $qcBelow)
         RETURN {taskId: t.taskId, taskTitle: t.taskTitle, attemptCount: t.attemptCount,
                 lowestQcScore: lowestQcScore, status: t.status}
       } END AS tasks
