// QC issues and required fixes of every attempt that failed QC (history attempts included): the
// most frequent texts of each list, with examples.
//@include report/_in_range
// QC_FAILED_TASK links exactly the task executions with an attempt that failed QC.
MATCH (e)-[:QC_FAILED_TASK]->(t:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
WHERE a.qcPassed = false
WITH e, t, a ORDER BY t.timestamp DESC, e.executionId, t.taskId
WITH collect({task: elementId(t),
              ref: {executionId: e.executionId, taskId: t.taskId, taskTitle: t.taskTitle, timestamp: t.timestamp},
              issues: a.qcIssues, fixes: a.qcRequiredFixes}) AS failedQc
// Attempts are referred to by their position in failedQc (already newest first), so that counting
// distinct attempts and picking examples handle integers, not maps.
CALL (failedQc) {
  UNWIND ['issues', 'fixes'] AS key
  CALL (failedQc, key) {
    UNWIND range(0, size(failedQc) - 1) AS i
    UNWIND failedQc[i][key] AS raw
    WITH DISTINCT i, trim(raw) AS text WHERE text <> ''
    WITH text, count(i) AS attempts, collect(i) AS all
    ORDER BY attempts DESC, text LIMIT $limit
    // Examples are task executions: two attempts of one task give one example.
    WITH text, attempts, reduce(picked = [], j IN all |
      CASE WHEN size(picked) >= $examples OR any(k IN picked WHERE failedQc[k].task = failedQc[j].task)
           THEN picked ELSE picked + j END) AS picked
    RETURN collect({text: text, attempts: attempts, examples: [j IN picked | failedQc[j].ref]}) AS top
  }
  RETURN collect({key: key, top: top}) AS tops
}
RETURN size(failedQc) AS failedQcAttempts,
       [x IN tops WHERE x.key = 'issues'][0].top AS issues, [x IN tops WHERE x.key = 'fixes'][0].top AS fixes
