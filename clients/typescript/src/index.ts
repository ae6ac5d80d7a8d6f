/**
 * A drop-in for Mimir's `api/orchestration/persistence` module: the same four functions with the
 * same signatures and return values, posting to the Mimir Execution Dashboard's ingest API instead
 * of writing to Neo4j. Configured by MIMIR_DASHBOARD_URL and MIMIR_DASHBOARD_TOKEN, read at each
 * call. The dashboard derives counters, tokens, durations and statuses from the stored attempts, so
 * nothing here adds anything up, and a call that is repeated (by a retry or by the orchestrator)
 * is a replay that counts nothing twice.
 */

import { DashboardClient, DashboardError, optionsFromEnv } from './http.js';
import type { ExecutionResult, IGraphManager, QCResult, TaskDefinition } from './types.js';

export { DashboardClient, DashboardError, optionsFromEnv, retryAfterMs } from './http.js';
export type { Answer, ClientOptions } from './http.js';
export type { ExecutionResult, IGraphManager, QCResult, TaskDefinition } from './types.js';

/** Task results per /events request when an execution is finalized. */
const FINALIZE_CHUNK = 200;

function client(): DashboardClient {
  return new DashboardClient(optionsFromEnv());
}

const segment = (id: string) => encodeURIComponent(id);

/** The API takes whole numbers of milliseconds, tokens and points; a JavaScript timer or a model
 * may give fractions, which would otherwise refuse the whole result. */
function whole(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : value;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  // Already flattened the way Mimir stores it (one newline-joined string).
  if (typeof value === 'string') return value === '' ? [] : value.split('\n');
  return [];
}

function qcPayload(qc: QCResult): Record<string, unknown> {
  return {
    passed: qc.passed,
    score: whole(qc.score),
    feedback: qc.feedback ?? '',
    issues: list(qc.issues),
    requiredFixes: list(qc.requiredFixes),
    ...(qc.timestamp === undefined ? {} : { timestamp: qc.timestamp }),
  };
}

/** What the API keeps of an ExecutionResult. The completion time is the server's receive time
 * (Mimir's `timestamp` is its write time too): sending a clock reading of our own would make a
 * repeated call differ from the first and be refused as a conflict. */
function resultPayload(taskId: string, result: ExecutionResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    // Mimir keys the node by the taskId argument, whatever result.taskId says.
    taskId,
    status: result.status,
    output: result.output ?? '',
  };
  if (typeof result.error === 'string') out.error = result.error;
  if (result.duration !== undefined) out.duration = whole(result.duration);
  if (result.agentRoleDescription !== undefined) out.agentRoleDescription = result.agentRoleDescription;
  if (result.prompt !== undefined) out.prompt = result.prompt;
  if (result.tokens) out.tokens = { input: whole(result.tokens.input ?? 0), output: whole(result.tokens.output ?? 0) };
  if (result.toolCalls !== undefined) out.toolCalls = whole(result.toolCalls);
  if (result.qcVerification) out.qcVerification = qcPayload(result.qcVerification);
  if (result.qcVerificationHistory) out.qcVerificationHistory = result.qcVerificationHistory.map(qcPayload);
  if (result.attemptNumber !== undefined) out.attemptNumber = whole(result.attemptNumber);
  // An empty name would be refused (400): it says no more than no name.
  if (typeof result.model === 'string' && result.model !== '') out.model = result.model;
  return out;
}

/** What the API keeps of a task definition with a result: its title, parallel group, QC role and
 * recommended model (the plan's other fields belong to PUT /api/v1/plans/<planId>). */
function taskPayload(taskId: string, task: TaskDefinition | undefined): Record<string, unknown> | undefined {
  if (!task) return undefined;
  const out: Record<string, unknown> = { id: taskId };
  if (task.title !== undefined) out.title = task.title;
  if (typeof task.parallelGroup === 'number') out.parallelGroup = task.parallelGroup;
  if (task.qcRole !== undefined) out.qcRole = task.qcRole;
  if (typeof task.recommendedModel === 'string' && task.recommendedModel !== '') out.recommendedModel = task.recommendedModel;
  return out;
}

