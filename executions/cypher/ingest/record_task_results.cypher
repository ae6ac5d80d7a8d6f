// A run of task results inside a transaction that already holds the execution locks (batches
// mixing event kinds); the counters are refreshed once at the end of that transaction.
//@include ingest/_record_task_results
//@include ingest/_refresh_tasks
RETURN conflicts, recorded
