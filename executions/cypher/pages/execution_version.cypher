MATCH (e:OrchestrationExecution {executionId: $eid}) RETURN e.version, e.status
