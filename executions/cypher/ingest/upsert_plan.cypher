// A plan PUT: `existed` is whether it had been PUT before (a plan known only from an execution that
// names it had not), `same` whether its content is what was PUT last.
MERGE (p:Plan {planId: $planId})
ON CREATE SET p.created = $now
WITH p, coalesce(p.registered, false) AS existed, coalesce(p.contentHash = $contentHash, false) AS same
SET p += $props, p.registered = true,
    p.updated = CASE WHEN same THEN p.updated ELSE $now END
RETURN existed, same
