// The task executions of the executions $executions ({id, since}: each found by its key) changed
// after the execution version `since` (-1: all; a task execution written before changedVersion was
// kept counts as changed) that need more than $attemptsAbove attempts, or have an attempt QC-scored
// below $qcBelow (either null: no such rule), with their lowest QC score.
UNWIND $executions AS ex
MATCH (:OrchestrationExecution {executionId: ex.id})-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
WHERE t.changedVersion IS NULL OR t.changedVersion > ex.since
WITH ex.id AS eid, t, CASE WHEN $qcBelow IS NULL THEN [] ELSE
       COLLECT { MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt) WHERE a.qcScore IS NOT NULL
                 RETURN a.qcScore ORDER BY a.qcScore LIMIT 1 } END AS lowest
WITH eid, t, CASE WHEN size(lowest) = 0 THEN null ELSE lowest[0] END AS lowestQcScore
WHERE ($attemptsAbove IS NOT NULL AND t.attemptCount > $attemptsAbove)
   OR ($qcBelow IS NOT NULL AND lowestQcScore < $qcBelow)
RETURN eid AS executionId, t.taskId AS taskId, t.taskTitle AS taskTitle, t.attemptCount AS attemptCount,
       lowestQcScore, t.status AS status
