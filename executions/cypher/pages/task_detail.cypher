// A task execution with every attempt, newest first. Long texts (outputs, prompts, errors: up to the
// body limit each) come as their first $chars characters, with their full sizes (`outputChars`,
// `promptChars`, `errorChars`): the page renders a bounded head and links the whole text. $chars
// null: the whole texts (the read API, the system of record's answer). `left(null, n)` is null, so
// a missing text stays missing either way.
MATCH (e:OrchestrationExecution {executionId: $eid})-[:HAS_TASK_EXECUTION]->
      (t:TaskExecution {executionId: $eid, taskId: $taskId})
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  WITH a, @project(a, attempt) AS m ORDER BY a.attemptNumber DESC
  RETURN collect(m {.*, output: left(a.output, coalesce($chars, size(a.output))),
                     prompt: left(a.prompt, coalesce($chars, size(a.prompt))),
                     error: left(a.error, coalesce($chars, size(a.error))),
                     outputChars: size(a.output), promptChars: size(a.prompt), errorChars: size(a.error)}) AS attempts
}
WITH e, t, @project(t, task_execution) AS task, attempts
RETURN e {.executionId, .planId, .status, .version, .lastEventAt, .startTime, .endTime} AS execution,
       task {.*, output: left(t.output, coalesce($chars, size(t.output))),
             prompt: left(t.prompt, coalesce($chars, size(t.prompt))),
             error: left(t.error, coalesce($chars, size(t.error))),
             outputChars: size(t.output), promptChars: size(t.prompt), errorChars: size(t.error)} AS task,
       attempts
