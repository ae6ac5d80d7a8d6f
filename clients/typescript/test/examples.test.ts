/**
 * The twelve worked examples of Mimir's persistence documentation, run through this package (by
 * its name, as Mimir imports it) against a live dashboard, each read back through the read API.
 * Where Mimir is wrong (a failure flips the status to `failed` mid-run; caller-supplied counters),
 * the assertion is the dashboard's corrected behaviour. Examples 7-9 first persist each result, as
 * Mimir's executor does before every progress update: the update itself is a no-op.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createExecutionNodeInNeo4j,
  persistTaskExecutionToNeo4j,
  updateExecutionNodeInNeo4j,
  updateExecutionNodeProgress,
  type ExecutionResult,
  type TaskDefinition,
} from 'mimir-dashboard-client';

import { expectExecution, putPlan, readExecution, readTask } from './support.js';

// Mimir's graph manager: accepted and ignored.
const graphManager = { neverUsed: true };
const taskDefinition: TaskDefinition = {
  id: 'task-1', title: 'Validate environment', agentRoleDescription: 'DevOps engineer', prompt: 'Check the environment',
  dependencies: [], estimatedDuration: '5 min', parallelGroup: 1, qcRole: 'Infrastructure auditor',
  recommendedModel: 'gpt-4.1',
};
const taskDef: TaskDefinition = { id: 'task-2', title: 'Fetch the API data', dependencies: ['task-1'] };

test('example 4: a new 5-task workflow starts running with every counter at 0', async () => {
  const result = await createExecutionNodeInNeo4j(graphManager, 'exec-1763134573643', 'plan-kolache-recipe', 5, Date.now());
  assert.equal(result, undefined);
  await expectExecution('exec-1763134573643', {
    status: 'running', tasksTotal: 5, tasksSuccessful: 0, tasksFailed: 0,
    tokensInput: 0, tokensOutput: 0, tokensTotal: 0, toolCalls: 0,
  });
});

test('example 1: a successful task with its QC verdict, and the composite id returned', async () => {
  const result = {
    taskId: 'task-1',
    status: 'success' as const,
    output: '✅ Environment validated successfully',
    duration: 5000,
    tokens: { input: 1000, output: 500 },
    toolCalls: 3,
    qcVerification: { passed: true, score: 95, feedback: 'All checks passed' },
  };
  const nodeId = await persistTaskExecutionToNeo4j(graphManager, 'exec-1763134573643', 'task-1', result, taskDefinition);
  assert.equal(nodeId, 'exec-1763134573643-task-1');
  const { task, attempts } = await readTask('exec-1763134573643', 'task-1');
  assert.deepEqual(
    [task.taskTitle, task.status, task.output, task.durationMs, task.tokensTotal, task.toolCalls, task.attemptNumber],
    ['Validate environment', 'success', '✅ Environment validated successfully', 5000, 1500, 3, 1],
  );
  assert.deepEqual([task.qcPassed, task.qcScore, task.qcFeedback, task.qcIssues, task.qcRequiredFixes],
    [true, 95, 'All checks passed', [], []]);
  assert.deepEqual([task.parallelGroup, task.qcRoleDescription], [1, 'Infrastructure auditor']);
  // Its recommended model prices it (the shipped price table has gpt-4.1).
  assert.deepEqual([task.recommendedModel, task.cost.unpricedAttempts, task.cost.pricedAttempts], ['gpt-4.1', 0, 1]);
  assert.equal(attempts.length, 1);
});

test('example 2: a failed task keeps its error, and QC issues and required fixes stay lists', async () => {
  const failedResult = {
    taskId: 'task-2',
    status: 'failure' as const,
    error: 'Timeout waiting for API response',
    duration: 30000,
    tokens: { input: 800, output: 100 },
    qcVerification: {
      passed: false,
      score: 45,
      issues: ['Incomplete data', 'Missing validation'],
      requiredFixes: ['Retry with timeout handling', 'Add error recovery'],
    },
  };
  const nodeId = await persistTaskExecutionToNeo4j(graphManager, 'exec-1763134573643', 'task-2', failedResult, taskDef);
  assert.equal(nodeId, 'exec-1763134573643-task-2');
  const { task } = await readTask('exec-1763134573643', 'task-2');
  assert.deepEqual(
    [task.taskTitle, task.status, task.error, task.qcPassed, task.qcScore, task.qcIssues, task.qcRequiredFixes],
    ['Fetch the API data', 'failure', 'Timeout waiting for API response', false, 45,
      ['Incomplete data', 'Missing validation'], ['Retry with timeout handling', 'Add error recovery']],
  );
  // The FAILED_TASK link, as the read API shows it.
  assert.deepEqual((await readExecution('exec-1763134573643')).failedTaskIds, ['task-2']);
});

test('example 3: a retried task stores its attempt number', async () => {
  const retryResult = {
    taskId: 'task-3',
    status: 'success' as const,
    output: 'Completed on second attempt',
    duration: 8000,
    attemptNumber: 2,
    tokens: { input: 1200, output: 600 },
    toolCalls: 5,
  };
  const nodeId = await persistTaskExecutionToNeo4j(graphManager, 'exec-1763134573643', 'task-3', retryResult,
    { ...taskDefinition, id: 'task-3', title: 'Retry me', parallelGroup: null });
  assert.equal(nodeId, 'exec-1763134573643-task-3');
  const { task, attempts } = await readTask('exec-1763134573643', 'task-3');
  assert.deepEqual([task.attemptNumber, task.attemptCount, task.parallelGroup], [2, 1, null]);
  assert.deepEqual(attempts.map((a: any) => a.attemptNumber), [2]);
  // Examples 4, 1, 2 and 3 together: counters derived from the three stored results.
  await expectExecution('exec-1763134573643', {
    status: 'running', tasksTotal: 5, tasksSuccessful: 2, tasksFailed: 1,
    tokensInput: 3000, tokensOutput: 1200, tokensTotal: 4200, toolCalls: 8,
  }, ['task-2']);
});

test('example 5: an execution with an explicit timestamp is linked to its plan', async () => {
  const workflowStart = Date.now();
  await putPlan(`plan-${workflowStart}`, { title: 'Plan: kolache', tasks: [{ id: 'task-1', title: 'Dough' }] });
  await createExecutionNodeInNeo4j(graphManager, `exec-${workflowStart}`, `plan-${workflowStart}`, 12, workflowStart);
  const execution = await readExecution(`exec-${workflowStart}`);
  assert.deepEqual([execution.planId, execution.startTime, execution.tasksTotal, execution.status],
    [`plan-${workflowStart}`, workflowStart, 12, 'running']);
});

test('example 6: creation in production with error handling succeeds against a live dashboard', async () => {
  const executionId = 'exec-1763134573649';
  const planId = 'plan-kolache-recipe';
  const taskCount = 3;
  const logged: string[] = [];
  try {
    await createExecutionNodeInNeo4j(graphManager, executionId, planId, taskCount, Date.now());
    logged.push(`✅ Execution ${executionId} tracking initialized`);
  } catch (error) {
    logged.push(`Failed to create execution node: ${error}`);
  }
  assert.deepEqual(logged, ['✅ Execution exec-1763134573649 tracking initialized']);
  assert.equal((await readExecution(executionId)).tasksTotal, 3);
});

test('example 7: after a successful task the execution counts it and its tokens', async () => {
  const executionId = 'exec-1763134573644';
  await createExecutionNodeInNeo4j(graphManager, executionId, 'plan-kolache-recipe', 5, Date.now());
  const taskResult = {
    taskId: 'task-1',
    status: 'success' as const,
    duration: 5000,
    tokens: { input: 1000, output: 500 },
    toolCalls: 3,
  };
  await persistTaskExecutionToNeo4j(graphManager, executionId, 'task-1', taskResult, { id: 'task-1', title: 'One' });
  await updateExecutionNodeProgress(graphManager, executionId, taskResult, 0, 1);
  await expectExecution(executionId, {
    status: 'running', tasksTotal: 5, tasksSuccessful: 1, tasksFailed: 0,
    tokensInput: 1000, tokensOutput: 500, tokensTotal: 1500, toolCalls: 3,
  });
});

test('example 8: a failed task is counted at once, and the execution keeps running until it finishes', async () => {
  const executionId = 'exec-1763134573644';
  const failedResult = {
    taskId: 'task-2',
    status: 'failure' as const,
    error: 'API timeout',
    duration: 30000,
    tokens: { input: 800, output: 50 },
    toolCalls: 1,
  };
  await persistTaskExecutionToNeo4j(graphManager, executionId, 'task-2', failedResult, { id: 'task-2', title: 'Two' });
  await updateExecutionNodeProgress(graphManager, executionId, failedResult, 1, 1);
  // Mimir writes status='failed' here; the dashboard says `running` until the finish, with the
  // failure counted and linked, so a run that is still going is never shown as over.
  await expectExecution(executionId, {
    status: 'running', tasksTotal: 5, tasksSuccessful: 1, tasksFailed: 1,
    tokensInput: 1800, tokensOutput: 550, tokensTotal: 2350, toolCalls: 4,
  }, ['task-2']);
});

test('example 9: tokens add up across tasks from the stored results, not the counts passed in', async () => {
  const executionId = 'exec-1763134573645';
  await createExecutionNodeInNeo4j(graphManager, executionId, 'plan-kolache-recipe', 3, Date.now());
  const results: ExecutionResult[] = [
    { tokens: { input: 1000, output: 500 }, status: 'success', toolCalls: 3 },
    { tokens: { input: 1200, output: 600 }, status: 'success', toolCalls: 5 },
    { tokens: { input: 900, output: 400 }, status: 'success', toolCalls: 2 },
  ];
  for (let i = 0; i < results.length; i++) {
    await persistTaskExecutionToNeo4j(graphManager, executionId, `task-${i + 1}`, results[i], { id: `task-${i + 1}` });
    // Wrong counts on purpose: they are not used.
    await updateExecutionNodeProgress(graphManager, executionId, results[i], 7, 0);
  }
  await expectExecution(executionId, {
    status: 'running', tasksTotal: 3, tasksSuccessful: 3, tasksFailed: 0,
    tokensInput: 3100, tokensOutput: 1500, tokensTotal: 4600, toolCalls: 10,
  });
});

test('example 10: a workflow whose tasks all passed is completed, with its duration from start to end', async () => {
  const executionId = 'exec-1763134573646';
  const end = Date.now();
  await createExecutionNodeInNeo4j(graphManager, executionId, 'plan-kolache-recipe', 3, end - 16000);
  const results: ExecutionResult[] = [
    { taskId: 'task-1', status: 'success', duration: 5000 },
    { taskId: 'task-2', status: 'success', duration: 8000 },
    { taskId: 'task-3', status: 'success', duration: 3000 },
  ];
  // As documented: the results were not persisted one by one; the finalize sends them.
  await updateExecutionNodeInNeo4j(graphManager, executionId, results, end, false);
  const execution = await readExecution(executionId);
  assert.deepEqual([execution.status, execution.endTime, execution.durationMs, execution.tasksSuccessful],
    ['completed', end, 16000, 3]);
});

test('example 11: a workflow with a failed task is failed, and the finalize counts nothing twice', async () => {
  const executionId = 'exec-1763134573647';
  const end = Date.now();
  await createExecutionNodeInNeo4j(graphManager, executionId, 'plan-kolache-recipe', 3, end - 38000);
  const mixedResults: ExecutionResult[] = [
    { taskId: 'task-1', status: 'success', duration: 5000, tokens: { input: 10, output: 1 } },
    { taskId: 'task-2', status: 'failure', error: 'Timeout', duration: 30000, tokens: { input: 20, output: 2 } },
    { taskId: 'task-3', status: 'success', duration: 3000, tokens: { input: 30, output: 3 } },
  ];
  // As Mimir's executor does: each result persisted first, so the finalize's copies are replays.
  for (const r of mixedResults) {
    await persistTaskExecutionToNeo4j(graphManager, executionId, r.taskId as string, r, { id: r.taskId as string });
  }
  await updateExecutionNodeInNeo4j(graphManager, executionId, mixedResults, end, false);
  await expectExecution(executionId, {
    status: 'failed', tasksTotal: 3, tasksSuccessful: 2, tasksFailed: 1,
    tokensInput: 60, tokensOutput: 6, tokensTotal: 66, toolCalls: 0,
  }, ['task-2']);
});

test('example 12: a cancelled workflow is cancelled, with the tasks it ran', async () => {
  const executionId = 'exec-1763134573648';
  const end = Date.now();
  await createExecutionNodeInNeo4j(graphManager, executionId, 'plan-kolache-recipe', 3, end - 13000);
  const partialResults: ExecutionResult[] = [
    { taskId: 'task-1', status: 'success', duration: 5000 },
    { taskId: 'task-2', status: 'success', duration: 8000 },
  ];
  await updateExecutionNodeInNeo4j(graphManager, executionId, partialResults, end, true);
  const execution = await readExecution(executionId);
  assert.deepEqual([execution.status, execution.cancelled, execution.endTime, execution.tasksSuccessful, execution.tasksFailed],
    ['cancelled', true, end, 2, 0]);
});
