// Fragment. Needs `dayDeltas`, `taskDeltas`, `retryDeltas` (ingest/_roll_up_execution, of every
// execution of the write) in scope. Sums them per row and adds the sums that are not zero, each
// computed by Neo4j: `r.x = r.x + d` reads r.x under the row's write lock (Cypher takes it before
// reading when SET depends on the property), so concurrent writes lose no update. Rows are touched
// in one order (ReportDay, ReportTaskDay, ReportRetryDay, each by key) so that concurrent writes do
// not deadlock on each other. Rows that come to zero are kept: deleting them would race a
// concurrent MERGE of the same key.
CALL (dayDeltas) {
  UNWIND dayDeltas AS x
  WITH x.planKey AS planKey, x.day AS day, collect(x.d) AS ds
  WITH planKey, day, [i IN range(0, 8) | reduce(s = 0, d IN ds | s + d[i])] AS d
  WHERE any(v IN d WHERE v <> 0)
  WITH planKey, day, d ORDER BY planKey, day
  MERGE (r:ReportDay {planKey: planKey, day: day})
  ON CREATE SET r.executions = 0, r.finishedExecutions = 0, r.failedExecutions = 0, r.tasks = 0, r.failedTasks = 0,
    r.tokens = 0, r.reworkTokens = 0, r.failedQcAttempts = 0, r.retriedTasks = 0
  SET r.executions = r.executions + d[0], r.finishedExecutions = r.finishedExecutions + d[1],
      r.failedExecutions = r.failedExecutions + d[2], r.tasks = r.tasks + d[3], r.failedTasks = r.failedTasks + d[4],
      r.tokens = r.tokens + d[5], r.reworkTokens = r.reworkTokens + d[6],
      r.failedQcAttempts = r.failedQcAttempts + d[7], r.retriedTasks = r.retriedTasks + d[8]
  RETURN count(*) AS dayRows
}
CALL (taskDeltas) {
  UNWIND taskDeltas AS x
  WITH x.planKey AS planKey, x.day AS day, x.taskId AS taskId, collect(x.d) AS ds
  WITH planKey, day, taskId, [i IN range(0, 4) | reduce(s = 0, d IN ds | s + d[i])] AS d
  WHERE any(v IN d WHERE v <> 0)
  WITH planKey, day, taskId, d ORDER BY planKey, day, taskId
  MERGE (r:ReportTaskDay {planKey: planKey, day: day, taskId: taskId})
  ON CREATE SET r.tasks = 0, r.failed = 0, r.retried = 0, r.retriedAttempts = 0, r.retriedReworkTokens = 0
  SET r.tasks = r.tasks + d[0], r.failed = r.failed + d[1], r.retried = r.retried + d[2],
      r.retriedAttempts = r.retriedAttempts + d[3], r.retriedReworkTokens = r.retriedReworkTokens + d[4]
  RETURN count(*) AS taskRows
}
// Retried task executions per attempts, so that the groups' max attempts can be taken back.
CALL (retryDeltas) {
  UNWIND retryDeltas AS x
  WITH x.planKey AS planKey, x.day AS day, x.taskId AS taskId, x.attempts AS attempts, sum(x.d) AS d
  WHERE d <> 0
  WITH planKey, day, taskId, attempts, d ORDER BY planKey, day, taskId, attempts
  MERGE (r:ReportRetryDay {planKey: planKey, day: day, taskId: taskId, attempts: attempts})
  ON CREATE SET r.count = 0
  SET r.count = r.count + d
  RETURN count(*) AS retryRows
}
