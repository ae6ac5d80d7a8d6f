// Some execution was written by a version that did not derive every fact (searchText is the newest).
OPTIONAL MATCH (e:OrchestrationExecution) WHERE e.searchText IS NULL RETURN e IS NOT NULL LIMIT 1
