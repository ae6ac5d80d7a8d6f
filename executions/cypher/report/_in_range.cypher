// Fragment. Binds `e`: each execution first known in [$started_from, $started_to) (epoch ms): its
// startTime, or for an execution whose start event never arrived its first attempt's start (every
// failure counts, placed at its first known time). Of plan $plan_id unless it is null.
MATCH (e:OrchestrationExecution)
WHERE e.firstKnownAt >= $started_from AND e.firstKnownAt < $started_to
  AND ($plan_id IS NULL OR e.planId = $plan_id)
