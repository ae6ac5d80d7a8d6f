// The whole write of a run of task results as ONE statement, so that it runs as one auto-commit
// transaction in one round trip: the execution locks are held only while Neo4j executes it.
CALL () {
//@include ingest/_lock_executions
  RETURN count(*) AS locked
}
//@include ingest/_record_task_results
//@include ingest/_refresh_tasks
WITH conflicts, recorded, [x IN recorded WHERE x.created OR x.upgraded OR x.redefined <> [] | x.eid] AS changed
//@include ingest/_refresh_executions
RETURN conflicts, recorded, executions