/**
 * Persist a task's result (one attempt, with its QC verdict and earlier verdicts) and return
 * Mimir's id for it, `${executionId}-${taskId}`. A result for an execution not started yet is kept
 * and joins it when it starts. Throws a DashboardError when the dashboard refuses it (4xx: the
 * error names the field) or stays unreachable after the retries.
 */
export async function persistTaskExecutionToNeo4j(
  graphManager: IGraphManager,
  executionId: string,
  taskId: string,
  result: ExecutionResult,
  task: TaskDefinition,
): Promise<string> {
  void graphManager;
  const body: Record<string, unknown> = { taskId, result: resultPayload(taskId, result) };
  const definition = taskPayload(taskId, task);
  if (definition) body.task = definition;
  const answer = await client().request('POST', `/executions/${segment(executionId)}/tasks`, body);
  return answer.body.id as string;
}

/**
 * Record an execution's start. Calling it again with the same values is a replay (Mimir's second
 * call failed on its unique constraint); with different values it is refused (409).
 */
export async function createExecutionNodeInNeo4j(
  graphManager: IGraphManager,
  executionId: string,
  planId: string,
  totalTasks: number,
  startTime: number,
): Promise<void> {
  void graphManager;
  await client().request('POST', '/executions', { executionId, planId, totalTasks, startTime: whole(startTime) });
}

/**
 * Nothing to do: the dashboard derives every counter (tasks successful and failed, tokens, tool
 * calls, status) from the task results that persistTaskExecutionToNeo4j posted, so counts supplied
 * by the caller are not needed and could only disagree. Kept so that Mimir's calls still compile.
 */
export async function updateExecutionNodeProgress(
  graphManager: IGraphManager,
  executionId: string,
  taskResult: ExecutionResult,
  tasksFailed: number,
  tasksSuccessful: number,
): Promise<void> {
  void graphManager;
  void executionId;
  void taskResult;
  void tasksFailed;
  void tasksSuccessful;
}

/**
 * Record an execution's end (`cancelled`: it was stopped). Every result in `results` that carries a
 * taskId is sent again first, as a replay where persistTaskExecutionToNeo4j already recorded it, so a
 * result whose own call failed still lands and the final status reflects `results` as in Mimir. A
 * result the dashboard refuses (different content for an attempt it recorded, or an invalid field)
 * is reported with a warning and does not stop the finish; a refused finish throws.
 */
export async function updateExecutionNodeInNeo4j(
  graphManager: IGraphManager,
  executionId: string,
  results: ExecutionResult[],
  endTime: number,
  cancelled: boolean = false,
): Promise<void> {
  void graphManager;
  const events: Record<string, unknown>[] = results
    .filter((r) => typeof r.taskId === 'string' && r.taskId !== '')
    .map((r) => ({ type: 'task_result', executionId, taskId: r.taskId, result: resultPayload(r.taskId as string, r) }));
  events.push({ type: 'execution_finished', executionId, endTime: whole(endTime), cancelled });
  const api = client();
  for (let start = 0; start < events.length; start += FINALIZE_CHUNK) {
    const chunk = events.slice(start, start + FINALIZE_CHUNK);
    const answer = await api.request('POST', '/events', { events: chunk });
    for (const item of answer.body.results as { index: number; type: string; status: number; body: any }[]) {
      if (item.status < 300) continue;
      const event = chunk[item.index];
      if (event.type === 'execution_finished') {
        throw new DashboardError(`finishing execution ${executionId} answered ${item.status}: ${item.body?.detail}`, {
          status: item.status, body: item.body, attempts: 1,
        });
      }
      console.warn(`mimir-dashboard: the result of task ${String(event.taskId)} was not re-sent (${item.status}): ${item.body?.detail}`);
    }
  }
}
