// Fragment: lines continuing a WHERE on `e`, the list's filters. Each parameter is null when not
// used: $status, $planId, $started (false: no start event received, only task results or a
// finish), $fromMs/$toMs (firstKnownAt in [fromMs, toMs)), $q (lower-cased, matched against
// searchText: the lower-cased execution id, plan id and task titles, kept by every write), and a
// limited API token's limits: $limitPlans (planIds), $limitPrefixes (executionId prefixes).
    AND ($status IS NULL OR e.status = $status) AND ($planId IS NULL OR e.planId = $planId)
    AND ($started IS NULL OR e.started = $started)
    AND ($fromMs IS NULL OR e.firstKnownAt >= $fromMs) AND ($toMs IS NULL OR e.firstKnownAt < $toMs)
    AND ($q IS NULL OR e.searchText CONTAINS $q)
    AND ($limitPlans IS NULL OR e.planId IN $limitPlans)
    AND ($limitPrefixes IS NULL OR any(prefix IN $limitPrefixes WHERE e.executionId STARTS WITH prefix))
