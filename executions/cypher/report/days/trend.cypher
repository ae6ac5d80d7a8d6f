// report/trend over whole UTC days, from the ReportDay rollups: per bucket of $bucket_ms from
// $origin (buckets are whole days too). `reworkCost`: the bucket's ReportReworkDay rows
// (report/days/_rework_cost), for pricing.rollup_cost.
//@include report/days/_rows
WITH (r.day - $origin) / $bucket_ms AS bucket,
     sum(r.executions) AS executions, sum(r.finishedExecutions) AS finishedExecutions,
     sum(r.failedExecutions) AS failedExecutions, sum(r.tasks) AS tasks, sum(r.failedTasks) AS failedTasks,
     sum(r.tokens) AS tokens, sum(r.reworkTokens) AS reworkTokens
WHERE executions > 0
WITH bucket, executions, finishedExecutions, failedExecutions, tasks, failedTasks, tokens, reworkTokens,
     $origin + bucket * $bucket_ms AS start
CALL (bucket, start, reworkTokens) {
  WITH CASE WHEN start < $started_from THEN $started_from ELSE start END AS lo,
       CASE WHEN start + $bucket_ms > $started_to THEN $started_to ELSE start + $bucket_ms END AS hi,
       $plan_id AS planKey
  WHERE reworkTokens > 0
//@include report/days/_rework_cost
}
RETURN bucket, executions, finishedExecutions, failedExecutions, tasks, failedTasks, tokens, reworkTokens,
       rework AS reworkCost
ORDER BY bucket
