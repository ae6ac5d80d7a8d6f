// Mimir's task executions of $eids that no execution links to (orphans), with their executionId:
// one pass over the task executions for a whole page of executions.
MATCH (t:Node {type: 'task_execution'})
WHERE t.executionId IN $eids
  AND NOT EXISTS { (:Node {type: 'orchestration_execution'})-[:HAS_TASK_EXECUTION]->(t) }
RETURN t.executionId AS eid, properties(t) AS task
