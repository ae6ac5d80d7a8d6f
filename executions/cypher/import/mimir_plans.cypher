// Mimir's plan nodes (orchestration_plan: the whole plan is the JSON string `content`), by id.
MATCH (p:Node {type: 'orchestration_plan'})
RETURN properties(p) AS plan ORDER BY p.id
