/**
 * Retries and replays against the live dashboard: a 503 with Retry-After, a lost answer, a hung
 * request and an unreachable server (through a real HTTP proxy in front of the real server), and
 * calls Mimir repeats. Whatever happens on the way, each result is recorded and counted once.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  createExecutionNodeInNeo4j,
  DashboardError,
  persistTaskExecutionToNeo4j,
  updateExecutionNodeInNeo4j,
  updateExecutionNodeProgress,
  type ExecutionResult,
} from 'mimir-dashboard-client';

import { closedPort, expectExecution, readExecution, readTask, startProxy, withEnv, type Behaviour } from './support.js';

const START = 1763134573000;

function result(taskId: string, tokens: number): ExecutionResult {
  return {
    taskId, status: 'success', output: `output of ${taskId}`, duration: 1200,
    tokens: { input: tokens, output: 1 }, toolCalls: 2,
    qcVerification: { passed: true, score: 90, feedback: 'ok', issues: [], requiredFixes: [] },
  };
}

/** A result persisted through a proxy that treats the first requests as `script` says. */
async function persistThrough(script: Behaviour[], executionId: string, taskId: string, extraEnv: Record<string, string> = {}) {
  const proxy = await startProxy(script);
  try {
    const began = Date.now();
    const id = await withEnv({ MIMIR_DASHBOARD_URL: proxy.url, ...extraEnv }, () =>
      persistTaskExecutionToNeo4j(null, executionId, taskId, result(taskId, 100), { id: taskId, title: taskId }));
    return { id, elapsed: Date.now() - began, seen: [...proxy.seen], upstream: [...proxy.upstreamStatuses] };
  } finally {
    await proxy.close();
  }
}

test('a 503 with Retry-After is waited out and the result recorded once', async () => {
  await createExecutionNodeInNeo4j(null, 'ts-retry-503', 'ts-plan', 1, START);
  const { id, elapsed, seen, upstream } = await persistThrough(['503'], 'ts-retry-503', 'task-1');
  assert.equal(id, 'ts-retry-503-task-1');
  assert.deepEqual(seen, ['POST /api/v1/executions/ts-retry-503/tasks', 'POST /api/v1/executions/ts-retry-503/tasks']);
  assert.deepEqual(upstream, [201]);
  // Retry-After: 1 was honoured (the backoff alone would have waited at most 0.5 s).
  assert.ok(elapsed >= 1000, `retried after ${elapsed} ms`);
  const execution = await readExecution('ts-retry-503');
  assert.deepEqual([execution.tasksSuccessful, execution.tokensInput, execution.toolCalls], [1, 100, 2]);
});

test('an answer lost after the server recorded the result is retried as a replay, not counted twice', async () => {
  await createExecutionNodeInNeo4j(null, 'ts-retry-reset', 'ts-plan', 1, START);
  const { id, upstream } = await persistThrough(['reset'], 'ts-retry-reset', 'task-1', { MIMIR_DASHBOARD_BACKOFF_MS: '50' });
  assert.equal(id, 'ts-retry-reset-task-1');
  // The server saw both posts: the first was recorded (201), the retry a replay (200).
  assert.deepEqual(upstream, [201, 200]);
  const execution = await readExecution('ts-retry-reset');
  assert.deepEqual([execution.tasksSuccessful, execution.tokensInput, execution.toolCalls], [1, 100, 2]);
  assert.equal((await readTask('ts-retry-reset', 'task-1')).attempts.length, 1);
});

test('a request that hangs past the timeout is sent again', async () => {
  await createExecutionNodeInNeo4j(null, 'ts-retry-hang', 'ts-plan', 1, START);
  const { id, seen, elapsed } = await persistThrough(['hang'], 'ts-retry-hang', 'task-1',
    { MIMIR_DASHBOARD_TIMEOUT_MS: '3000', MIMIR_DASHBOARD_BACKOFF_MS: '50' });
  assert.equal(id, 'ts-retry-hang-task-1');
  // At least one more (a slow machine may time out a forwarded one too: its replay is harmless).
  assert.ok(seen.length >= 2, String(seen.length));
  assert.ok(elapsed >= 3000, `answered after ${elapsed} ms`);
  assert.equal((await readExecution('ts-retry-hang')).tasksSuccessful, 1);
});

test('an unreachable dashboard fails after the bounded attempts, and Mimir\'s try/catch goes on', async () => {
  const began = Date.now();
  let caught: unknown;
  await withEnv({ MIMIR_DASHBOARD_URL: `http://127.0.0.1:${await closedPort()}`, MIMIR_DASHBOARD_MAX_ATTEMPTS: '3', MIMIR_DASHBOARD_BACKOFF_MS: '20' }, async () => {
    try {
      await createExecutionNodeInNeo4j(null, 'ts-unreachable', 'ts-plan', 1, START);
    } catch (error) {
      caught = error;
    }
  });
  assert.ok(caught instanceof DashboardError, String(caught));
  assert.equal(caught.attempts, 3);
  assert.equal(caught.status, null);
  assert.match(caught.message, /POST \/executions failed \(ECONNREFUSED\) after 3 attempts/);
  assert.ok(Date.now() - began < 5000);
});

