// Fragment: the body of a CALL subquery. Needs `kind` ('issue' | 'fix'), `textKey` and `days` (the
// group's rollup rows as {day, planKeys}, newest day first) in scope and $examples; returns
// `examples`: the task executions with an attempt that failed QC naming the text, one per task,
// newest day first and within a day newest first, reading days only until $examples are found.
UNWIND days AS d
CALL (kind, textKey, d) {
  UNWIND d.planKeys AS planKey
  CALL (kind, textKey, planKey, d) {
    WITH kind, textKey, planKey, d.day AS day
    CALL (planKey, day) {
//@include report/days/_executions_of_day
    }
    MATCH (e)-[:QC_FAILED_TASK]->(t:TaskExecution)
    WHERE EXISTS {
      MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
      WHERE a.qcPassed = false AND textKey IN CASE kind WHEN 'issue' THEN a.qcIssueKeys ELSE a.qcFixKeys END
    }
    RETURN e, t
  }
  WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId LIMIT $examples
  RETURN e, t
}
WITH e, t LIMIT $examples
RETURN collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
  AS examples
