// A plan PUT: `existed` is whether it had been PUT before (a plan known only from an execution that
// names it had not), `same` whether its content is what was PUT last.
// Its tasks' recommended models are kept as (:PlanTask) nodes ($taskModels: {taskId, model}, one per
// task that names one), which statements can look up by key: the plan's `tasks` is a JSON text.
MERGE (p:Plan {planId: $planId})
ON CREATE SET p.created = $now
WITH p, coalesce(p.registered, false) AS existed, coalesce(p.contentHash = $contentHash, false) AS same
SET p += $props, p.registered = true,
    p.updated = CASE WHEN same THEN p.updated ELSE $now END
WITH p, existed, same
CALL (p) {
  OPTIONAL MATCH (p)-[:DEFINES_TASK]->(old:PlanTask)
  WHERE NOT old.taskId IN [m IN $taskModels | m.taskId]
  DETACH DELETE old
  RETURN count(*) AS dropped
}
CALL (p) {
  UNWIND $taskModels AS m
  MERGE (d:PlanTask {planId: $planId, taskId: m.taskId})
  SET d.recommendedModel = m.model
  MERGE (p)-[:DEFINES_TASK]->(d)
  RETURN count(*) AS kept
}
RETURN existed, same
