// One page of the list, filtered: every filter parameter is null when not used.
// Newest first by first-known time (firstKnownAt: the start, or for an execution whose start
// event never arrived, its first attempt's start, else when it was first heard of), so that an
// execution created by a stray task post sits where it happened, not above every real one.
// Neo4j walks the firstKnownAt index backwards and stops after `skip + limit` matching rows.
// searchText: the lower-cased execution id, plan id and task titles, kept by every write. One
// property per execution, read as the index walk goes: a common term stops the walk early, a rare
// one costs a read per execution, never one per task.
CALL () {
  MATCH (p:Plan) WITH p.planId AS planId ORDER BY planId RETURN collect(planId) AS planIds
}
CALL () {
  MATCH (e:OrchestrationExecution) USING INDEX e:OrchestrationExecution(firstKnownAt)
  WHERE e.firstKnownAt IS NOT NULL
//@include pages/_execution_filters
  WITH e ORDER BY e.firstKnownAt DESC, e.executionId DESC SKIP $skip LIMIT $limit
  RETURN collect(e) AS executions
}
RETURN planIds, [x IN executions | @project(x, execution)] AS executions
