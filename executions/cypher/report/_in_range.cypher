// Fragment. Binds `e`: each execution started in [$started_from, $started_to) (epoch ms), of plan
// $plan_id unless it is null.
MATCH (e:OrchestrationExecution)
WHERE e.startTime >= $started_from AND e.startTime < $started_to
  AND ($plan_id IS NULL OR e.planId = $plan_id)
