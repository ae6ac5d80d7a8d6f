// The prune watermark: the latest UTC midnight (epoch ms) before which executions were pruned
// (prune_executions records a PruneRun per run); null when none was. Rollup rows of days before it
// are all that is left of those days.
OPTIONAL MATCH (p:PruneRun)
RETURN max(p.before) AS watermark
