// The pruned watermark: executions first known before it may have lost their details.
MATCH (r:PruneRun)
RETURN max(r.before) AS before
