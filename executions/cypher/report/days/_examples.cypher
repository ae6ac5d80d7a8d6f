// Fragment: the body of a CALL subquery. Needs `link` ('FAILED_TASK': latest attempt failed, or
// 'RETRIED_TASK': passed after earlier attempts), `planKey`, `taskId` and `days` (the UTC midnights
// of that group's rollup rows, newest first) in scope and $examples; returns `examples`: the
// group's linked task executions, newest day first and within a day newest first (ties by
// execution id), reading days only until $examples are found. Retried ones carry their `attempts`.
// A task execution carries its rollup row's keys and its link (reportPlanKey, reportDay,
// reportLink: ingest/_refresh_tasks, _roll_up_execution), so a day's examples are one seek of the
// index task_report_task, in timestamp order: however many other executions that day had, only
// the newest $examples are read (and those tied with the last of them).
// USING INDEX SEEK, not INDEX: with few task executions the planner would rather scan the whole
// index in its order and filter, reading every entry that sorts after the group's.
UNWIND days AS day
CALL (link, planKey, taskId, day) {
  CALL (link, planKey, taskId, day) {
    MATCH (t:TaskExecution {reportPlanKey: planKey, taskId: taskId, reportLink: link, reportDay: day})
    USING INDEX SEEK t:TaskExecution(reportPlanKey, taskId, reportLink, reportDay, timestamp)
    WHERE t.timestamp IS NOT NULL
    // The whole index key in the ORDER BY (all but timestamp are equal): the index gives the order.
    WITH t ORDER BY t.reportPlanKey DESC, t.taskId DESC, t.reportLink DESC, t.reportDay DESC, t.timestamp DESC
    LIMIT $examples
    RETURN min(t.timestamp) AS floor
  }
  MATCH (t:TaskExecution {reportPlanKey: planKey, taskId: taskId, reportLink: link, reportDay: day})
  USING INDEX SEEK t:TaskExecution(reportPlanKey, taskId, reportLink, reportDay, timestamp)
  WHERE t.timestamp >= floor
  WITH t ORDER BY t.timestamp DESC, t.executionId LIMIT $examples
  RETURN t
}
WITH link, t LIMIT $examples
WITH link, {executionId: t.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp} AS example,
     CASE WHEN coalesce(t.attemptNumber, 0) > coalesce(t.attemptCount, 0) THEN t.attemptNumber ELSE t.attemptCount END
       AS attempts
RETURN collect(CASE WHEN link = 'RETRIED_TASK' THEN example {.*, attempts: attempts} ELSE example END) AS examples
