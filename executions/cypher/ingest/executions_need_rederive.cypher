// Some execution was written by a version that did not derive every fact (searchText and
// firstKnownAt came, then the failure report's rollups: rolledDay, rolledErrorKeys,
// rolledReworkDay, rolledQcDay), or some attempt lacks a key, or some plan lacks its PlanTask nodes.
OPTIONAL MATCH (e:OrchestrationExecution) WHERE e.searchText IS NULL OR e.firstKnownAt IS NULL OR e.rolledDay IS NULL
  OR e.rolledErrorKeys IS NULL
  OR e.rolledReworkDay IS NULL
  OR e.rolledQcDay IS NULL
WITH e LIMIT 1
// Or some attempt lacks its (executionId, taskId) key (written before keys were pairs), or, from a
// result, its errorKey (written before the failure report's error rollups).
OPTIONAL MATCH (a:TaskAttempt) WHERE a.executionId IS NULL OR (a.source = 'result' AND a.errorKey IS NULL)
WITH e, a LIMIT 1
// Or some task execution was written before task executions carried the report's example keys,
// or before they kept their attempts' sums and rollup values.
OPTIONAL MATCH (t:TaskExecution) WHERE t.reportDay IS NULL OR t.rolledValues IS NULL
WITH e, a, t LIMIT 1
// Or some plan was PUT before its tasks' recommended models were kept (PlanTask nodes).
OPTIONAL MATCH (p:Plan) WHERE p.registered AND p.taskModelsKept IS NULL
WITH e, a, t, p LIMIT 1
// Or some attempt was written before the keys of its QC texts were kept (ReportQcDay groups by them).
OPTIONAL MATCH (q:TaskAttempt)
WHERE (q.qcIssues IS NOT NULL AND q.qcIssueKeys IS NULL) OR (q.qcRequiredFixes IS NOT NULL AND q.qcFixKeys IS NULL)
WITH e, a, t, p, q LIMIT 1
RETURN e IS NOT NULL OR a IS NOT NULL OR t IS NOT NULL OR p IS NOT NULL OR q IS NOT NULL
