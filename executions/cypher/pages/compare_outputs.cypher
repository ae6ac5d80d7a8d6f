// The compare page's output diff of one task ($task) between executions $a and $b, on its own (an
// htmx request for the diff alone): whether each execution exists, and the two outputs' heads.
OPTIONAL MATCH (a:OrchestrationExecution {executionId: $a})
OPTIONAL MATCH (b:OrchestrationExecution {executionId: $b})
CALL (a, b) {
//@include pages/_compare_outputs
}
RETURN a IS NOT NULL AS aFound, b IS NOT NULL AS bFound, outputs
