// The read API's list: the page's order and filters (pages/execution_list), keyset-paginated. A
// page continues strictly after a position of that order, never after a count of rows, so that
// executions written meanwhile neither repeat nor hide others:
//   not-yet-started executions (few; index on `started`), created DESC, executionId DESC, then
//   started ones, startTime DESC, executionId DESC.
// $early: whether the page still reads the first part; ($earlyCreated, $earlyId) and
// ($beforeStart, $beforeId): the position each part continues after (the selector passes the
// cursor's, or one before every execution); $startMin: the earliest startTime the day filter
// lets through. The startTime bounds are plain parameters, so Neo4j seeks the
// startTime index at the cursor and walks it backwards until $limit rows match. Ties with the
// cursor are decided in a CASE, not an OR: on a small graph Neo4j planned an OR as a union of two
// seeks, which loses the index order (every row up to the cursor is then read and sorted), and kept
// that cached plan as the graph grew. The index hints pin the indexes for the same reason.
CALL () {
  MATCH (e:OrchestrationExecution) USING INDEX e:OrchestrationExecution(started)
  WHERE $early AND e.started = false
    AND CASE WHEN e.created = $earlyCreated THEN e.executionId < $earlyId ELSE e.created < $earlyCreated END
//@include pages/_execution_filters
  WITH e ORDER BY e.created DESC, e.executionId DESC LIMIT $limit
  RETURN collect(e) AS early
}
CALL () {
  MATCH (e:OrchestrationExecution) USING INDEX e:OrchestrationExecution(startTime)
  WHERE e.startTime >= $startMin AND e.startTime <= $beforeStart
    AND CASE WHEN e.startTime = $beforeStart THEN e.executionId < $beforeId ELSE true END
//@include pages/_execution_filters
  WITH e ORDER BY e.startTime DESC, e.executionId DESC LIMIT $limit
  RETURN collect(e) AS started
}
RETURN [x IN (early + started)[..$limit] | @project(x, execution)] AS executions
