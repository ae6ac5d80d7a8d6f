MATCH (r:PruneRun {runId: $runId})
SET r.finishedAt = $now
RETURN r.executionsDeleted, r.taskExecutionsDeleted, r.attemptsDeleted
