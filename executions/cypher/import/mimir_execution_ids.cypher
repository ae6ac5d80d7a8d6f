// Mimir's graph (label :Node, kind in `type`): the id of every execution to import, sorted. That is
// every orchestration_execution node, and the executionId of every task execution that no
// execution links to (an orphan: Mimir wrote it although its execution node was missing).
CALL () {
  MATCH (e:Node {type: 'orchestration_execution'})
  RETURN e.id AS eid
  UNION
  MATCH (t:Node {type: 'task_execution'})
  WHERE NOT EXISTS { (:Node {type: 'orchestration_execution'})-[:HAS_TASK_EXECUTION]->(t) }
  RETURN t.executionId AS eid
}
WITH eid WHERE eid IS NOT NULL
RETURN DISTINCT eid ORDER BY eid
