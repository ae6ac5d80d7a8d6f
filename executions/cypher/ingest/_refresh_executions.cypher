// Fragment. Needs `conflicts` (nothing happens unless it is empty) and `changed` (the executions
// whose version moves: replays leave it alone so that live pages do not re-render for nothing) in
// scope, and $write.eids, $write.now, $write.touched (execution id -> the task ids this write refreshed, by
// ingest/_refresh_tasks) and $write.allTasks (true: roll up every task execution again, as rederive_graph
// does). Binds `executions`: each one's counters. The failure report's rollups follow in the same
// statement (ingest/_roll_up_execution, _roll_up_errors, _roll_up_rework, _roll_up_qc,
// _apply_rollups, _apply_rework_rollups, _apply_qc_rollups, _apply_error_rollups).
// Counters derive from stored facts: task status from each task's latest attempt; tokens and
// tool calls from every attempt (retries cost real tokens), as each task execution sums its own
// (ingest/_refresh_tasks keeps them, so no attempt is read here).
CALL (conflicts, changed) {
  UNWIND CASE WHEN conflicts = [] THEN $write.eids ELSE [] END AS eid
  MATCH (e:OrchestrationExecution {executionId: eid})
  CALL (e) {
    OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
    WITH t ORDER BY t.taskId
    RETURN count(CASE WHEN t.status = 'success' THEN 1 END) AS ok,
           count(CASE WHEN t.status = 'failure' THEN 1 END) AS bad, collect(t.taskId) AS taskIds,
           collect(t.taskTitle) AS titles, coalesce(sum(t.attemptsTokensInput), 0) AS tin,
           coalesce(sum(t.attemptsTokensOutput), 0) AS tout, coalesce(sum(t.attemptsToolCalls), 0) AS calls,
           coalesce(sum(t.attemptsReworkTokens), 0) AS rework, min(t.attemptsFirstStart) AS firstAttemptStart,
           coalesce(sum(t.attemptsFailedQc), 0) AS failedQc, coalesce(sum(t.reportValues[2]), 0) AS retried
  }
  WITH e, ok, bad, taskIds, titles, tin, tout, calls, rework, firstAttemptStart, failedQc, retried,
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
      e.updated = CASE WHEN moved THEN $write.now ELSE e.updated END,
      e.lastEventAt = CASE WHEN moved THEN $write.now ELSE e.lastEventAt END
  WITH e, failedQc, retried
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
