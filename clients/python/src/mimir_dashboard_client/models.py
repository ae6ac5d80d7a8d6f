"""The API's payloads as pydantic models, written for the client (the server's live in a Django app
this package must not need). tests/test_clients_python.py checks every model here against the
server's OpenAPI document, field by field, so they cannot drift apart unnoticed.

Field names are the API's own (camelCase, as Mimir names them). Every model accepts fields it does
not declare: a newer server may answer more, and an orchestrator may send more than the API stores.
Request models carry no bounds: the server validates and answers a 400 naming each bad field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------- what is sent


class TaskDefinition(_Model):
    id: str
    title: str | None = None
    agentRoleDescription: str | None = None
    recommendedModel: str | None = None
    prompt: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    estimatedDuration: str | int | None = None
    parallelGroup: int | None = None
    taskType: str | None = None
    qcRole: str | None = None
    verificationCriteria: str | list[str] | None = None
    maxRetries: int | None = None
    estimatedToolCalls: int | None = None


class QCResult(_Model):
    passed: bool
    score: int
    feedback: str = ""
    issues: list[str] = Field(default_factory=list)
    requiredFixes: list[str] = Field(default_factory=list)
    timestamp: int | str | None = None  # epoch ms or ISO 8601


class Tokens(_Model):
    input: int = 0
    output: int = 0


class ExecutionResult(_Model):
    taskId: str | None = None
    status: Literal["success", "failure"]
    output: str = ""
    error: str | None = None
    duration: int = 0  # milliseconds
    agentRoleDescription: str | None = None
    prompt: str | None = None
    tokens: Tokens | None = None
    toolCalls: int = 0
    qcVerification: QCResult | None = None
    qcVerificationHistory: list[QCResult] | None = None
    qcFailureReport: Any = None
    attemptNumber: int | None = None
    model: str | None = None  # the model that ran it: prices its tokens (else the task's recommendedModel)
    timestamp: int | str | None = None  # completion time; without it, when the server receives it


class PlanIn(_Model):
    title: str | None = None
    name: str | None = None
    description: str | None = None
    goal: str | None = None
    version: str | None = None
    tasks: list[TaskDefinition] = Field(default_factory=list)
    parallelGroups: list[Any] | None = None


# ---------------------------------------------------------------- ingest answers


class ExecutionCounters(_Model):
    executionId: str
    planId: str | None
    status: str
    started: bool
    finished: bool
    startTime: int | None
    endTime: int | None
    durationMs: int | None
    tasksTotal: int
    tasksSuccessful: int
    tasksFailed: int
    tasksMissing: int = 0
    tokensInput: int
    tokensOutput: int
    tokensTotal: int
    toolCalls: int
    version: int


class TaskResultOut(_Model):
    id: str
    executionId: str
    taskId: str
    attemptNumber: int
    replayed: bool
    updated: list[str] = Field(default_factory=list)
    execution: ExecutionCounters


class ExecutionEventOut(_Model):
    replayed: bool
    execution: ExecutionCounters


class PlanOut(_Model):
    planId: str
    title: str | None
    taskCount: int
    replayed: bool


class ErrorItem(_Model):
    field: str
    message: str


class ErrorOut(_Model):
    error: str
    detail: str
    errors: list[ErrorItem] = Field(default_factory=list)


class BatchItemOut(_Model):
    index: int
    type: str | None
    status: int
    body: dict[str, Any]


class BatchOut(_Model):
    results: list[BatchItemOut]
    transactions: int


# ---------------------------------------------------------------- reads


class CostOut(_Model):
    """What attempts cost at the prices in force when each ran."""

    currency: Literal["USD"]
    amount: str | None  # an exact decimal; None: no attempt was priced
    unpricedAttempts: int  # attempts no price covered: never counted as 0
    unpricedModels: list[str]
    pricedAttempts: int


class ExecutionOut(ExecutionCounters):
    cancelled: bool
    lastEventAt: int | None
    created: int | None
    updated: int | None
    stale: bool
    elapsedMs: int | None
    tasksPending: int
    firstKnownAt: int | None


class _AttemptFields(_Model):
    attemptNumber: int | None
    status: Literal["success", "failure"] | None
    output: str | None
    error: str | None
    prompt: str | None
    agentRoleDescription: str | None
    durationMs: int | None
    tokensInput: int | None
    tokensOutput: int | None
    tokensTotal: int | None
    toolCalls: int | None
    qcPassed: bool | None  # None: no QC ran
    qcScore: int | None
    qcFeedback: str | None
    qcIssues: list[str] | None
    qcRequiredFixes: list[str] | None
    timestamp: int | None  # completion time
    model: str | None


class TaskExecutionOut(_AttemptFields):
    taskExecutionId: str
    executionId: str
    taskId: str
    taskTitle: str | None
    parallelGroup: int | None
    qcRoleDescription: str | None
    recommendedModel: str | None
    attemptCount: int | None
    cost: CostOut


class PricedExecutionOut(ExecutionOut):
    cost: CostOut


class ExecutionDetailOut(PricedExecutionOut):
    taskExecutions: list[TaskExecutionOut]
    failedTaskIds: list[str]


class ExecutionListOut(_Model):
    executions: list[ExecutionOut]
    nextCursor: str | None


class TaskAttemptOut(_AttemptFields):
    executionId: str
    taskId: str
    source: Literal["result", "history"] | None
    hasOutput: bool
    previousAttemptNumber: int | None
    pricedModel: str | None
    cost: CostOut


class TaskExecutionContextOut(_Model):
    executionId: str
    planId: str | None
    status: str
    version: int
    lastEventAt: int | None
    startTime: int | None
    endTime: int | None
    stale: bool
    elapsedMs: int | None


class TaskDetailOut(_Model):
    execution: TaskExecutionContextOut
    task: TaskExecutionOut
    attempts: list[TaskAttemptOut]  # newest first


class PlanStatsOut(_Model):
    runs: int
    completed: int
    incomplete: int
    failed: int
    cancelled: int
    running: int
    successRate: float | None
    avgDurationMs: int | None
    avgTokens: int | None
    lastRunAt: int | None


class PlanSummaryOut(_Model):
    planId: str
    registered: bool | None
    title: str | None
    description: str | None
    taskCount: int | None
    stats: PlanStatsOut


class PlanListOut(_Model):
    plans: list[PlanSummaryOut]


class PlanInfoOut(_Model):
    planId: str
    registered: bool | None
    title: str | None
    description: str | None
    version: str | None
    parallelGroups: Any
    taskCount: int | None
    created: int | None
    updated: int | None


class DependencyOut(_Model):
    id: str
    title: str | None


class PlanTaskOut(_Model):
    id: str
    title: str | None = None
    parallelGroup: int | None = None
    dependencies: list[DependencyOut]


class ParallelGroupOut(_Model):
    parallelGroup: int | None
    taskIds: list[str]


class PlanDetailOut(_Model):
    plan: PlanInfoOut
    tasks: list[PlanTaskOut]
    parallelGroups: list[ParallelGroupOut]
    stats: PlanStatsOut
    cost: CostOut
    executions: list[PricedExecutionOut]
    moreExecutions: bool


class FailureTotalsOut(_Model):
    executions: int
    finishedExecutions: int
    failedExecutions: int
    tasks: int
    failedTasks: int
    tokens: int
    reworkTokens: int
    reworkCost: CostOut
    taskFailureRate: float | None
    executionFailureRate: float | None
    reworkShare: float | None


class FailureReportOut(_Model):
    """The failure report: its totals typed, its groupings as the API sends them (JSON objects)."""

    startedFrom: date
    startedTo: date
    planId: str | None
    bucket: Literal["day", "week"]
    hasFailures: bool
    totals: FailureTotalsOut
    trend: list[dict[str, Any]]
    byTask: dict[str, Any]
    byPlan: list[dict[str, Any]]
    byError: dict[str, Any]
    qc: dict[str, Any]
    retried: dict[str, Any]
    # Set when the range starts before what retention pruned: the task-level details (examples) of
    # executions first known before this UTC day are gone, the figures come from the rollups.
    detailsPrunedBefore: date | None = None
