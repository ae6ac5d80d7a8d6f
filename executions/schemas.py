"""Ingest payloads: Mimir's own objects (camelCase), validated by pydantic.

Unknown extra fields are accepted and ignored, as orchestrators send more than we store
(`preamblePath`, `graphNodeId`, `outputPreview`, ...).
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

# Ids are keys as pairs (never joined into one string), so any printable text may be one, up to 200
# characters: dashes, dots, '#', ':' and letters of any script. They also appear in URL paths, so no
# slash, backslash, white space or control character, and not the path segments "." or "..".
ID_PATTERN = r"^[^\s/\\\x00-\x1f\x7f]{1,200}$"


def _not_a_dot_segment(value: str) -> str:
    if value in (".", ".."):
        raise ValueError("must not be '.' or '..'")
    return value


Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN), AfterValidator(_not_a_dot_segment)]
# Strict: JSON true is not the number 1, and "5" is not 5.
Count = Annotated[int, Strict(), Field(ge=0, le=2**53)]
# Bounds on what the graph adds up. Every sum it keeps (tokens and tool calls of an execution's
# attempts) then fits Neo4j's 64-bit integers however many attempts there are: 2**63 / 10**9 is
# over nine billion attempts at the largest allowed token count.
TOKENS_MAX = 10**9  # tokens of one kind in one attempt
TOOL_CALLS_MAX = 10**6  # tool calls of one attempt
DURATION_MAX_MS = 366 * 86_400_000  # one attempt, a year at most (the timeline draws it)
TASKS_MAX = 1_000_000  # tasks of one execution
TokenCount = Annotated[int, Strict(), Field(ge=0, le=TOKENS_MAX)]
ToolCalls = Annotated[int, Strict(), Field(ge=0, le=TOOL_CALLS_MAX)]
DurationMs = Annotated[int, Strict(), Field(ge=0, le=DURATION_MAX_MS, description="milliseconds")]
TaskCount = Annotated[int, Strict(), Field(ge=0, le=TASKS_MAX)]
Score = Annotated[int, Strict(), Field(ge=0, le=100)]
AttemptNumber = Annotated[int, Strict(), Field(ge=1, le=10_000)]
ShortText = Annotated[str, StringConstraints(max_length=2_000)]
# A model's name as results and task definitions give it ("gpt-4.1", "claude-sonnet-4-5").
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# Epoch milliseconds from 2000-01-01 up to 2200-01-01: a guard against seconds-vs-ms mix-ups.
_MIN_MS = 946_684_800_000
_MAX_MS = 7_258_118_400_000


def _to_epoch_ms(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be epoch milliseconds or an ISO 8601 date-time, not a boolean")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be epoch milliseconds or an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        ms = int(parsed.timestamp() * 1000)
    else:
        raise ValueError("must be epoch milliseconds (integer) or an ISO 8601 date-time string")
    if not _MIN_MS <= ms <= _MAX_MS:
        raise ValueError("is out of range (expected epoch milliseconds between the years 2000 and 2200)")
    return ms


EpochMs = Annotated[
    int,
    BeforeValidator(_to_epoch_ms),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": _MIN_MS, "maximum": _MAX_MS, "description": "epoch milliseconds"},
                {"type": "string", "format": "date-time"},
            ]
        }
    ),
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", str_max_length=50_000_000)


class TaskDefinition(_Payload):
    id: Identifier
    title: ShortText | None = None
    agentRoleDescription: str | None = None
    # Plans may hold "" (no recommendation): kept as sent, priced as no model.
    recommendedModel: ShortText | None = None
    prompt: str | None = None
    dependencies: list[Identifier] = Field(default_factory=list, max_length=1_000)
    estimatedDuration: ShortText | Count | None = None
    parallelGroup: Count | None = None
    taskType: ShortText | None = None
    qcRole: str | None = None
    verificationCriteria: str | list[str] | None = None
    maxRetries: Count | None = None
    estimatedToolCalls: Count | None = None


class QCResult(_Payload):
    passed: Annotated[bool, Strict()]
    score: Score
    feedback: str = ""
    issues: list[str] = Field(default_factory=list, max_length=10_000)
    requiredFixes: list[str] = Field(default_factory=list, max_length=10_000)
    timestamp: EpochMs | None = None


class Tokens(_Payload):
    input: TokenCount = 0
    output: TokenCount = 0


class ExecutionResult(_Payload):
    taskId: Identifier | None = None
    status: Literal["success", "failure"]
    output: str = ""
    error: str | None = None
    duration: DurationMs = 0
    agentRoleDescription: str | None = None
    prompt: str | None = None
    tokens: Tokens | None = None
    toolCalls: ToolCalls = 0
    qcVerification: QCResult | None = None
    qcVerificationHistory: list[QCResult] | None = Field(default=None, max_length=10_000)
    qcFailureReport: Any = None
    attemptNumber: AttemptNumber | None = None
    # The model that ran the attempt: what prices its tokens (else the task's `recommendedModel`).
    model: ModelName | None = None
    # Completion time. Without it the server's receive time is used.
    timestamp: EpochMs | None = None


class PlanIn(_Payload):
    """Body of PUT /api/v1/plans/<planId>; `name` (workflow files) is accepted for `title`."""

    title: ShortText | None = None
    name: ShortText | None = None
    description: str | None = None
    goal: str | None = None
    version: ShortText | None = None
    tasks: list[TaskDefinition] = Field(default_factory=list, max_length=10_000)
    parallelGroups: list[Any] | None = None

    @model_validator(mode="after")
    def _unique_task_ids(self) -> "PlanIn":
        seen: set[str] = set()
        for task in self.tasks:
            if task.id in seen:
                raise ValueError(f"tasks: duplicate task id {task.id!r}")
            seen.add(task.id)
        return self


class ExecutionStartIn(_Payload):
    executionId: Identifier
    planId: Identifier
    totalTasks: TaskCount
    startTime: EpochMs


class TaskResultIn(_Payload):
    taskId: Identifier
    result: ExecutionResult
    task: TaskDefinition | None = None

    @model_validator(mode="after")
    def _ids_agree(self) -> "TaskResultIn":
        if self.result.taskId is not None and self.result.taskId != self.taskId:
            raise ValueError(f"result.taskId {self.result.taskId!r} differs from taskId {self.taskId!r}")
        if self.task is not None and self.task.id != self.taskId:
            raise ValueError(f"task.id {self.task.id!r} differs from taskId {self.taskId!r}")
        return self


class ExecutionFinishIn(_Payload):
    endTime: EpochMs
    cancelled: Annotated[bool, Strict()] = False


# Batch events: each carries its type and the body of the matching endpoint; path parameters
# (executionId, planId) travel in the body.
class StartEvent(ExecutionStartIn):
    type: Literal["execution_started"]


class TaskResultEvent(TaskResultIn):
    type: Literal["task_result"]
    executionId: Identifier


class FinishEvent(ExecutionFinishIn):
    type: Literal["execution_finished"]
    executionId: Identifier


class PlanEvent(PlanIn):
    type: Literal["plan"]
    planId: Identifier


Event = Annotated[StartEvent | TaskResultEvent | FinishEvent | PlanEvent, Field(discriminator="type")]


# ---- responses ----


class ExecutionCounters(BaseModel):
    executionId: str
    planId: str | None
    status: str
    started: bool = Field(description="whether the start event was received (false: only task results or a finish)")
    finished: bool
    startTime: int | None
    endTime: int | None
    durationMs: int | None
    tasksTotal: int
    tasksSuccessful: int
    tasksFailed: int
    tasksMissing: int = Field(0, description="once finished: announced tasks (totalTasks) never reported")
    tokensInput: int
    tokensOutput: int
    tokensTotal: int
    toolCalls: int
    version: int


class TaskResultOut(BaseModel):
    id: str = Field(description="`<executionId>-<taskId>`, as Mimir's persistTaskExecutionToNeo4j returns")
    executionId: str
    taskId: str
    attemptNumber: int
    replayed: bool = Field(description="the attempt and the task's definition were already recorded as sent")
    updated: list[str] = Field(
        default_factory=list,
        description="task-definition fields this post changed (`task.title`, `task.parallelGroup`, `task.qcRole`): "
        "a later post may change them; the attempt itself is never overwritten",
    )
    execution: ExecutionCounters


class ExecutionEventOut(BaseModel):
    replayed: bool
    execution: ExecutionCounters


class PlanOut(BaseModel):
    planId: str
    title: str | None
    taskCount: int
    replayed: bool


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    detail: str
    errors: list[ErrorItem] = Field(default_factory=list)


class BatchItemOut(BaseModel):
    index: int
    type: str | None
    status: int
    body: dict[str, Any]


class BatchOut(BaseModel):
    results: list[BatchItemOut]
    transactions: int


# ---- validation errors, as the API reports them ----

_EVENT_TAGS = {"execution_started", "task_result", "execution_finished", "plan"}


def _field_name(loc: list[str], *, request: bool) -> str:
    if request:
        # django-ninja prefixes body fields with ("body", "<param name>"), others with ("path",) etc.
        if loc[:1] == ["body"]:
            loc = loc[2:]
        elif loc[:1] in (["path"], ["query"]):
            loc = loc[1:]
    return ".".join(loc)


def field_errors(errors: list[dict[str, Any]], *, request: bool = False) -> list[dict[str, str]]:
    """pydantic's errors as [{field, message}], fields dotted ("result.tokens.input"). `request`:
    the locations are django-ninja's, which start with where in the request the value was."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if not (request and loc[:1] in (["path"], ["query"])):
            # Discriminated unions add the event tag to the location; it names no field (whereas
            # the query parameter `plan` does).
            loc = [p for p in loc if p not in _EVENT_TAGS]
        message = err.get("msg", "is invalid").removeprefix("Value error, ")
        out.append({"field": _field_name(loc, request=request) or "body", "message": message})
    return out
