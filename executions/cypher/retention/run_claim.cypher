// The worker's daily prune: the first worker to MERGE the day's node runs it (scheduledDay is a
// unique key, so two workers racing get one node); any other, or a restarted one, finds it taken.
MERGE (r:PruneRun {scheduledDay: $day})
  ON CREATE SET r.runId = $runId, r.before = $before, r.keepFailed = $keepFailed, r.startedAt = $now,
                r.executionsDeleted = 0, r.taskExecutionsDeleted = 0, r.attemptsDeleted = 0
RETURN r.runId = $runId AS claimed
