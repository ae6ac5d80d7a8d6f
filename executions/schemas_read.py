"""The read API's query parameters and responses (pydantic), for validation and the OpenAPI document.

Responses name the graph's own fields (`executions/models.py`, camelCase, times in epoch ms): a
response model declares every field its model shows (SHOWN_FIELDS), which a test checks, so that a
new stored field cannot silently go missing from the API.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .models import EXECUTION_STATUSES
from .schemas import ExecutionCounters, Identifier
from .selectors.compare import TOKENS_CHANGE_SHARE
from .selectors.plans import HISTORY_DEFAULT_RUNS, HISTORY_MAX_RUNS

_SHARE = f"{TOKENS_CHANGE_SHARE:.0%}"

# ---- query parameters ----

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The days of the epoch milliseconds the API accepts (schemas.EpochMs): 2000 up to 2200.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)


def _to_day(value: Any) -> Any:
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("must be a date as YYYY-MM-DD (a UTC day)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a calendar date (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return day


# A UTC calendar day, strictly YYYY-MM-DD.
Day = Annotated[
    date,
    BeforeValidator(_to_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DAY.pattern}),
]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        # `?status=&plan=` is what a form with empty fields sends: those filters are not used.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != ""}
        return data


class ExecutionListQuery(_Query):
    status: Literal[EXECUTION_STATUSES] | None = Field(None, description="only executions with this status")
    plan: Identifier | None = Field(None, description="only executions of this plan (planId)")
    q: str | None = Field(
        None, max_length=200, description="case-insensitive search of execution ids, plan ids and task titles"
    )
    started_from: Day | None = Field(
        None, description="first known (its start, or without a start event its first attempt's start) on or after "
        "this UTC day"
    )
    started_to: Day | None = Field(None, description="first known on or before this UTC day (inclusive)")
    start_event: Literal["received", "missing"] | None = Field(
        None,
        description="received: only executions whose start event arrived; missing: only those known from task "
        "results or a finish alone (a post with a mistyped id, or a start still on its way)",
    )
    cursor: str | None = Field(None, max_length=1_000, description="`nextCursor` of the previous page")
    limit: int = Field(25, ge=1, le=100, description="executions per page")

    @field_validator("started_to")
    @classmethod
    def _range_in_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("started_from")
        if value is not None and start is not None and value < start:
            raise ValueError("must be on or after started_from")
        return value


class PlanDetailQuery(_Query):
    limit: int = Field(20, ge=1, le=100, description="how many of the plan's most recent executions")


class TaskHistoryQuery(_Query):
    n: int = Field(HISTORY_DEFAULT_RUNS, ge=1, le=HISTORY_MAX_RUNS,
                   description="how many of the task's most recent runs")


class FailureReportQuery(_Query):
    started_from: Day | None = Field(
        None, description="executions started on or after this UTC day (default: 29 days before started_to)"
    )
    started_to: Day | None = Field(
        None,
        description="executions started on or before this UTC day, inclusive (default: today); "
        "at most 731 days in all",
    )
    plan: Identifier | None = Field(None, description="only executions of this plan (planId)")


class CompareQuery(_Query):
    a: Identifier = Field(description="the execution compared from (e.g. the previous run); deltas are b minus a")
    b: Identifier = Field(description="the execution compared with a (e.g. the latest run)")
    task: Identifier | None = Field(
        None, description="a task id: the answer's `outputDiff` is that task's output diff from a to b"
    )

    @field_validator("b")
    @classmethod
    def _two_executions(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("a"):
            raise ValueError("must be another execution than a")
        return value


# ---- responses ----

EpochMs = Annotated[int, Field(description="epoch milliseconds")]


def _decimal_text(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


class CostOut(BaseModel):
    """What attempts cost at the prices in force when each ran (executions/pricing.py)."""

    model_config = ConfigDict(from_attributes=True)

    currency: Literal["USD"]
    amount: Annotated[str | None, BeforeValidator(_decimal_text)] = Field(
        description="the priced attempts' cost, an exact decimal as a string; null: no attempt was priced"
    )
    unpricedAttempts: int = Field(
        description="attempts with tokens whose model has no price in force at their time (not counted as 0)"
    )
    unpricedModels: list[str] = Field(description="the models those attempts name (some may name none)")
    pricedAttempts: int = Field(description="attempts with tokens that a price covered")


class ExecutionOut(ExecutionCounters):
    cancelled: bool
    lastEventAt: EpochMs | None = Field(description="server time of the last change")
    created: EpochMs | None
    updated: EpochMs | None
    stale: bool = Field(description="running, and no news for EXECUTION_STALE_AFTER_SECONDS")
    elapsedMs: int | None = Field(description="start to end, or start to now while running")
    tasksPending: int = Field(description="while running: tasksTotal minus the tasks with a result")
    firstKnownAt: EpochMs | None = Field(
        description="startTime, or while no start event has arrived its first attempt's start (else when it was "
        "first heard of): the list's order"
    )


class _AttemptFields(BaseModel):
    """What an attempt says (models.AttemptRecord); a task execution mirrors its latest attempt's."""

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
    qcPassed: bool | None = Field(description="the QC verdict; null: no QC ran")
    qcScore: int | None = Field(description="0-100; null: no QC ran")
    qcFeedback: str | None
    qcIssues: list[str] | None
    qcRequiredFixes: list[str] | None
    timestamp: EpochMs | None = Field(description="completion time")
    model: str | None = Field(description="the model the result named (`result.model`)")


