// Fragment. Needs `e` (its counters just refreshed) and `rollQc` (ingest/_roll_up_execution: unless
// it is true, nothing is read and the contribution stays as it was) in scope; a CALL of its own, so
// that it adds to whatever is bound around it. Binds `qcDeltas`: what this write changes in the
// ReportQcDay rows (ingest/_apply_qc_rollups applies them), and records on `e` what it now
// contributes (e.rolledQc*).
// Per kind ('issue': qcIssues, 'fix': qcRequiredFixes) and text key, the attempts of the execution
// that failed QC and name that text (report/qc's count). An attempt's keys (qcIssueKeys, qcFixKeys,
// executions/qc_texts.py) align with its distinct trimmed non-empty texts in the order they first
// appear, which is how they are paired here; an attempt written before keys were kept has none and
// counts nowhere until rederive_graph gives it its keys and rebuilds the rows. As in
// ingest/_roll_up_execution, each delta is (new - old), so a late start event that moves the
// execution to another day (or plan) moves its contributions; unchanged, there are none.
CALL (e, rollQc) {
  // Also whenever its rows are not the execution's (a graph rolled up before these rows existed).
  WITH e, rollQc OR NOT coalesce(e.rolledQcPlanKey = coalesce(e.planId, '')
         AND e.rolledQcDay = e.firstKnownAt - e.firstKnownAt % 86400000, false) AS roll
  CALL (e, roll) {
    WITH e WHERE roll
    // QC_FAILED_TASK links exactly the task executions with an attempt that failed QC.
    OPTIONAL MATCH (e)-[:QC_FAILED_TASK]->(:TaskExecution)-[:HAS_ATTEMPT]->(a:TaskAttempt)
    WHERE a.qcPassed = false
    UNWIND CASE WHEN a IS NULL THEN [] ELSE
      [{kind: 'issue', raw: coalesce(a.qcIssues, []), keys: coalesce(a.qcIssueKeys, [])},
       {kind: 'fix', raw: coalesce(a.qcRequiredFixes, []), keys: coalesce(a.qcFixKeys, [])}] END AS list
    WITH a, list, reduce(texts = [], raw IN list.raw |
      CASE WHEN trim(raw) = '' OR trim(raw) IN texts THEN texts ELSE texts + trim(raw) END) AS texts
    UNWIND range(0, size(list.keys) - 1) AS i
    WITH list.kind AS kind, list.keys[i] AS textKey, min(texts[i]) AS text, count(DISTINCT a) AS attempts
    ORDER BY kind, textKey
    RETURN collect(kind) AS kinds, collect(textKey) AS keys, collect(text) AS texts, collect(attempts) AS counts
  }
  WITH e, roll, kinds, keys, texts, counts, coalesce(e.planId, '') AS planKey,
       e.firstKnownAt - e.firstKnownAt % 86400000 AS day,
       e.rolledQcPlanKey AS oldPlanKey, e.rolledQcDay AS oldDay, coalesce(e.rolledQcKinds, []) AS oldKinds,
       coalesce(e.rolledQcKeys, []) AS oldKeys, coalesce(e.rolledQcCounts, []) AS oldCounts
  WITH e, roll, kinds, keys, texts, counts, planKey, day, oldPlanKey, oldDay, oldKinds, oldKeys, oldCounts,
       NOT roll OR (oldPlanKey = planKey AND oldDay = day AND oldKinds = kinds AND oldKeys = keys AND oldCounts = counts)
         AS same
  SET e.rolledQcPlanKey = planKey, e.rolledQcDay = day,
      e.rolledQcKinds = CASE WHEN roll THEN kinds ELSE e.rolledQcKinds END,
      e.rolledQcKeys = CASE WHEN roll THEN keys ELSE e.rolledQcKeys END,
      e.rolledQcCounts = CASE WHEN roll THEN counts ELSE e.rolledQcCounts END
  RETURN CASE WHEN same THEN [] ELSE
           [i IN range(0, size(oldKeys) - 1) |
             {planKey: oldPlanKey, day: oldDay, kind: oldKinds[i], textKey: oldKeys[i], d: -oldCounts[i]}]
           + [i IN range(0, size(keys) - 1) |
             {planKey: planKey, day: day, kind: kinds[i], textKey: keys[i], text: texts[i], d: counts[i]}] END
         AS qcDeltas
}
