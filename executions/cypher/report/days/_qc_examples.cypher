// Fragment: the body of a CALL subquery. Needs `kind` ('issue' | 'fix'), `textKey` and `days` (the
// group's rollup rows as {day, planKeys}, newest day first) in scope and $examples; returns
// `examples`: the task executions with an attempt that failed QC naming the text, one per task,
// newest day first and within a day newest first (ties by execution id, then task id), reading
// days only until $examples are found. A task execution with an attempt that failed QC carries its
// rollup row's keys (reportQcFailed, reportPlanKey, reportDay: ingest/_refresh_tasks,
// _roll_up_execution): a day's are one seek of the index task_report_qc in timestamp order, read
// only until $examples name the text (a shown text is among the most frequent).
UNWIND days AS d
CALL (kind, textKey, d) {
  CALL (kind, textKey, d) {
    UNWIND d.planKeys AS planKey
    CALL (kind, textKey, planKey, d) {
      MATCH (t:TaskExecution {reportPlanKey: planKey, reportQcFailed: true, reportDay: d.day})
      USING INDEX SEEK t:TaskExecution(reportPlanKey, reportQcFailed, reportDay, timestamp)
      WHERE t.timestamp IS NOT NULL AND EXISTS {
        MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
        WHERE a.qcPassed = false AND textKey IN CASE kind WHEN 'issue' THEN a.qcIssueKeys ELSE a.qcFixKeys END
      }
      // The whole index key in the ORDER BY (all but timestamp are equal): the index gives the order,
      // and the attempts of only as many as it takes are read.
      WITH t ORDER BY t.reportPlanKey DESC, t.reportQcFailed DESC, t.reportDay DESC, t.timestamp DESC LIMIT $examples
      RETURN t.timestamp AS at
    }
    WITH at ORDER BY at DESC LIMIT $examples
    RETURN min(at) AS floor
  }
  UNWIND d.planKeys AS planKey
  CALL (kind, textKey, planKey, d, floor) {
    MATCH (t:TaskExecution {reportPlanKey: planKey, reportQcFailed: true, reportDay: d.day})
    USING INDEX SEEK t:TaskExecution(reportPlanKey, reportQcFailed, reportDay, timestamp)
    WHERE t.timestamp >= floor AND EXISTS {
      MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
      WHERE a.qcPassed = false AND textKey IN CASE kind WHEN 'issue' THEN a.qcIssueKeys ELSE a.qcFixKeys END
    }
    RETURN t
  }
  WITH t ORDER BY t.timestamp DESC, t.executionId, t.taskId LIMIT $examples
  RETURN t
}
WITH t LIMIT $examples
RETURN collect({executionId: t.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
  AS examples
