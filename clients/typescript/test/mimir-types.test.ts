/**
 * The drop-in promise, checked by the compiler: Mimir's four persistence functions, typed as Mimir
 * declares them (its payload shapes with the fields Mimir always sets required, and the extra fields
 * its objects carry), must be assignable from this package's exports. `npm test` compiles this file
 * first (tsconfig.test.json), so a signature that drifts (a parameter renamed into another type, a
 * return type changed, a field made stricter than Mimir's objects satisfy) fails the build before
 * any test runs. The runtime test then sends such a full Mimir object, extra fields and all.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as dropIn from 'mimir-dashboard-client';

import { readTask } from './support.js';

/** The objects as Mimir's executor builds them (src/orchestrator/task-executor.ts). */
namespace Mimir {
  export interface IGraphManager {
    getDriver(): unknown;
  }
  export interface QCResult {
    passed: boolean;
    score: number;
    feedback: string;
    issues: string[];
    requiredFixes: string[];
    timestamp?: string;
  }
  export interface ExecutionResult {
    taskId: string;
    status: 'success' | 'failure';
    output: string;
    error?: string;
    duration: number;
    agentRoleDescription?: string;
    prompt?: string;
    tokens?: { input: number; output: number };
    toolCalls?: number;
    qcVerification?: QCResult;
    qcVerificationHistory?: QCResult[];
    qcFailureReport?: string;
    attemptNumber?: number;
    preamblePath?: string;
    graphNodeId?: string;
    outputPreview?: string;
  }
  export interface TaskDefinition {
    id: string;
    title: string;
    agentRoleDescription: string;
    recommendedModel: string;
    prompt: string;
    dependencies: string[];
    estimatedDuration: string;
    parallelGroup?: number;
    taskType?: 'agent' | 'transformer';
    qcRole?: string;
    verificationCriteria?: string | string[];
    maxRetries?: number;
    estimatedToolCalls?: number;
    lambdaScript?: string;
  }
  /** The module's signatures, as its documentation gives them. */
  export interface Persistence {
    persistTaskExecutionToNeo4j(
      graphManager: IGraphManager, executionId: string, taskId: string, result: ExecutionResult,
      task: TaskDefinition,
    ): Promise<string>;
    createExecutionNodeInNeo4j(
      graphManager: IGraphManager, executionId: string, planId: string, totalTasks: number, startTime: number,
    ): Promise<void>;
    updateExecutionNodeProgress(
      graphManager: IGraphManager, executionId: string, taskResult: ExecutionResult, tasksFailed: number,
      tasksSuccessful: number,
    ): Promise<void>;
    updateExecutionNodeInNeo4j(
      graphManager: IGraphManager, executionId: string, results: ExecutionResult[], endTime: number,
      cancelled?: boolean,
    ): Promise<void>;
  }
}

// The compile-time check: the exports stand in for Mimir's module, parameter by parameter
// (strictFunctionTypes: each of Mimir's argument types must be accepted by ours).
const asMimir: Mimir.Persistence = dropIn;

const graphManager: Mimir.IGraphManager = { getDriver: () => { throw new Error('the drop-in must not use it'); } };

test("Mimir's own objects, extra fields included, go through the drop-in as typed by Mimir", async () => {
  const executionId = 'ts-mimir-types';
  const task: Mimir.TaskDefinition = {
    id: 'summarise', title: 'Summarise', agentRoleDescription: 'Writer', recommendedModel: 'gpt-4.1',
    prompt: 'Summarise the findings', dependencies: [], estimatedDuration: '2 min', parallelGroup: 1,
    lambdaScript: 'not used by the dashboard',
  };
  const result: Mimir.ExecutionResult = {
    taskId: 'summarise', status: 'success', output: 'Done', duration: 1200, tokens: { input: 10, output: 5 },
    toolCalls: 1, preamblePath: '/tmp/preamble.md', graphNodeId: 'node-1', outputPreview: 'Do',
    qcVerification: { passed: true, score: 90, feedback: 'Fine', issues: [], requiredFixes: [] },
  };
  await asMimir.createExecutionNodeInNeo4j(graphManager, executionId, 'plan-types', 1, Date.now());
  assert.equal(await asMimir.persistTaskExecutionToNeo4j(graphManager, executionId, 'summarise', result, task),
    `${executionId}-summarise`);
  await asMimir.updateExecutionNodeProgress(graphManager, executionId, result, 0, 1);
  await asMimir.updateExecutionNodeInNeo4j(graphManager, executionId, [result], Date.now());
  const stored = await readTask(executionId, 'summarise');
  assert.equal(stored.execution.status, 'completed');
  assert.equal(stored.task.taskTitle, 'Summarise');
  assert.deepEqual(stored.attempts.map((a: any) => [a.attemptNumber, a.output, a.qcScore, a.tokensTotal]),
    [[1, 'Done', 90, 15]]);
});
