// Re-derives task executions from their attempts (rederive_graph), inside a transaction holding the locks.
WITH [] AS conflicts
//@include ingest/_refresh_tasks
RETURN refreshedTasks