test('a refused result is not retried and names the field', async () => {
  const proxy = await startProxy([]);
  try {
    let caught: unknown;
    await withEnv({ MIMIR_DASHBOARD_URL: proxy.url }, async () => {
      try {
        await persistTaskExecutionToNeo4j(null, 'ts-refused', 'task-1', { taskId: 'task-1', status: 'success', toolCalls: -1 },
          { id: 'task-1' });
      } catch (error) {
        caught = error;
      }
    });
    assert.ok(caught instanceof DashboardError, String(caught));
    assert.deepEqual([caught.status, caught.attempts, proxy.seen.length], [400, 1, 1]);
    assert.deepEqual((caught.body as any).errors.map((e: any) => e.field), ['result.toolCalls']);
  } finally {
    await proxy.close();
  }
});

test('every call Mimir repeats is a replay: nothing is counted twice', async () => {
  const executionId = 'ts-replay';
  for (let i = 0; i < 2; i++) {
    // Mimir's second create failed on its unique constraint; here it is a replay.
    await createExecutionNodeInNeo4j(null, executionId, 'ts-plan', 2, START);
    for (const taskId of ['task-1', 'task-2']) {
      assert.equal(await persistTaskExecutionToNeo4j(null, executionId, taskId, result(taskId, 1000), { id: taskId }),
        `${executionId}-${taskId}`);
      await updateExecutionNodeProgress(null, executionId, result(taskId, 1000), 0, 1);
    }
    await updateExecutionNodeInNeo4j(null, executionId, [result('task-1', 1000), result('task-2', 1000)], START + 60_000);
  }
  await expectExecution(executionId, {
    status: 'completed', tasksTotal: 2, tasksSuccessful: 2, tasksFailed: 0,
    tokensInput: 2000, tokensOutput: 2, tokensTotal: 2002, toolCalls: 4,
  });
  // A start with other values is refused, as Mimir's was.
  await assert.rejects(createExecutionNodeInNeo4j(null, executionId, 'ts-plan', 2, START + 1),
    (error: unknown) => error instanceof DashboardError && error.status === 409);
});

test('a retried task keeps every attempt: its QC history, with lists, and its final verdict', async () => {
  const executionId = 'ts-attempts';
  await createExecutionNodeInNeo4j(null, executionId, 'ts-plan', 1, START);
  const final: ExecutionResult = {
    taskId: 'task-1', status: 'success', output: 'second try', duration: 2500.4, attemptNumber: 2,
    tokens: { input: 300, output: 30 }, toolCalls: 4,
    qcVerification: { passed: true, score: 91, feedback: 'fixed', issues: [], requiredFixes: [] },
    qcVerificationHistory: [
      { passed: false, score: 58, feedback: 'missing tests', issues: ['no tests', 'a line\nwith a newline'],
        requiredFixes: ['add tests'], timestamp: '2025-11-14T15:36:13.643Z' },
      { passed: true, score: 91, feedback: 'fixed', issues: [], requiredFixes: [] },
    ],
  };
  await persistTaskExecutionToNeo4j(null, executionId, 'task-1', final,
    { id: 'task-1', title: 'Validate', qcRole: 'Auditor', parallelGroup: 2 });
  const { task, attempts } = await readTask(executionId, 'task-1');
  assert.deepEqual([task.attemptNumber, task.attemptCount, task.durationMs, task.qcRoleDescription, task.parallelGroup],
    [2, 2, 2500, 'Auditor', 2]);
  assert.deepEqual(attempts.map((a: any) => [a.attemptNumber, a.source, a.qcPassed, a.qcScore, a.qcIssues, a.qcRequiredFixes]), [
    [2, 'result', true, 91, [], []],
    [1, 'history', false, 58, ['no tests', 'a line\nwith a newline'], ['add tests']],
  ]);
  assert.equal(attempts[1].timestamp, Date.parse('2025-11-14T15:36:13.643Z'));
});

test('the finalize warns of a result it could not re-send and still finishes; a refused finish throws', async () => {
  const executionId = 'ts-finalize-conflict';
  await createExecutionNodeInNeo4j(null, executionId, 'ts-plan', 1, START);
  await persistTaskExecutionToNeo4j(null, executionId, 'task-1', result('task-1', 10), { id: 'task-1' });
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (line: string) => warnings.push(line);
  try {
    // The orchestrator's copy of the result differs from what was recorded for attempt 1.
    await updateExecutionNodeInNeo4j(null, executionId, [{ ...result('task-1', 10), output: 'changed' }], START + 5000);
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /the result of task task-1 was not re-sent \(409\)/);
  const execution = await expectExecution(executionId, {
    status: 'completed', tasksTotal: 1, tasksSuccessful: 1, tasksFailed: 0,
    tokensInput: 10, tokensOutput: 1, tokensTotal: 11, toolCalls: 2,
  });
  assert.equal(execution.endTime, START + 5000);
  assert.equal((await readTask(executionId, 'task-1')).task.output, 'output of task-1');
  // A second finish at another time contradicts the recorded one.
  await assert.rejects(updateExecutionNodeInNeo4j(null, executionId, [], START + 6000),
    (error: unknown) => error instanceof DashboardError && error.status === 409);
});
