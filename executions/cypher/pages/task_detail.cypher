// A task execution with every attempt, newest first. Long texts (outputs, prompts, errors: up to the
// body limit each) come as their first $chars characters, with their full sizes (`outputChars`,
// `promptChars`, `errorChars`): the page renders a bounded head and links the whole text.
MATCH (e:OrchestrationExecution {executionId: $eid})-[:HAS_TASK_EXECUTION]->
      (t:TaskExecution {executionId: $eid, taskId: $taskId})
CALL (t) {
  OPTIONAL MATCH (t)-[:HAS_ATTEMPT]->(a:TaskAttempt)
  WITH a, @project(a, attempt) AS m ORDER BY a.attemptNumber DESC
  RETURN collect(m {.*, output: left(a.output, $chars), prompt: left(a.prompt, $chars), error: left(a.error, $chars),
                     outputChars: size(a.output), promptChars: size(a.prompt), errorChars: size(a.error)}) AS attempts
}
WITH e, t, @project(t, task_execution) AS task, attempts
RETURN e {.executionId, .planId, .status, .version, .lastEventAt, .startTime, .endTime} AS execution,
       task {.*, output: left(t.output, $chars), prompt: left(t.prompt, $chars), error: left(t.error, $chars),
             outputChars: size(t.output), promptChars: size(t.prompt), errorChars: size(t.error)} AS task,
       attempts
