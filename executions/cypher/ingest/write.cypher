// Every write of task results and every refresh of derived facts is this one statement; each part
// does nothing for an empty list. So Neo4j plans one large statement instead of one per way of
// writing (planning it takes seconds: bench/plan_cost.py), and a write of task results alone runs
// as one auto-commit transaction in one round trip, the execution locks held only while Neo4j
// executes it.
// Its one parameter is the map $write (services.ingest.write_params fills in what a caller leaves
// out), never lists of their own: Neo4j keys its caches by each list and string parameter's size,
// rounded to a power of ten, so a write of 1, 3 or 30 results, with or without QC history, would
// each be parsed (by its query router, whatever the settings) and planned afresh. A map has no size.
// $write.eids: the executions to lock and whose counters and rollups to refresh, sorted; .rows,
// .history: the attempts to record (ingest/_record_task_results); .tasks: the task executions to
// refresh; .touched, .allTasks: which of their task executions the rollups look at again
// (ingest/_refresh_executions); .changed: executions whose version moves whatever the rows say (a
// start or finish earlier in the same transaction); .now, .nonce.
CALL () {
//@include ingest/_lock_executions
  RETURN count(*) AS locked
}
//@include ingest/_record_task_results
//@include ingest/_refresh_tasks
WITH conflicts, recorded,
     $write.changed + [x IN recorded WHERE x.created OR x.upgraded OR x.redefined <> [] | x.eid] AS changed
//@include ingest/_refresh_executions
RETURN conflicts, recorded, executions
