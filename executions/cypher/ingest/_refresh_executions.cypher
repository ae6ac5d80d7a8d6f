// Fragment. Needs `conflicts` (nothing happens unless it is empty) and `changed` (the executions
// whose version moves: replays leave it alone so that live pages do not re-render for nothing) in
// scope, and $eids, $now. Binds `executions`: each one's counters. The failure report's rollups
// follow in the same statement (ingest/_roll_up_execution, _roll_up_errors, _roll_up_rework,
// _roll_up_qc, _apply_rollups, _apply_rework_rollups, _apply_qc_rollups, _apply_error_rollups).
// Counters derive from stored facts: task status from each task's latest attempt; tokens and
// tool calls from every attempt (retries cost real tokens).
CALL (conflicts, changed) {
  UNWIND CASE WHEN conflicts = [] THEN $eids ELSE [] END AS eid
  MATCH (e:OrchestrationExecution {executionId: eid})
  // One walk of its task executions and their attempts gives the counters and, per task id, what
  // it adds to the failure report's task rows (ingest/_roll_up_execution; models.ROLLUP_TASK_FIELDS
  // order: tasks, failed (latest attempt failed), retried (latest passed after earlier attempts, as
  // RETRIED_TASK), its attempts and its failed attempts' tokens, the last two for retried ones only).
  CALL (e) {
    OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
    CALL (t) {
      OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
      RETURN coalesce(sum(a.tokensInput), 0) AS tin, coalesce(sum(a.tokensOutput), 0) AS tout,
             coalesce(sum(a.toolCalls), 0) AS calls,
             coalesce(sum(CASE WHEN a.status = 'failure' THEN a.tokensTotal END), 0) AS rework,
             min(a.timestamp - coalesce(a.durationMs, 0)) AS firstStart,
             count(CASE WHEN a.qcPassed = false THEN 1 END) AS failedQc
    }
    WITH t, tin, tout, calls, rework, firstStart, failedQc,
         t.status = 'success' AND (coalesce(t.attemptCount, 0) > 1 OR coalesce(t.attemptNumber, 0) > 1) AS retried
    ORDER BY t.taskId
    RETURN count(CASE WHEN t.status = 'success' THEN 1 END) AS ok,
           count(CASE WHEN t.status = 'failure' THEN 1 END) AS bad, collect(t.taskId) AS taskIds,
           collect(t.taskTitle) AS titles, sum(tin) AS tin, sum(tout) AS tout, sum(calls) AS calls,
           sum(rework) AS rework, min(firstStart) AS firstAttemptStart, sum(failedQc) AS failedQc,
           // collect skips the null of an execution without task executions.
           reduce(flat = [], v IN collect(CASE WHEN t IS NOT NULL THEN
             [1, CASE WHEN t.status = 'failure' THEN 1 ELSE 0 END, CASE WHEN retried THEN 1 ELSE 0 END,
              CASE WHEN NOT retried THEN 0
                   WHEN coalesce(t.attemptNumber, 0) > coalesce(t.attemptCount, 0) THEN t.attemptNumber
                   ELSE t.attemptCount END,
              CASE WHEN retried THEN rework ELSE 0 END] END) | flat + v) AS taskValues
  }
  WITH e, ok, bad, taskIds, titles, taskValues, tin, tout, calls, rework, firstAttemptStart, failedQc,
       eid IN changed AS moved
  SET e.tasksSuccessful = ok, e.tasksFailed = bad,
      e.tokensInput = tin, e.tokensOutput = tout, e.tokensTotal = tin + tout, e.toolCalls = calls,
      // For the failure report: tokens spent on failed attempts, and the task ids (its per-task
      // denominators count these lists instead of reading every task execution).
      e.reworkTokens = rework, e.taskIds = taskIds,
      // Where the failure report and the list place it in time: its start, or while no start
      // event has arrived, the earliest start of its attempts, else when it was first heard of.
      e.firstKnownAt = coalesce(e.startTime, firstAttemptStart, e.created),
      // For the list's case-insensitive search: ids and task titles, one per line.
      e.searchText = toLower(reduce(text = e.executionId + '\n' + coalesce(e.planId, ''), title IN titles |
                                    text + '\n' + title)),
      // Finished with fewer tasks reported than it announced (totalTasks), none failed: incomplete,
      // not completed (docs/design.md says why).
      e.status = CASE WHEN NOT e.finished THEN 'running' WHEN e.cancelled THEN 'cancelled'
                      WHEN bad > 0 THEN 'failed' WHEN ok < e.tasksTotal THEN 'incomplete' ELSE 'completed' END,
      e.tasksMissing = CASE WHEN e.finished AND ok + bad < e.tasksTotal THEN e.tasksTotal - ok - bad ELSE 0 END,
      e.durationMs = CASE WHEN e.startTime IS NOT NULL AND e.endTime IS NOT NULL
                          THEN e.endTime - e.startTime ELSE null END,
      e.version = e.version + CASE WHEN moved THEN 1 ELSE 0 END,
      e.updated = CASE WHEN moved THEN $now ELSE e.updated END,
      e.lastEventAt = CASE WHEN moved THEN $now ELSE e.lastEventAt END
  WITH e, failedQc, taskIds, taskValues
//@include ingest/_roll_up_execution
//@include ingest/_roll_up_errors
//@include ingest/_roll_up_rework
//@include ingest/_roll_up_qc
  RETURN collect(@project(e, execution_counters)) AS executions,
         reduce(all = [], x IN collect(dayDeltas) | all + x) AS dayDeltas,
         reduce(all = [], x IN collect(taskDeltas) | all + x) AS taskDeltas,
         reduce(all = [], x IN collect(retryDeltas) | all + x) AS retryDeltas,
         reduce(all = [], x IN collect(errorDeltas) | all + x) AS errorDeltas,
         reduce(all = [], x IN collect(reworkDeltas) | all + x) AS reworkDeltas,
         reduce(all = [], x IN collect(qcDeltas) | all + x) AS qcDeltas
}
//@include ingest/_apply_rollups
// Rows in the lock order across labels: ReportReworkDay, ReportQcDay, then ReportErrorDay.
//@include ingest/_apply_rework_rollups
//@include ingest/_apply_qc_rollups
//@include ingest/_apply_error_rollups
