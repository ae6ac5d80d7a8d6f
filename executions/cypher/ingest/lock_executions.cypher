// Creates missing executions and takes their write locks for the rest of the transaction.
//@include ingest/_lock_executions
