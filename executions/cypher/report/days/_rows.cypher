// Fragment. Binds `r`: each rollup row of label ReportDay of a day in [$started_from, $started_to)
// (whole UTC days) of plan $plan_id unless it is null.
MATCH (r:ReportDay)
WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id)
