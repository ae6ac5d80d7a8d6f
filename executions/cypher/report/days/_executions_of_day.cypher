// Fragment: the body of a CALL subquery. Needs `planKey` (a plan id, '' for executions without a
// plan) and `day` (a UTC midnight) in scope; returns `e`: each execution of that plan first known
// that day, i.e. each that contributes to the rollup rows of (planKey, day): rolledPlanKey and
// rolledDay are those rows' keys (ingest/_roll_up_execution), one index seek.
MATCH (e:OrchestrationExecution {rolledPlanKey: planKey, rolledDay: day})
RETURN e
