// Fragment. Needs `p` (a Plan) in scope and $taskModels ({taskId, model}, one per task of the plan
// that recommends a model). Keeps them as (:PlanTask) nodes, which statements look up by key (the
// plan's `tasks` is a JSON text Cypher cannot read), deletes the others of the plan, and marks the
// plan as having them (`taskModelsKept`: plans PUT before are given theirs by rederive_graph).
CALL (p) {
  OPTIONAL MATCH (p)-[:DEFINES_TASK]->(old:PlanTask)
  WHERE NOT old.taskId IN [m IN $taskModels | m.taskId]
  DETACH DELETE old
  RETURN count(*) AS dropped
}
CALL (p) {
  UNWIND $taskModels AS m
  MERGE (d:PlanTask {planId: p.planId, taskId: m.taskId})
  SET d.recommendedModel = m.model
  MERGE (p)-[:DEFINES_TASK]->(d)
  RETURN count(*) AS kept
}
SET p.taskModelsKept = true
