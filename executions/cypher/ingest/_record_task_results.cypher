// Fragment. Needs $write.rows (one per attempt, each attempt once: the service settles duplicates),
// $write.history (attempts known only from a later result's QC history) and $write.now.
// Binds `conflicts` (empty unless the write is refused) and `recorded` (one entry per row: whether
// its attempt was created, upgraded from QC history, and which task-definition fields it changed).
// Steps run in order, each CALL seeing the writes of the ones before:
// 1. conflicts: an attempt already recorded from a result with other content refuses the whole
//    write (nothing below runs); 2. the attempts themselves (an attempt known only from a later
//    result's QC history gets its full record now); 3. attempts known only from QC history.
CALL () {
  UNWIND $write.rows AS r
  OPTIONAL MATCH (old:TaskAttempt {executionId: r.eid, taskId: r.taskId, attemptNumber: r.props.attemptNumber})
  WITH r, old WHERE old.source = 'result' AND old.contentHash <> r.props.contentHash
  RETURN collect({idx: r.idx, differing: [k IN r.contentKeys
           WHERE NOT (coalesce(old[k] = r.props[k], false) OR (old[k] IS NULL AND r.props[k] IS NULL))]}) AS conflicts
}
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $write.rows ELSE [] END AS r
  MATCH (e:OrchestrationExecution {executionId: r.eid})
  // Keyed by the pair, never by the joined string: `a-b` + `c` and `a` + `b-c` are two tasks.
  MERGE (t:TaskExecution {executionId: r.eid, taskId: r.taskId})
  ON CREATE SET t.taskExecutionId = r.teid, t.created = $write.now
  // The task's definition (title, parallel group, QC role, recommended model) is descriptive: a later post may change
  // it (the latest wins), and a change is news even when the attempt itself is a replay.
  WITH r, e, t, coalesce(r.title, t.taskTitle, r.taskId) AS title, coalesce(r.parallelGroup, t.parallelGroup) AS grp,
       coalesce(r.qcRole, t.qcRoleDescription) AS role, coalesce(r.recommendedModel, t.recommendedModel) AS recommended
  WITH r, e, t, title, grp, role, recommended,
       [d IN [['title', title, t.taskTitle], ['parallelGroup', grp, t.parallelGroup], ['qcRole', role, t.qcRoleDescription],
              ['recommendedModel', recommended, t.recommendedModel]]
        WHERE NOT (coalesce(d[1] = d[2], false) OR (d[1] IS NULL AND d[2] IS NULL)) | d[0]] AS redefined
  SET t.taskTitle = title, t.parallelGroup = grp, t.qcRoleDescription = role, t.recommendedModel = recommended
  MERGE (e)-[:HAS_TASK_EXECUTION]->(t)
  MERGE (a:TaskAttempt {executionId: r.eid, taskId: r.taskId, attemptNumber: r.props.attemptNumber})
  ON CREATE SET a += r.props, a.source = 'result', a.nonce = r.nonce
  WITH r, t, a, redefined, a.nonce = r.nonce AS created, a.source = 'history' AS upgraded
  MERGE (t)-[:HAS_ATTEMPT]->(a)
  FOREACH (_ IN CASE WHEN upgraded THEN [1] ELSE [] END |
    SET a += r.props, a.source = 'result', a.nonce = r.nonce)
  RETURN collect({idx: r.idx, eid: r.eid, created: created, upgraded: upgraded, redefined: redefined}) AS recorded
}
CALL (conflicts) {
  UNWIND CASE WHEN conflicts = [] THEN $write.history ELSE [] END AS h
  // By its key: ingest/_roll_up_execution says why.
  MATCH (t:TaskExecution {executionId: h.eid, taskId: h.taskId})
  USING INDEX t:TaskExecution(executionId, taskId)
  MERGE (a:TaskAttempt {executionId: h.eid, taskId: h.taskId, attemptNumber: h.props.attemptNumber})
  ON CREATE SET a += h.props, a.source = 'history'
  MERGE (t)-[:HAS_ATTEMPT]->(a)
  RETURN count(*) AS historyRows
}
