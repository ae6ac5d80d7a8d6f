// rederive_graph: the PlanTask nodes of a plan PUT before they were kept ($planId, $taskModels).
MATCH (p:Plan {planId: $planId})
//@include ingest/_keep_plan_task_models
RETURN p.planId AS planId
