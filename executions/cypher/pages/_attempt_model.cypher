// Fragment. Needs `e` (an execution), `t` (its task execution) and `a` (an attempt of it; any may be
// null) in scope. Binds `a` and `model`: the model that prices the attempt, the one its result named,
// else the task definition's `recommendedModel` (the one posted with a result, else the plan's).
OPTIONAL MATCH (d:PlanTask {planId: e.planId, taskId: t.taskId})
WITH a, coalesce(a.model, t.recommendedModel, d.recommendedModel) AS model
