// The read API's list: the page's order and filters (pages/execution_list), keyset-paginated. A
// page continues strictly after a position of that order (firstKnownAt DESC, executionId DESC),
// never after a count of rows, so that executions written meanwhile neither repeat nor hide others.
// ($beforeKnown, $beforeId): the position the page continues after (the selector passes the
// cursor's, or one before every execution); $knownMin: the earliest firstKnownAt the day filter
// lets through. The bounds are plain parameters, so Neo4j seeks the firstKnownAt index at the
// cursor and walks it backwards until $limit rows match. Ties with the cursor are decided in a
// CASE, not an OR: on a small graph Neo4j planned an OR as a union of two seeks, which loses the
// index order (every row up to the cursor is then read and sorted), and kept that cached plan as
// the graph grew. The index hint pins the index for the same reason.
MATCH (e:OrchestrationExecution) USING INDEX e:OrchestrationExecution(firstKnownAt)
WHERE e.firstKnownAt >= $knownMin AND e.firstKnownAt <= $beforeKnown
  AND CASE WHEN e.firstKnownAt = $beforeKnown THEN e.executionId < $beforeId ELSE true END
//@include pages/_execution_filters
WITH e ORDER BY e.firstKnownAt DESC, e.executionId DESC LIMIT $limit
RETURN [x IN collect(e) | @project(x, execution)] AS executions
