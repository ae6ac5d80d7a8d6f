// Fragment: the body of a CALL subquery. Needs `planKey` and `days` (the UTC midnights of the
// plan's rollup rows with failures, newest first) in scope and $examples; returns `examples`: the
// plan's task executions whose latest attempt failed, newest day first and within a day newest
// first (ties by execution id, then task id), reading days only until $examples are found: per
// day one seek of the index task_report_plan in timestamp order (as report/days/_examples).
UNWIND days AS day
CALL (planKey, day) {
  CALL (planKey, day) {
    MATCH (t:TaskExecution {reportPlanKey: planKey, reportLink: 'FAILED_TASK', reportDay: day})
    USING INDEX SEEK t:TaskExecution(reportPlanKey, reportLink, reportDay, timestamp)
    WHERE t.timestamp IS NOT NULL
    // The whole index key in the ORDER BY (all but timestamp are equal): the index gives the order.
    WITH t ORDER BY t.reportPlanKey DESC, t.reportLink DESC, t.reportDay DESC, t.timestamp DESC LIMIT $examples
    RETURN min(t.timestamp) AS floor
  }
  MATCH (t:TaskExecution {reportPlanKey: planKey, reportLink: 'FAILED_TASK', reportDay: day})
  USING INDEX SEEK t:TaskExecution(reportPlanKey, reportLink, reportDay, timestamp)
  WHERE t.timestamp >= floor
  WITH t ORDER BY t.timestamp DESC, t.executionId, t.taskId LIMIT $examples
  RETURN t
}
WITH t LIMIT $examples
RETURN collect({executionId: t.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
  AS examples
