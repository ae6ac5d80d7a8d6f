// Two executions side by side ($a, then $b; either may not exist: then null): every task id that
// either ran, with what each run's latest attempt says (no outputs: only whether they differ,
// compared here so that no output leaves Neo4j), the deltas b minus a (null where either side has
// no value), what changed, and the summary's counts; with $task, that task's two outputs (the diff).
OPTIONAL MATCH (a:OrchestrationExecution {executionId: $a})
OPTIONAL MATCH (b:OrchestrationExecution {executionId: $b})
CALL (a, b) {
  UNWIND [x IN [a, b] WHERE x IS NOT NULL] AS e
  MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
  WITH t.taskId AS taskId, collect(t) AS runs
  WITH taskId, head([t IN runs WHERE t.executionId = $a]) AS ta, head([t IN runs WHERE t.executionId = $b]) AS tb
  WITH taskId, ta, tb, ta IS NOT NULL AND tb IS NOT NULL AS both
  WITH taskId, ta, tb, both,
       CASE WHEN both THEN tb.attemptCount - ta.attemptCount END AS attemptsDelta,
       CASE WHEN both THEN tb.qcScore - ta.qcScore END AS qcScoreDelta,
       CASE WHEN both THEN tb.durationMs - ta.durationMs END AS durationDelta,
       CASE WHEN both THEN tb.tokensTotal - ta.tokensTotal END AS tokensDelta
  // coalesce(..., false): a comparison with a missing value is null, i.e. no change to report.
  WITH taskId, ta, tb, both, attemptsDelta, qcScoreDelta, durationDelta, tokensDelta,
       both AND ta.status = 'success' AND tb.status = 'failure' AS newlyFailing,
       both AND ta.status = 'failure' AND tb.status = 'success' AS fixed,
       both AND coalesce(qcScoreDelta < 0 OR (ta.qcPassed AND NOT tb.qcPassed), false) AS qcDown,
       both AND coalesce(qcScoreDelta > 0 OR (NOT ta.qcPassed AND tb.qcPassed), false) AS qcUp,
       both AND coalesce(attemptsDelta > 0, false) AS moreAttempts,
       both AND coalesce(attemptsDelta < 0, false) AS fewerAttempts,
       // A rise of at least $tokensShare of a's tokens: LLM token counts move a little every run.
       both AND coalesce(tokensDelta > 0 AND tokensDelta >= $tokensShare * ta.tokensTotal, false) AS tokensUp,
       both AND coalesce(tokensDelta < 0 AND -tokensDelta >= $tokensShare * ta.tokensTotal, false) AS tokensDown,
       both AND coalesce(ta.output, '') <> coalesce(tb.output, '') AS outputChanged
  ORDER BY taskId
  WITH collect({
    taskId: taskId,
    taskTitle: coalesce(tb.taskTitle, ta.taskTitle),
    parallelGroup: coalesce(tb.parallelGroup, ta.parallelGroup),
    presence: CASE WHEN both THEN 'both' WHEN ta IS NULL THEN 'b' ELSE 'a' END,
    a: CASE WHEN ta IS NULL THEN null ELSE ta {.status, .attemptCount, .qcPassed, .qcScore, .durationMs,
                                               .tokensTotal, .tokensInput, .tokensOutput, .timestamp,
                                               outputChars: size(ta.output)} END,
    b: CASE WHEN tb IS NULL THEN null ELSE tb {.status, .attemptCount, .qcPassed, .qcScore, .durationMs,
                                               .tokensTotal, .tokensInput, .tokensOutput, .timestamp,
                                               outputChars: size(tb.output)} END,
    delta: {attemptCount: attemptsDelta, qcScore: qcScoreDelta, durationMs: durationDelta, tokensTotal: tokensDelta},
    newlyFailing: newlyFailing, fixed: fixed, qcDown: qcDown, qcUp: qcUp, moreAttempts: moreAttempts,
    fewerAttempts: fewerAttempts, tokensUp: tokensUp, tokensDown: tokensDown, outputChanged: outputChanged
  }) AS tasks,
  {newlyFailing: count(CASE WHEN newlyFailing THEN 1 END), fixed: count(CASE WHEN fixed THEN 1 END),
   qcDown: count(CASE WHEN qcDown THEN 1 END), qcUp: count(CASE WHEN qcUp THEN 1 END),
   moreAttempts: count(CASE WHEN moreAttempts THEN 1 END), fewerAttempts: count(CASE WHEN fewerAttempts THEN 1 END),
   tokensUp: count(CASE WHEN tokensUp THEN 1 END), tokensDown: count(CASE WHEN tokensDown THEN 1 END),
   outputChanged: count(CASE WHEN outputChanged THEN 1 END),
   inBoth: count(CASE WHEN both THEN 1 END), onlyInA: count(CASE WHEN tb IS NULL THEN 1 END),
   onlyInB: count(CASE WHEN ta IS NULL THEN 1 END)} AS counts
  RETURN tasks, counts
}
CALL (a, b) {
//@include pages/_compare_outputs
}
RETURN @project(a, execution) AS a, @project(b, execution) AS b, tasks, counts, outputs
