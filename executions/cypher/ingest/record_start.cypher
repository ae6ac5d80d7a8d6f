MATCH (e:OrchestrationExecution {executionId: $eid})
SET e.planId = $planId, e.tasksTotal = $totalTasks, e.startTime = $startTime, e.started = true
MERGE (p:Plan {planId: $planId})
ON CREATE SET p.registered = false, p.taskCount = 0, p.created = $now, p.updated = $now
MERGE (e)-[:EXECUTES_PLAN]->(p)
