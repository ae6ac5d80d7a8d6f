// Fragment: the body of a CALL subquery. Needs `planKey` (a plan id, '' for executions without a
// plan) and `day` (a UTC midnight) in scope; returns `e`: each execution of that plan first known
// that day, by the (planId, firstKnownAt) index (by firstKnownAt for those without a plan).
MATCH (e:OrchestrationExecution)
WHERE planKey <> '' AND e.planId = planKey AND e.firstKnownAt >= day AND e.firstKnownAt < day + 86400000
RETURN e
UNION
MATCH (e:OrchestrationExecution)
WHERE planKey = '' AND e.firstKnownAt >= day AND e.firstKnownAt < day + 86400000 AND e.planId IS NULL
RETURN e
