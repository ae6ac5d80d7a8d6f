// Creates missing executions and takes their write locks for the rest of the transaction
// ($write: services.ingest.write_params, as for ingest/write).
//@include ingest/_lock_executions
