// Fragment: the body of a CALL subquery. Needs `planKey` (null: every plan) and `lo`, `hi` (epoch
// ms) in scope and $prices; returns `cost` of the failed attempts of the executions first known in
// [lo, hi): still read from the executions (their index on firstKnownAt), not from rollups.
MATCH (e:OrchestrationExecution)
WHERE e.firstKnownAt >= lo AND e.firstKnownAt < hi AND e.reworkTokens > 0
  AND (planKey IS NULL OR coalesce(e.planId, '') = planKey)
WITH collect(e) AS es
CALL (es) {
//@include report/_rework_cost
}
RETURN cost
