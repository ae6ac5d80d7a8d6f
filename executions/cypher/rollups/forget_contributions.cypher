// Executions $eids (locked by the caller) forget what they contributed to rollup rows of days >=
// $from (rows that rollups_rebuild deleted), so that the next refresh (ingest/write) adds them afresh.
MATCH (e:OrchestrationExecution)
WHERE e.executionId IN $eids AND (e.rolledDay IS NULL OR e.rolledDay >= $from)
REMOVE e.rolledPlanKey, e.rolledDay, e.rolledCounts, e.rolledTaskIds, e.rolledTaskValues, e.rolledErrorKeys,
       e.rolledErrorCounts, e.rolledReworkPlanKey, e.rolledReworkDay, e.rolledReworkModels, e.rolledReworkValues,
       e.rolledQcPlanKey, e.rolledQcDay, e.rolledQcKinds, e.rolledQcKeys, e.rolledQcCounts
RETURN count(e) AS forgotten
