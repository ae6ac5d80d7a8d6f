// Fragment. Needs `reworkDeltas` (ingest/_roll_up_rework, of every execution of the write) in scope.
// Sums them per ReportReworkDay row and adds the sums that are not zero, as ingest/_apply_rollups
// does (`r.x = r.x + d` under the row's write lock), after its rows and by key, so that concurrent
// writes take the locks in one order.
CALL (reworkDeltas) {
  UNWIND reworkDeltas AS x
  WITH x.planKey AS planKey, x.day AS day, x.model AS model, x.attemptDay AS attemptDay, collect(x.d) AS ds
  WITH planKey, day, model, attemptDay, [i IN range(0, 2) | reduce(s = 0, d IN ds | s + d[i])] AS d
  WHERE any(v IN d WHERE v <> 0)
  WITH planKey, day, model, attemptDay, d ORDER BY planKey, day, model, attemptDay
  MERGE (r:ReportReworkDay {planKey: planKey, day: day, model: model, attemptDay: attemptDay})
  ON CREATE SET r.tokensInput = 0, r.tokensOutput = 0, r.attempts = 0
  SET r.tokensInput = r.tokensInput + d[0], r.tokensOutput = r.tokensOutput + d[1], r.attempts = r.attempts + d[2]
  RETURN count(*) AS reworkRows
}
