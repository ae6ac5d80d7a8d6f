// The examples of the error groups the report shows ($groups: {group, keys}, keys the errorKeys of
// the group's texts): per group, its failed task executions, newest day first (of the days its
// ReportErrorDay rows have failures) and within a day newest first (ties by execution id, then
// task id), reading days only until $examples are found. A failed task execution carries its
// error's key and its rollup row's keys (reportErrorKey, reportPlanKey, reportDay:
// ingest/_refresh_tasks, _roll_up_execution), so a day's examples per key and plan are one seek of
// the index task_report_error in timestamp order, whatever else that day held.
UNWIND $groups AS g
CALL (g) {
  MATCH (r:ReportErrorDay)
  WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id)
    AND r.errorKey IN g.keys AND r.failed > 0
  WITH r.day AS day, collect({planKey: r.planKey, errorKey: r.errorKey}) AS rows
  ORDER BY day DESC
  CALL (day, rows) {
    CALL (day, rows) {
      UNWIND rows AS row
      CALL (day, row) {
        MATCH (t:TaskExecution {reportErrorKey: row.errorKey, reportPlanKey: row.planKey, reportDay: day})
        USING INDEX SEEK t:TaskExecution(reportErrorKey, reportPlanKey, reportDay, timestamp)
        WHERE t.timestamp IS NOT NULL
        // The whole index key in the ORDER BY (all but timestamp are equal): the index gives the order.
        WITH t ORDER BY t.reportErrorKey DESC, t.reportPlanKey DESC, t.reportDay DESC, t.timestamp DESC LIMIT $examples
        RETURN t.timestamp AS at
      }
      WITH at ORDER BY at DESC LIMIT $examples
      RETURN min(at) AS floor
    }
    UNWIND rows AS row
    CALL (day, row, floor) {
      MATCH (t:TaskExecution {reportErrorKey: row.errorKey, reportPlanKey: row.planKey, reportDay: day})
      USING INDEX SEEK t:TaskExecution(reportErrorKey, reportPlanKey, reportDay, timestamp)
      WHERE t.timestamp >= floor
      RETURN t
    }
    WITH t ORDER BY t.timestamp DESC, t.executionId, t.taskId LIMIT $examples
    RETURN t
  }
  WITH t LIMIT $examples
  RETURN collect({executionId: t.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
    AS examples
}
RETURN g.group AS group, examples