class TaskExecutionOut(_AttemptFields):
    """A task of an execution: its definition's fields and its latest attempt's."""

    taskExecutionId: str
    executionId: str
    taskId: str
    taskTitle: str | None
    parallelGroup: int | None
    qcRoleDescription: str | None
    recommendedModel: str | None = Field(description="the definition's, when a result carried it (`task`)")
    attemptCount: int | None = Field(description="how many attempts are recorded (results and QC history)")
    cost: CostOut = Field(description="every attempt of the task")


class PricedExecutionOut(ExecutionOut):
    cost: CostOut = Field(description="every attempt of every task")


class ExecutionDetailOut(PricedExecutionOut):
    taskExecutions: list[TaskExecutionOut] = Field(description="latest attempt each, by completion time")
    failedTaskIds: list[str] = Field(description="tasks whose latest attempt failed")


class ExecutionListOut(BaseModel):
    executions: list[ExecutionOut] = Field(
        description="newest firstKnownAt first (ties: executionId, descending)"
    )
    nextCursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class TaskAttemptOut(_AttemptFields):
    executionId: str
    taskId: str
    source: Literal["result", "history"] | None = Field(
        description="result: posted; history: known only from a later result's qcVerificationHistory (QC verdict only)"
    )
    hasOutput: bool
    previousAttemptNumber: int | None = Field(
        description="the older attempt with an output this one's is compared with"
    )
    pricedModel: str | None = Field(description="the model it is priced as: `model`, else the task's recommendedModel")
    cost: CostOut


class TaskExecutionContextOut(BaseModel):
    executionId: str
    planId: str | None
    status: str
    version: int
    lastEventAt: EpochMs | None
    startTime: EpochMs | None
    endTime: EpochMs | None
    stale: bool
    elapsedMs: int | None


class TaskDetailOut(BaseModel):
    execution: TaskExecutionContextOut
    task: TaskExecutionOut
    attempts: list[TaskAttemptOut] = Field(description="every attempt, newest first")


class PlanStatsOut(BaseModel):
    runs: int
    completed: int
    incomplete: int
    failed: int
    cancelled: int
    running: int
    successRate: float | None = Field(description="completed / finished runs; null before any finished")
    avgDurationMs: int | None
    avgTokens: int | None
    lastRunAt: EpochMs | None = Field(description="the latest run's startTime")


class PlanSummaryOut(BaseModel):
    planId: str
    registered: bool | None = Field(description="false while only known from an execution naming it")
    title: str | None
    description: str | None
    taskCount: int | None
    stats: PlanStatsOut


class PlanListOut(BaseModel):
    plans: list[PlanSummaryOut] = Field(description="most recently run first")


class PlanInfoOut(BaseModel):
    planId: str
    registered: bool | None
    title: str | None
    description: str | None
    version: str | None
    parallelGroups: Any = Field(description="the plan's parallelGroups, as sent")
    taskCount: int | None
    created: EpochMs | None
    updated: EpochMs | None


class DependencyOut(BaseModel):
    id: str
    title: str | None


