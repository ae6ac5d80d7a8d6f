// Fragment. Needs `conflicts` in scope (nothing happens unless it is empty) and $write.tasks: the
// task executions to refresh, as {eid, taskId}.
// Each task execution mirrors its latest attempt, and keeps the execution versions at which it last
// changed (`changedVersion`) and first appeared (`firstVersion`; 0 for one written before these were
// kept): the live page's poll sends only the rows that changed after the version it has. This runs
// under the execution's lock and before _refresh_executions bumps the version by one, so
// `e.version + 1` is the version this write commits (a replay, which bumps nothing, marks its rows
// one version ahead: they are sent again with the next change, never missed).
// Links that the failure report walks instead of reading every task: FAILED_TASK while the latest
// attempt failed, QC_FAILED_TASK while any attempt failed QC, RETRIED_TASK while the latest attempt
// passed after earlier ones.
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $write.tasks ELSE [] END AS key
  // By its key: ingest/_roll_up_execution says why.
  MATCH (e:OrchestrationExecution {executionId: key.eid})-[:HAS_TASK_EXECUTION]->
        (t:TaskExecution {executionId: key.eid, taskId: key.taskId})
  USING INDEX t:TaskExecution(executionId, taskId)
  // What its attempts add up to is kept on it (attempts*): the execution's counters sum these over
  // its task executions (ingest/_refresh_executions) instead of walking every attempt at each write.
  // Tokens and tool calls count every attempt (retries cost real tokens); rework is the tokens of
  // the failed ones.
  CALL (t) {
    MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
    WITH a ORDER BY a.attemptNumber DESC
    RETURN collect(a)[0] AS latest, count(a) AS attemptCount, count(CASE WHEN a.qcPassed = false THEN 1 END) AS failedQc,
           coalesce(sum(a.tokensInput), 0) AS tin, coalesce(sum(a.tokensOutput), 0) AS tout,
           coalesce(sum(a.toolCalls), 0) AS calls,
           coalesce(sum(CASE WHEN a.status = 'failure' THEN a.tokensTotal END), 0) AS rework,
           min(a.timestamp - coalesce(a.durationMs, 0)) AS firstStart
  }
  // Never refreshed before (no attemptCount yet): the task execution appears in this write.
  WITH e, t, latest, attemptCount, failedQc > 0 AS qcFailed, failedQc, tin, tout, calls, rework, firstStart,
       t.attemptCount IS NULL AS appears, latest.status = 'failure' AS failed,
       latest.status = 'success' AND (attemptCount > 1 OR latest.attemptNumber > 1) AS retried
  SET t += @project(latest, attempt_content), t.errorKey = latest.errorKey, t.attemptCount = attemptCount,
      t.attemptsTokensInput = tin, t.attemptsTokensOutput = tout, t.attemptsToolCalls = calls,
      t.attemptsReworkTokens = rework, t.attemptsFailedQc = failedQc, t.attemptsFirstStart = firstStart,
      // What it adds to its ReportTaskDay row (models.ROLLUP_TASK_FIELDS order: the task, failed
      // (latest attempt failed), retried (as RETRIED_TASK), its attempts and its failed attempts'
      // tokens, the last two for a retried one only); ingest/_roll_up_execution applies the change.
      t.reportValues = [1, CASE WHEN failed THEN 1 ELSE 0 END, CASE WHEN retried THEN 1 ELSE 0 END,
                        CASE WHEN NOT retried THEN 0 WHEN latest.attemptNumber > attemptCount THEN latest.attemptNumber
                             ELSE attemptCount END,
                        CASE WHEN retried THEN rework ELSE 0 END],
      t.changedVersion = e.version + 1,
      t.firstVersion = coalesce(t.firstVersion, CASE WHEN appears THEN e.version + 1 ELSE 0 END),
      // What the failure report's examples seek by (indexes task_report_*: only task executions
      // with these set are in them): its link, its error's key while failed, whether an attempt
      // failed QC, and its rollup row's keys. Those are the execution's as last rolled up; a write
      // that moves the execution to another row sets them on all its tasks (_roll_up_execution).
      t.reportLink = CASE WHEN failed THEN 'FAILED_TASK' WHEN retried THEN 'RETRIED_TASK' END,
      t.reportErrorKey = CASE WHEN failed THEN coalesce(latest.errorKey, '') END,
      t.reportQcFailed = CASE WHEN qcFailed THEN true END,
      t.reportPlanKey = coalesce(t.reportPlanKey, e.rolledPlanKey), t.reportDay = coalesce(t.reportDay, e.rolledDay)
  WITH e, t, qcFailed, failed, retried
  // Each link exists exactly while its flag holds.
  CALL (e, t, failed) {
    OPTIONAL MATCH (e)-[link:FAILED_TASK]->(t)
    FOREACH (_ IN CASE WHEN failed AND link IS NULL THEN [1] ELSE [] END | CREATE (e)-[:FAILED_TASK]->(t))
    FOREACH (_ IN CASE WHEN NOT failed AND link IS NOT NULL THEN [1] ELSE [] END | DELETE link)
  }
  CALL (e, t, qcFailed) {
    OPTIONAL MATCH (e)-[link:QC_FAILED_TASK]->(t)
    FOREACH (_ IN CASE WHEN qcFailed AND link IS NULL THEN [1] ELSE [] END | CREATE (e)-[:QC_FAILED_TASK]->(t))
    FOREACH (_ IN CASE WHEN NOT qcFailed AND link IS NOT NULL THEN [1] ELSE [] END | DELETE link)
  }
  CALL (e, t, retried) {
    OPTIONAL MATCH (e)-[link:RETRIED_TASK]->(t)
    FOREACH (_ IN CASE WHEN retried AND link IS NULL THEN [1] ELSE [] END | CREATE (e)-[:RETRIED_TASK]->(t))
    FOREACH (_ IN CASE WHEN NOT retried AND link IS NOT NULL THEN [1] ELSE [] END | DELETE link)
  }
  RETURN count(*) AS refreshedTasks
}
