// Binds e: the executions a prune before $before deletes: first known before it, finished, and
// not failed when $keepFailed. Running ones stay, since an orchestrator may still write to them.
MATCH (e:OrchestrationExecution)
WHERE e.firstKnownAt < $before AND e.finished = true AND NOT ($keepFailed AND e.status = 'failed')
