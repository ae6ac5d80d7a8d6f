// Fragment: lines continuing a WHERE on `e`, the list's filters. Each parameter is null when not
// used: $status, $planId, $fromMs/$toMs (startTime in [fromMs, toMs)), $q (lower-cased, matched
// against searchText: the lower-cased execution id, plan id and task titles, kept by every write).
    AND ($status IS NULL OR e.status = $status) AND ($planId IS NULL OR e.planId = $planId)
    AND ($fromMs IS NULL OR e.startTime >= $fromMs) AND ($toMs IS NULL OR e.startTime < $toMs)
    AND ($q IS NULL OR e.searchText CONTAINS $q)
