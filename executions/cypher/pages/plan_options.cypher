MATCH (p:Plan) RETURN p.planId, p.title ORDER BY p.planId
