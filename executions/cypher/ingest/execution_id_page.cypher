MATCH (e:OrchestrationExecution) WHERE e.executionId > $after
WITH e.executionId AS eid ORDER BY eid LIMIT $limit
RETURN collect(eid) AS eids
