// The stored planId of each of $eids that exists (null: no start event yet), for a plan-limited
// token's events (executions.limits): checked before its write, since a planId once set never changes.
UNWIND $eids AS eid
MATCH (e:OrchestrationExecution {executionId: eid})
RETURN eid, e.planId AS planId
