// report/qc over whole UTC days: the attempts that failed QC from the ReportDay rollups, the texts'
// counts (distinct attempts per trimmed text) from ReportQcDay; a shown text's examples by
// report/days/_qc_examples, bounded.
CALL () {
//@include report/days/_rows
  RETURN coalesce(sum(r.failedQcAttempts), 0) AS failedQcAttempts
}
CALL () {
  UNWIND ['issue', 'fix'] AS kind
  CALL (kind) {
    MATCH (r:ReportQcDay)
    WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id)
      AND r.kind = kind AND r.attempts > 0
    WITH r.textKey AS textKey, r.text AS text, r.day AS day, sum(r.attempts) AS attempts, collect(r.planKey) AS planKeys
    ORDER BY day DESC
    WITH textKey, text, sum(attempts) AS attempts, collect({day: day, planKeys: planKeys}) AS days
    ORDER BY attempts DESC, text LIMIT $limit
    CALL (kind, textKey, days) {
//@include report/days/_qc_examples
    }
    RETURN collect({text: text, attempts: attempts, examples: examples}) AS top
  }
  RETURN collect({kind: kind, top: top}) AS tops
}
RETURN failedQcAttempts, [x IN tops WHERE x.kind = 'issue'][0].top AS issues,
       [x IN tops WHERE x.kind = 'fix'][0].top AS fixes
