// Fragment, after ingest/_apply_rollups (the lock order: ReportErrorDay rows after the others, each
// by key). Needs `errorDeltas` (ingest/_roll_up_errors, of every execution of the write) in scope;
// adds their sums that are not zero, as _apply_rollups does. A row's `error` is the exact text, set
// when the row is made (a row is made by a positive delta, which carries it).
CALL (errorDeltas) {
  UNWIND errorDeltas AS x
  WITH x.planKey AS planKey, x.day AS day, x.errorKey AS errorKey, sum(x.d) AS d, head(collect(x.error)) AS error
  WHERE d <> 0
  WITH planKey, day, errorKey, d, error ORDER BY planKey, day, errorKey
  MERGE (r:ReportErrorDay {planKey: planKey, day: day, errorKey: errorKey})
  ON CREATE SET r.failed = 0, r.error = error
  SET r.failed = r.failed + d
  RETURN count(*) AS errorRows
}
