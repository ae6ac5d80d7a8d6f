// Attempts $attempts given the keys of their QC texts (executions/qc_texts.py), by their key.
UNWIND $attempts AS x
MATCH (a:TaskAttempt {executionId: x.executionId, taskId: x.taskId, attemptNumber: x.attemptNumber})
SET a.qcIssueKeys = x.issueKeys, a.qcFixKeys = x.fixKeys
RETURN count(a) AS keyed
