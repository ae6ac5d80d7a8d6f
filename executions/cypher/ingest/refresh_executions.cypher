WITH [] AS conflicts, $changed AS changed
//@include ingest/_refresh_executions
RETURN executions
