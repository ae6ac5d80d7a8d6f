// Fragment, the body of a CALL (p) subquery: the run statistics of plan `p`.
  OPTIONAL MATCH (e:OrchestrationExecution)-[:EXECUTES_PLAN]->(p)
  RETURN {runs: count(e),
          completed: count(CASE WHEN e.status = 'completed' THEN 1 END),
          incomplete: count(CASE WHEN e.status = 'incomplete' THEN 1 END),
          failed: count(CASE WHEN e.status = 'failed' THEN 1 END),
          cancelled: count(CASE WHEN e.status = 'cancelled' THEN 1 END),
          running: count(CASE WHEN e.status = 'running' THEN 1 END),
          avgDurationMs: avg(e.durationMs), avgTokens: avg(e.tokensTotal), lastRunAt: max(e.startTime)} AS stats
