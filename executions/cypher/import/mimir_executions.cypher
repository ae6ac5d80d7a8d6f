// Mimir's executions of $eids (a page of mimir_execution_ids): each one's node (null for an
// orphan's execution that has none) and the task executions it links to, as stored.
UNWIND $eids AS eid
OPTIONAL MATCH (e:Node {id: eid})
WHERE e.type = 'orchestration_execution'
CALL (e) {
  OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:Node {type: 'task_execution'})
  RETURN collect(properties(t)) AS tasks
}
RETURN eid, CASE WHEN e IS NULL THEN null ELSE properties(e) END AS execution, tasks
