/**
 * Mimir's own payload types (src/orchestrator/task-executor.ts), as its persistence module takes
 * them. Only the fields the dashboard reads are declared: a Mimir object with more (preamblePath,
 * graphNodeId, lambdaScript, ...) is still accepted, since TypeScript checks structurally. Fields
 * Mimir always sets are optional here so that the documented examples, which leave some out,
 * type-check as written.
 */

/** Mimir's graph manager. Accepted for signature compatibility and never used. */
export type IGraphManager = unknown;

export interface QCResult {
  passed: boolean;
  /** 0-100 */
  score: number;
  feedback?: string;
  issues?: string[];
  requiredFixes?: string[];
  /** ISO 8601 or epoch milliseconds */
  timestamp?: string | number;
}

export interface ExecutionResult {
  taskId?: string;
  status: 'success' | 'failure';
  output?: string;
  error?: string;
  /** milliseconds */
  duration?: number;
  agentRoleDescription?: string;
  prompt?: string;
  tokens?: { input: number; output: number };
  toolCalls?: number;
  qcVerification?: QCResult;
  /** One verdict per attempt, oldest first. */
  qcVerificationHistory?: QCResult[];
  qcFailureReport?: string;
  attemptNumber?: number;
  /** The model that ran the attempt (not in Mimir's type): what the dashboard prices it by. */
  model?: string;
}

export interface TaskDefinition {
  id: string;
  title?: string;
  agentRoleDescription?: string;
  recommendedModel?: string;
  prompt?: string;
  dependencies?: string[];
  estimatedDuration?: string;
  parallelGroup?: number | null;
  taskType?: 'agent' | 'transformer';
  qcRole?: string;
  verificationCriteria?: string | string[];
  maxRetries?: number;
  estimatedToolCalls?: number;
}
