// Fragment. Needs $rows (one per attempt, unique attempt ids: the service settles duplicates),
// $history (attempts known only from a later result's QC history) and $now.
// Binds `conflicts` (empty unless the write is refused) and `recorded` (one entry per row).
// Steps run in order, each CALL seeing the writes of the ones before:
// 1. conflicts: an attempt already recorded from a result with other content refuses the whole
//    write (nothing below runs); 2. the attempts themselves (an attempt known only from a later
//    result's QC history gets its full record now); 3. attempts known only from QC history.
CALL () {
  UNWIND $rows AS r
  OPTIONAL MATCH (old:TaskAttempt {attemptId: r.aid})
  WITH r, old WHERE old.source = 'result' AND old.contentHash <> r.props.contentHash
  RETURN collect({idx: r.idx, differing: [k IN r.contentKeys
           WHERE NOT (old[k] = r.props[k] OR (old[k] IS NULL AND r.props[k] IS NULL))]}) AS conflicts
}
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $rows ELSE [] END AS r
  MATCH (e:OrchestrationExecution {executionId: r.eid})
  MERGE (t:TaskExecution {taskExecutionId: r.teid})
  ON CREATE SET t.executionId = r.eid, t.taskId = r.taskId, t.created = $now
  SET t.taskTitle = coalesce(r.title, t.taskTitle, r.taskId),
      t.parallelGroup = coalesce(r.parallelGroup, t.parallelGroup),
      t.qcRoleDescription = coalesce(r.qcRole, t.qcRoleDescription)
  MERGE (e)-[:HAS_TASK_EXECUTION]->(t)
  MERGE (a:TaskAttempt {attemptId: r.aid})
  ON CREATE SET a += r.props, a.source = 'result', a.nonce = r.nonce
  WITH r, t, a, a.nonce = r.nonce AS created, a.source = 'history' AS upgraded
  MERGE (t)-[:HAS_ATTEMPT]->(a)
  FOREACH (_ IN CASE WHEN upgraded THEN [1] ELSE [] END |
    SET a += r.props, a.source = 'result', a.nonce = r.nonce)
  RETURN collect({idx: r.idx, eid: r.eid, created: created, upgraded: upgraded}) AS recorded
}
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $history ELSE [] END AS h
  MATCH (t:TaskExecution {taskExecutionId: h.teid})
  MERGE (a:TaskAttempt {attemptId: h.aid})
  ON CREATE SET a += h.props, a.source = 'history'
  MERGE (t)-[:HAS_ATTEMPT]->(a)
  RETURN count(*) AS historyRows
}
