MATCH (e:OrchestrationExecution {executionId: $eid})
SET e.endTime = $endTime, e.cancelled = $cancelled, e.finished = true
