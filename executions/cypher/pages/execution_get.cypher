// The read API's execution: counters, every task execution (latest attempt each), failed task ids,
// and what the execution and each task cost (pages/_cost, priced with $prices).
MATCH (e:OrchestrationExecution {executionId: $eid})
OPTIONAL MATCH (e)-[:HAS_TASK_EXECUTION]->(t:TaskExecution)
CALL (e, t) {
//@include pages/_task_cost
}
WITH e, t, cost, @project(t, task_execution) AS m ORDER BY t.timestamp, t.taskId
WITH e, collect(m {.*, cost: cost}) AS tasks, collect(cost) AS costs
CALL (costs) {
//@include pages/_sum_costs
}
WITH e, tasks, cost, @project(e, execution) AS execution
RETURN execution {.*, cost: cost} AS execution, tasks,
       [(e)-[:FAILED_TASK]->(f:TaskExecution) | f.taskId] AS failedTaskIds
