// Fragment. Needs `qcDeltas` (ingest/_roll_up_qc, of every execution of the write) in scope. Sums
// them per ReportQcDay row and adds the sums that are not zero, as ingest/_apply_rollups does (under
// the row's write lock, rows in key order; in the lock order of the labels it comes after the other
// rollups). A row's text is set when it is created: equal keys, equal text.
CALL (qcDeltas) {
  UNWIND qcDeltas AS x
  WITH x.planKey AS planKey, x.day AS day, x.kind AS kind, x.textKey AS textKey, sum(x.d) AS d,
       head(collect(x.text)) AS text
  WHERE d <> 0
  WITH planKey, day, kind, textKey, d, text ORDER BY planKey, day, kind, textKey
  MERGE (r:ReportQcDay {planKey: planKey, day: day, kind: kind, textKey: textKey})
  ON CREATE SET r.attempts = 0, r.text = text
  SET r.attempts = r.attempts + d
  RETURN count(*) AS qcRows
}
