// A task execution with every attempt, newest first. Long texts (outputs, prompts, errors: up to the
// body limit each) come as their first $chars characters, with their full sizes (`outputChars`,
// `promptChars`, `errorChars`): the page renders a bounded head and links the whole text. $chars
// null: the whole texts (the read API, the system of record's answer). `left(null, n)` is null, so
// a missing text stays missing either way.
MATCH (e:OrchestrationExecution {executionId: $eid})-[:HAS_TASK_EXECUTION]->
      (t:TaskExecution {executionId: $eid, taskId: $taskId})
// Each attempt's cost and the task's (pages/_cost, priced with $prices); `pricedModel` is the model
// an attempt is priced as.
CALL (e, t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
//@include pages/_attempt_model
  CALL (a, model) {
//@include pages/_cost
  }
  WITH a, model, cost, @project(a, attempt) AS m ORDER BY a.attemptNumber DESC
  RETURN collect(m {.*, pricedModel: model, cost: cost, output: left(a.output, coalesce($chars, size(a.output))),
                     prompt: left(a.prompt, coalesce($chars, size(a.prompt))),
                     error: left(a.error, coalesce($chars, size(a.error))),
                     outputChars: size(a.output), promptChars: size(a.prompt), errorChars: size(a.error)}) AS attempts
}
CALL (e, t) {
//@include pages/_task_cost
}
WITH e, t, cost, @project(t, task_execution) AS task, attempts
RETURN e {.executionId, .planId, .status, .version, .lastEventAt, .startTime, .endTime} AS execution,
       task {.*, cost: cost, output: left(t.output, coalesce($chars, size(t.output))),
             prompt: left(t.prompt, coalesce($chars, size(t.prompt))),
             error: left(t.error, coalesce($chars, size(t.error))),
             outputChars: size(t.output), promptChars: size(t.prompt), errorChars: size(t.error)} AS task,
       attempts
