// Some execution was written by a version that did not derive every fact (searchText and
// firstKnownAt came last), or some attempt lacks its (executionId, taskId) key (written before keys were pairs).
OPTIONAL MATCH (e:OrchestrationExecution) WHERE e.searchText IS NULL OR e.firstKnownAt IS NULL
WITH e LIMIT 1
OPTIONAL MATCH (a:TaskAttempt) WHERE a.executionId IS NULL
WITH e, a LIMIT 1
RETURN e IS NOT NULL OR a IS NOT NULL
