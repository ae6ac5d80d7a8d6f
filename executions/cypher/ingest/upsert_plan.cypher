// A plan PUT: `existed` is whether it had been PUT before (a plan known only from an execution that
// names it had not), `same` whether its content is what was PUT last.
// Its tasks' recommended models are kept as (:PlanTask) nodes (ingest/_keep_plan_task_models).
MERGE (p:Plan {planId: $planId})
ON CREATE SET p.created = $now
WITH p, coalesce(p.registered, false) AS existed, coalesce(p.contentHash = $contentHash, false) AS same
SET p += $props, p.registered = true,
    p.updated = CASE WHEN same THEN p.updated ELSE $now END
WITH p, existed, same
//@include ingest/_keep_plan_task_models
RETURN existed, same