class PlanTaskOut(BaseModel):
    """A task definition as sent (unknown fields included), its dependencies with their titles."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str | None = None
    parallelGroup: int | None = None
    dependencies: list[DependencyOut]


class ParallelGroupOut(BaseModel):
    parallelGroup: int | None = Field(description="null: the tasks without a parallel group")
    taskIds: list[str]


class PlanDetailOut(BaseModel):
    plan: PlanInfoOut
    tasks: list[PlanTaskOut]
    parallelGroups: list[ParallelGroupOut] = Field(description="the tasks by parallel group, in group order")
    stats: PlanStatsOut
    cost: CostOut = Field(description="every attempt of every run of the plan")
    executions: list[PricedExecutionOut] = Field(description="the most recent `limit`, newest startTime first")
    moreExecutions: bool = Field(description="there are older ones: GET /executions?plan=<planId> lists them all")


class TaskRunOut(BaseModel):
    executionId: str
    executionStatus: str | None
    firstKnownAt: EpochMs | None = Field(description="the execution's first-known time: the runs' order")
    startTime: EpochMs | None = Field(description="the execution's start")
    status: str | None = Field(description="the task's latest attempt: success or failure")
    taskTitle: str | None
    durationMs: int | None = Field(description="the latest attempt's duration")
    tokensTotal: int | None = Field(description="tokens of every attempt (null: none reported tokens)")
    attemptCount: int
    qcPassed: bool | None = Field(description="the latest attempt's QC verdict; null: no QC ran")
    qcScore: int | None
    timestamp: EpochMs | None = Field(description="the latest attempt's completion")
    outliers: dict[Literal["durationMs", "tokensTotal", "attemptCount", "qcScore"], Literal["high", "low"]] = Field(
        description="the fields where this run stands out of these runs: modified z-score over 3.5 (docs/design.md)"
    )


class TaskHistoryMetricOut(BaseModel):
    field: Literal["durationMs", "tokensTotal", "attemptCount", "qcScore"]
    median: float | None = Field(description="of these runs' values")
    low: float | None = Field(
        description="a value below this is a low outlier (null: fewer than 5 values, or all equal)")
    high: float | None = Field(description="a value above this is a high outlier")


class TaskHistoryTaskOut(BaseModel):
    taskId: str
    title: str | None
    defined: bool = Field(description="the plan's definition names this task")
    parallelGroup: int | None


class TaskHistoryOut(BaseModel):
    planId: str
    task: TaskHistoryTaskOut
    runs: list[TaskRunOut] = Field(
        description="the `n` most recent executions of the plan that ran the task, newest first")
    metrics: list[TaskHistoryMetricOut]


class FailureExampleOut(BaseModel):
    executionId: str
    taskId: str
    taskTitle: str | None
    timestamp: EpochMs | None


class _Counts(BaseModel):
    executions: int = Field(description="executions started in the range")
    finishedExecutions: int
    failedExecutions: int = Field(description="finished with status failed")
    tasks: int = Field(description="task executions recorded")
    failedTasks: int = Field(description="task executions whose latest attempt failed")
    tokens: int
    reworkTokens: int = Field(description="tokens of failed attempts")
    reworkCost: CostOut = Field(description="what the failed attempts cost")
    taskFailureRate: float | None = Field(description="failedTasks / tasks")
    executionFailureRate: float | None = Field(description="failedExecutions / finishedExecutions")


class FailureTotalsOut(_Counts):
    reworkShare: float | None = Field(description="reworkTokens / tokens")


class TrendBucketOut(_Counts):
    start: EpochMs
    end: EpochMs = Field(description="exclusive")


class TaskFailureGroupOut(BaseModel):
    planId: str | None
    taskId: str
    taskTitle: str | None
    tasks: int | None = Field(description="task executions of this task in the range")
    failed: int
    failureRate: float | None
    examples: list[FailureExampleOut]


class TaskFailuresOut(BaseModel):
    total: int = Field(description="groups in all (the list holds the first 20)")
    groups: list[TaskFailureGroupOut]


class PlanFailuresOut(BaseModel):
    planId: str | None
    planTitle: str | None
    executions: int
    finishedExecutions: int
    failedExecutions: int
    tasks: int
    failed: int
    taskFailureRate: float | None
    executionFailureRate: float | None
    reworkCost: CostOut = Field(description="what the plan's failed attempts cost")
    examples: list[FailureExampleOut]


class ErrorGroupOut(BaseModel):
    signature: str = Field(description="the error with ids, numbers and quoted names masked")
    failed: int
    variants: int = Field(description="distinct error texts with this signature")
    sample: str | None = Field(description="the most frequent of them")
    examples: list[FailureExampleOut]


class ErrorFailuresOut(BaseModel):
    total: int
    groups: list[ErrorGroupOut]


class QcTextOut(BaseModel):
    text: str
    attempts: int = Field(description="attempts that failed QC with this text")
    examples: list[FailureExampleOut]


class QcFailuresOut(BaseModel):
    failedAttempts: int = Field(description="attempts that failed QC (QC history included)")
    issues: list[QcTextOut]
    requiredFixes: list[QcTextOut]


class RetriedExampleOut(FailureExampleOut):
    attempts: int | None


class RetriedGroupOut(BaseModel):
    planId: str | None
    taskId: str
    taskTitle: str | None
    retried: int
    maxAttempts: int | None
    totalAttempts: int | None
    reworkTokens: int
    examples: list[RetriedExampleOut]


class RetriedOut(BaseModel):
    total: int = Field(description="task executions whose latest attempt passed after earlier ones")
    groupsTotal: int
    groups: list[RetriedGroupOut]


class FailureReportOut(BaseModel):
    startedFrom: date = Field(description="first UTC day of the range")
    startedTo: date = Field(description="last UTC day of the range (inclusive)")
    planId: str | None
    bucket: Literal["day", "week"] = Field(
        description="the trend's buckets: UTC days up to 31 days, else weeks from Monday"
    )
    hasFailures: bool
    totals: FailureTotalsOut
    trend: list[TrendBucketOut]
    byTask: TaskFailuresOut
    byPlan: list[PlanFailuresOut]
    byError: ErrorFailuresOut
    qc: QcFailuresOut
    retried: RetriedOut
    detailsPrunedBefore: date | None = Field(
        None,
        description="set when the range starts before the pruned watermark: task-level details (examples, "
        "CSV rows) of executions first known before this UTC day were deleted by retention "
        "(manage.py prune_executions), and the figures come from the rollups",
    )


class CompareSideOut(BaseModel):
    """What one run's latest attempt of a task says."""

    status: Literal["success", "failure"] | None
    attemptCount: int | None
    qcPassed: bool | None = Field(description="null: no QC ran")
    qcScore: int | None = Field(description="0-100; null: no QC ran")
    durationMs: int | None
    tokensTotal: int | None
    tokensInput: int | None
    tokensOutput: int | None
    timestamp: EpochMs | None = Field(description="completion time")
    outputChars: int | None = Field(description="the output's size in characters; null: no output")


