// One page of the list, filtered: every filter parameter is null when not used.
// Two index-backed parts, so that a page reads about `skip + limit` nodes, not every execution:
// executions whose start has not arrived yet (few; index on `started`) come first, then the
// started ones in startTime index order (Neo4j walks the index backwards and stops early).
// searchText: the lower-cased execution id, plan id and task titles, kept by every write. One
// property per execution, read as the index walk goes: a common term stops the walk early, a rare
// one costs a read per execution, never one per task.
CALL () {
  MATCH (p:Plan) WITH p.planId AS planId ORDER BY planId RETURN collect(planId) AS planIds
}
CALL () {
  MATCH (e:OrchestrationExecution) WHERE e.started = false
//@include pages/_execution_filters
  WITH e ORDER BY e.created DESC, e.executionId DESC LIMIT $skip + $limit
  RETURN collect(e) AS early
}
CALL () {
  MATCH (e:OrchestrationExecution) WHERE e.startTime IS NOT NULL
//@include pages/_execution_filters
  WITH e ORDER BY e.startTime DESC, e.executionId DESC LIMIT $skip + $limit
  RETURN collect(e) AS started
}
RETURN planIds, [x IN (early + started)[$skip..$skip + $limit] | @project(x, execution)] AS executions
