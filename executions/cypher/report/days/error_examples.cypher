// The examples of the error groups the report shows ($groups: {group, keys}, keys the errorKeys of
// the group's texts): per group, its failed task executions, newest day first (of the days its
// ReportErrorDay rows have failures) and within a day newest first, reading days only until
// $examples are found.
UNWIND $groups AS g
CALL (g) {
  MATCH (r:ReportErrorDay)
  WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id)
    AND r.errorKey IN g.keys AND r.failed > 0
  WITH r.day AS day, collect(DISTINCT r.planKey) AS planKeys
  ORDER BY day DESC
  CALL (day, planKeys, g) {
    UNWIND planKeys AS planKey
    CALL (planKey, day) {
//@include report/days/_executions_of_day
    }
    MATCH (e)-[:FAILED_TASK]->(t:TaskExecution)
    WHERE coalesce(t.errorKey, '') IN g.keys
    WITH e, t ORDER BY t.timestamp DESC, e.executionId, t.taskId LIMIT $examples
    RETURN e, t
  }
  WITH e, t LIMIT $examples
  RETURN collect({executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp})
    AS examples
}
RETURN g.group AS group, examples