class CompareTaskDeltaOut(BaseModel):
    """b minus a; null where either run has no value (or the task ran in only one)."""

    attemptCount: int | None
    qcScore: int | None
    durationMs: int | None
    tokensTotal: int | None


class CompareTaskOut(BaseModel):
    taskId: str
    taskTitle: str | None
    parallelGroup: int | None
    presence: Literal["both", "a", "b"] = Field(description="which of the two executions ran the task")
    a: CompareSideOut | None = Field(description="null: not in a")
    b: CompareSideOut | None = Field(description="null: not in b")
    delta: CompareTaskDeltaOut
    newlyFailing: bool = Field(description="succeeded in a, failed in b")
    fixed: bool = Field(description="failed in a, succeeded in b")
    qcDown: bool = Field(description="a lower QC score in b, or a QC that passed in a failed in b")
    qcUp: bool = Field(description="a higher QC score in b, or a QC that failed in a passed in b")
    moreAttempts: bool
    fewerAttempts: bool
    tokensUp: bool = Field(description=f"tokens rose by at least {_SHARE} of a's")
    tokensDown: bool = Field(description=f"tokens fell by at least {_SHARE} of a's")
    outputChanged: bool = Field(description="the latest outputs differ")


class CompareCountsOut(BaseModel):
    newlyFailing: int
    fixed: int
    qcDown: int
    qcUp: int
    moreAttempts: int
    fewerAttempts: int
    tokensUp: int
    tokensDown: int
    outputChanged: int
    inBoth: int
    onlyInA: int
    onlyInB: int


class CompareSummaryOut(BaseModel):
    """What got better or worse, as task ids: the largest move first (QC score, attempts,
    tokens), else by task id."""

    newlyFailing: list[str]
    fixed: list[str]
    qcDown: list[str]
    qcUp: list[str]
    moreAttempts: list[str]
    fewerAttempts: list[str]
    tokensUp: list[str]
    tokensDown: list[str]
    onlyInA: list[str]
    onlyInB: list[str]


class CompareExecutionDeltaOut(BaseModel):
    """b minus a of the executions' own numbers."""

    elapsedMs: int | None
    tokensTotal: int | None
    tasksSuccessful: int | None
    tasksFailed: int | None
    toolCalls: int | None


class DiffLineOut(BaseModel):
    kind: Literal["add", "del", "ctx", "hunk", "meta"]
    text: str


class OutputDiffOut(BaseModel):
    taskId: str
    lines: list[DiffLineOut] = Field(description="a unified diff from a's output to b's; empty when identical")
    added: int
    removed: int
    identical: bool = Field(description="within the part compared")
    limited: bool = Field(description="some of either output was not compared (see maxLines, maxChars)")
    maxLines: int
    maxChars: int


class CompareOut(BaseModel):
    a: ExecutionOut
    b: ExecutionOut
    deltas: CompareExecutionDeltaOut
    counts: CompareCountsOut
    summary: CompareSummaryOut
    tasks: list[CompareTaskOut] = Field(description="every task id either execution ran, by task id")
    outputDiff: OutputDiffOut | None = Field(
        description="with `task`: its output diff from a to b; null without `task`, or when the task ran in only one"
    )
