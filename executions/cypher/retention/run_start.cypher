// A prune run (the command's): the watermark moves to $before from its start, since details go
// from its first batch on.
CREATE (r:PruneRun {runId: $runId, before: $before, keepFailed: $keepFailed, startedAt: $now,
                    executionsDeleted: 0, taskExecutionsDeleted: 0, attemptsDeleted: 0})
RETURN r.runId
