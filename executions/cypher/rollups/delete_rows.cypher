// Up to $batch rollup rows of days >= $from, deleted (rollups_rebuild, before it recomputes them).
MATCH (r)
WHERE (r:ReportDay OR r:ReportTaskDay OR r:ReportRetryDay OR r:ReportReworkDay OR r:ReportQcDay OR r:ReportErrorDay)
  AND r.day >= $from
WITH r LIMIT $batch
DELETE r
RETURN count(*) AS deleted
