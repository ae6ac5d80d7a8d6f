// report/by_error over whole UTC days, from the ReportErrorDay rollups: failed task executions per
// exact error text (its errorKey), with the text; the selector merges them by signature and asks
// report/days/error_examples for the examples of the groups it shows.
MATCH (r:ReportErrorDay)
WHERE r.day >= $started_from AND r.day < $started_to AND ($plan_id IS NULL OR r.planKey = $plan_id)
WITH r.errorKey AS errorKey, sum(r.failed) AS failed, head(collect(r.error)) AS error
WHERE failed > 0
RETURN error, failed, errorKey
