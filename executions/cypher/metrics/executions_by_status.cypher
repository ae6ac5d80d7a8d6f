// How many executions are in each status, for GET /metrics (executions.metrics). The WHERE lets
// Neo4j answer from the status index alone (an index scan providing the values, then a count per
// value): no execution node is read.
MATCH (e:OrchestrationExecution)
WHERE e.status IS NOT NULL
RETURN e.status AS status, count(*) AS executions
