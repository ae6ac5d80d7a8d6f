// Per bucket of $bucket_ms from $origin. Task counts and tokens are the execution's counters, and
// reworkTokens the tokens of its failed attempts, all derived by every write from the stored tasks
// and attempts: tasksSuccessful + tasksFailed = task executions (each has a latest attempt that
// succeeded or failed). `reworkCost`: what the failed attempts cost (report/_rework_cost).
//@include report/_in_range
WITH (e.firstKnownAt - $origin) / $bucket_ms AS bucket, e,
     coalesce(e.tasksSuccessful, 0) + coalesce(e.tasksFailed, 0) AS tasks, coalesce(e.tasksFailed, 0) AS failedTasks
WITH bucket,
       count(e) AS executions,
       count(CASE WHEN e.finished THEN 1 END) AS finishedExecutions,
       count(CASE WHEN e.finished AND e.status = 'failed' THEN 1 END) AS failedExecutions,
       sum(tasks) AS tasks, sum(failedTasks) AS failedTasks,
       sum(coalesce(e.tokensTotal, 0)) AS tokens, sum(coalesce(e.reworkTokens, 0)) AS reworkTokens,
       collect(e) AS es
CALL (es) {
//@include report/_rework_cost
}
RETURN bucket, executions, finishedExecutions, failedExecutions, tasks, failedTasks, tokens, reworkTokens,
       cost AS reworkCost
ORDER BY bucket
