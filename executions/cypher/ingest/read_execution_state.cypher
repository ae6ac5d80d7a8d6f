MATCH (e:OrchestrationExecution {executionId: $eid})
RETURN e.started AS started, e.planId AS planId, e.tasksTotal AS totalTasks, e.startTime AS startTime,
       e.finished AS finished, e.endTime AS endTime, e.cancelled AS cancelled,
       EXISTS { (e)-[:HAS_TASK_EXECUTION]->() } AS hasTasks
