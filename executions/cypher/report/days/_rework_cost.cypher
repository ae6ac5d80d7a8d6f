// Fragment: the body of a CALL subquery. Needs `planKey` (null: every plan) and `lo`, `hi` (UTC
// midnights) in scope; returns `rework`: the failed attempts of the executions first known in
// [lo, hi) from the ReportReworkDay rollups, per model and attempt day ({model, attemptDay,
// tokensInput, tokensOutput, attempts}), which pricing.rollup_cost prices. One row, whatever the rows.
MATCH (r:ReportReworkDay)
WHERE r.day >= lo AND r.day < hi AND (planKey IS NULL OR r.planKey = planKey) AND r.attempts > 0
WITH r.model AS model, r.attemptDay AS attemptDay, sum(r.tokensInput) AS tin, sum(r.tokensOutput) AS tout,
     sum(r.attempts) AS attempts
ORDER BY model, attemptDay
RETURN collect({model: model, attemptDay: attemptDay, tokensInput: tin, tokensOutput: tout, attempts: attempts})
       AS rework
