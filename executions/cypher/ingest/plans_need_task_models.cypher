// rederive_graph: the plans PUT before their tasks' recommended models were kept as PlanTask nodes,
// with their task definitions (JSON text, read by the service).
MATCH (p:Plan)
WHERE p.registered AND p.taskModelsKept IS NULL
RETURN p.planId AS planId, p.tasks AS tasks
ORDER BY planId
