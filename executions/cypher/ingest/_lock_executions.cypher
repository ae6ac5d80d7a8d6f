// Fragment. Needs $write.eids (sorted, so that concurrent writers lock in one order), $write.now, $write.nonce.
UNWIND $write.eids AS eid
MERGE (e:OrchestrationExecution {executionId: eid})
ON CREATE SET e.status = 'running', e.started = false, e.finished = false, e.cancelled = false,
  e.tasksTotal = 0, e.tasksSuccessful = 0, e.tasksFailed = 0, e.tokensInput = 0,
  e.tokensOutput = 0, e.tokensTotal = 0, e.toolCalls = 0, e.version = 0,
  e.created = $write.now, e.updated = $write.now, e.lastEventAt = $write.now
// A real write, so this transaction holds the execution's lock until it commits: every
// read below sees all committed task results and no other writer can interleave.
SET e.lockNonce = $write.nonce
