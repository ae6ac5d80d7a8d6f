MERGE (p:Plan {planId: $planId})
ON CREATE SET p.created = $now
WITH p, p.contentHash = $contentHash AS same
SET p += $props, p.registered = true,
    p.updated = CASE WHEN same THEN p.updated ELSE $now END
RETURN same
