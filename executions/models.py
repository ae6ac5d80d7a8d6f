"""The graph of record (neomodel, in Neo4j) and the ingest tokens (Django ORM).

Times are stored as integer epoch milliseconds: exact, comparable, and what orchestrators send.
"No QC ran" is a null `qcPassed`/`qcScore`/`qcIssues`; a QC that ran and found nothing is `[]`.
"""

import hashlib
import secrets
from datetime import UTC

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from neomodel import (
    ArrayProperty,
    BooleanProperty,
    IntegerProperty,
    JSONProperty,
    RelationshipTo,
    StringProperty,
    StructuredNode,
)

from .limits import ExecutionLimits

EXECUTION_STATUSES = ("running", "completed", "incomplete", "failed", "cancelled")
TASK_STATUSES = ("success", "failure")


class Plan(StructuredNode):
    planId = StringProperty(unique_index=True, required=True)
    # False while the plan is only known from an execution that names it (plan PUT not yet seen).
    registered = BooleanProperty(default=False)
    title = StringProperty()
    description = StringProperty()
    version = StringProperty()
    # Task definitions (ids, titles, roles, dependencies, parallel groups) as sent.
    tasks = JSONProperty()
    parallelGroups = JSONProperty()
    taskCount = IntegerProperty(default=0)
    created = IntegerProperty(index=True)
    updated = IntegerProperty()


class AttemptRecord(StructuredNode):
    """What one attempt says: its own node (TaskAttempt) keeps it, and a task execution mirrors its
    latest attempt's. These fields are also an attempt's content: a replay with the same values is a
    no-op, with others a conflict."""

    __abstract_node__ = True

    attemptNumber = IntegerProperty()
    status = StringProperty(choices={s: s for s in TASK_STATUSES})
    output = StringProperty()
    error = StringProperty()
    prompt = StringProperty()
    agentRoleDescription = StringProperty()
    durationMs = IntegerProperty()
    tokensInput = IntegerProperty()
    tokensOutput = IntegerProperty()
    tokensTotal = IntegerProperty()
    toolCalls = IntegerProperty()
    qcPassed = BooleanProperty()
    qcScore = IntegerProperty()
    qcFeedback = StringProperty()
    qcIssues = ArrayProperty(StringProperty())
    qcRequiredFixes = ArrayProperty(StringProperty())
    # Completion time.
    timestamp = IntegerProperty()
    # The model the result says ran it (`result.model`); null when it did not say. Its cost is
    # priced from this, else from the task definition's `recommendedModel` (executions/pricing.py).
    model = StringProperty()


class TaskAttempt(AttemptRecord):
    # Keyed by (executionId, taskId, attemptNumber): a composite uniqueness constraint that
    # install_schema creates (TASK_ATTEMPT_KEY).
    executionId = StringProperty(required=True)
    taskId = StringProperty(required=True)
    attemptNumber = IntegerProperty(required=True)
    # 'result' for an attempt posted as a task result; 'history' for one known only from a later
    # result's qcVerificationHistory (QC verdict only), upgraded when its own result arrives.
    source = StringProperty(choices={"result": "result", "history": "history"})
    # Hash of the attempt's content: an identical replay is a no-op, a different one a conflict.
    contentHash = StringProperty()
    # Set by the write that created the attempt, so that the write can tell its own from a replay's.
    nonce = StringProperty()
    # signatures.error_key of `error` (computed in Python: Cypher has no hash function): the key of
    # the failure report's ReportErrorDay rows, derived from the content, so not part of it.
    errorKey = StringProperty()
    # Derived from qcIssues / qcRequiredFixes where the attempt is written (executions/qc_texts.py):
    # a key per distinct trimmed non-empty text, for the failure report's QC rollups (ReportQcDay).
    # Not content: equal text, equal keys.
    qcIssueKeys = ArrayProperty(StringProperty())
    qcFixKeys = ArrayProperty(StringProperty())

    INTERNAL_FIELDS = ("contentHash", "nonce", "errorKey", "qcIssueKeys", "qcFixKeys")


class TaskExecution(AttemptRecord):
    """A task of an execution. Besides the task-definition fields, it mirrors its latest attempt."""

    # Keyed by (executionId, taskId): a composite uniqueness constraint that install_schema creates
    # (TASK_EXECUTION_KEY). Never by the joined string: execution `a-b` with task `c` and execution
    # `a` with task `b-c` are two task executions.
    executionId = StringProperty(required=True)
    taskId = StringProperty(required=True)
    # "<executionId>-<taskId>", what Mimir's persistTaskExecutionToNeo4j returns: shown, never a key.
    taskExecutionId = StringProperty()
    taskTitle = StringProperty()
    parallelGroup = IntegerProperty()
    qcRoleDescription = StringProperty()
    # The definition's `recommendedModel`, when a result carried the definition (`task`).
    recommendedModel = StringProperty()
    status = StringProperty(choices={s: s for s in TASK_STATUSES})
    attemptCount = IntegerProperty()
    timestamp = IntegerProperty()
    created = IntegerProperty()
    # The execution versions at which it last changed and first appeared (ingest/_refresh_tasks):
    # the live page's poll sends only the rows changed after the version the page has.
    changedVersion = IntegerProperty()
    firstVersion = IntegerProperty()
    # Its latest attempt's errorKey (ingest/_refresh_tasks).
    errorKey = StringProperty()
    # What the failure report's examples seek by (ingest/_refresh_tasks, _roll_up_execution; the
    # indexes task_report_*, which hold only the task executions that have them): its execution's
    # rollup row keys (the execution's rolledPlanKey, rolledDay), 'FAILED_TASK' | 'RETRIED_TASK' as
    # its links say, its errorKey ('' for none) while failed, true while an attempt failed QC.
    reportPlanKey = StringProperty()
    reportDay = IntegerProperty()
    reportLink = StringProperty()
    reportErrorKey = StringProperty()
    reportQcFailed = BooleanProperty()
    # What its attempts add up to (ingest/_refresh_tasks), summed by its execution's counters.
    attemptsTokensInput = IntegerProperty()
    attemptsTokensOutput = IntegerProperty()
    attemptsToolCalls = IntegerProperty()
    attemptsReworkTokens = IntegerProperty()
    attemptsFailedQc = IntegerProperty()
    attemptsFirstStart = IntegerProperty()
    # Its ReportTaskDay values (ROLLUP_TASK_FIELDS order) as derived now (reportValues) and as last
    # added to its execution's row (rolledValues): a write applies the difference
    # (ingest/_roll_up_execution).
    reportValues = ArrayProperty(IntegerProperty())
    rolledValues = ArrayProperty(IntegerProperty())
    # Its attemptsReworkTokens and attemptsFailedQc as of that roll-up: while either is or was above
    # zero, a write of it recomputes its execution's ReportReworkDay or ReportQcDay contribution.
    rolledReworkTokens = IntegerProperty()
    rolledFailedQc = IntegerProperty()

    INTERNAL_FIELDS = ("created", "changedVersion", "firstVersion", "errorKey", "reportPlanKey", "reportDay",
                       "reportLink", "reportErrorKey", "reportQcFailed", "attemptsTokensInput",
                       "attemptsTokensOutput", "attemptsToolCalls", "attemptsReworkTokens", "attemptsFailedQc",
                       "attemptsFirstStart", "reportValues", "rolledValues", "rolledReworkTokens",
                       "rolledFailedQc")

    attempts = RelationshipTo(TaskAttempt, "HAS_ATTEMPT")


class OrchestrationExecution(StructuredNode):
    executionId = StringProperty(unique_index=True, required=True)
    planId = StringProperty(index=True)
    status = StringProperty(index=True, choices={s: s for s in EXECUTION_STATUSES})
    # False while only task results or a finish have arrived (the start event is late).
    started = BooleanProperty(default=False)
    finished = BooleanProperty(default=False)
    cancelled = BooleanProperty(default=False)
    startTime = IntegerProperty(index=True)
    endTime = IntegerProperty()
    durationMs = IntegerProperty()
    tasksTotal = IntegerProperty(default=0)
    tasksSuccessful = IntegerProperty(default=0)
    tasksFailed = IntegerProperty(default=0)
    # Once finished: tasks it announced (tasksTotal) that were never reported.
    tasksMissing = IntegerProperty(default=0)
    tokensInput = IntegerProperty(default=0)
    tokensOutput = IntegerProperty(default=0)
    tokensTotal = IntegerProperty(default=0)
    toolCalls = IntegerProperty(default=0)
    # Server receive time of the latest event: what staleness is measured from. Indexed: the alert
    # detector reads the executions changed since its cursor (executions/cypher/alerts/).
    lastEventAt = IntegerProperty(index=True)
    # Bumped on every change; the live page polls it to answer "no change" cheaply.
    version = IntegerProperty(default=0)
    created = IntegerProperty(index=True)
    updated = IntegerProperty()
    # Derived at every write, for the failure report: tokens of failed attempts, and the ids of
    # the task executions (sorted).
    reworkTokens = IntegerProperty(default=0)
    taskIds = ArrayProperty(StringProperty())
    # Lower-cased execution id, plan id and task titles, one per line: what the list's search matches.
    searchText = StringProperty()
    # startTime, or while no start event has arrived the earliest start of its attempts (else
    # `created`): where the failure report and the list place the execution in time.
    firstKnownAt = IntegerProperty(index=True)

    plan = RelationshipTo(Plan, "EXECUTES_PLAN")
    task_executions = RelationshipTo(TaskExecution, "HAS_TASK_EXECUTION")
    # While the task's latest attempt failed.
    failed_tasks = RelationshipTo(TaskExecution, "FAILED_TASK")
    # While any attempt of the task failed QC.
    qc_failed_tasks = RelationshipTo(TaskExecution, "QC_FAILED_TASK")
    # While the task's latest attempt passed after earlier attempts.
    retried_tasks = RelationshipTo(TaskExecution, "RETRIED_TASK")

    # What it last contributed to the failure report's rollups (ingest/_roll_up_execution): the row
    # keys and its ReportDay counters (ROLLUP_DAY_FIELDS order); its task executions keep their
    # ReportTaskDay values (TaskExecution.rolledValues). A write applies (new - old) to the rows.
    rolledPlanKey = StringProperty()
    rolledDay = IntegerProperty()
    rolledCounts = ArrayProperty(IntegerProperty())
    # Its failed tasks' error keys (sorted) and how many failed with each (ReportErrorDay).
    rolledErrorKeys = ArrayProperty(StringProperty())
    rolledErrorCounts = ArrayProperty(IntegerProperty())
    # What it last contributed to ReportReworkDay (ingest/_roll_up_rework): the row's plan key and
    # day, its models (sorted, with their attempt days) and per (model, attempt day) the
    # ROLLUP_REWORK_FIELDS values, flattened as [attemptDay, *values].
    rolledReworkPlanKey = StringProperty()
    rolledReworkDay = IntegerProperty()
    rolledReworkModels = ArrayProperty(StringProperty())
    rolledReworkValues = ArrayProperty(IntegerProperty())
    # What it last contributed to the ReportQcDay rows (ingest/_roll_up_qc): their plan and day, and
    # per row (sorted by kind, textKey) its kind, text key and QC-failed attempts naming the text.
    rolledQcPlanKey = StringProperty()
    rolledQcDay = IntegerProperty()
    rolledQcKinds = ArrayProperty(StringProperty())
    rolledQcKeys = ArrayProperty(StringProperty())
    rolledQcCounts = ArrayProperty(IntegerProperty())

    INTERNAL_FIELDS = (
        "reworkTokens", "taskIds", "searchText",
        "rolledPlanKey", "rolledDay", "rolledCounts",
        "rolledErrorKeys", "rolledErrorCounts",
        "rolledReworkPlanKey", "rolledReworkDay", "rolledReworkModels", "rolledReworkValues",
        "rolledQcPlanKey", "rolledQcDay", "rolledQcKinds", "rolledQcKeys", "rolledQcCounts",
    )


def _shown_fields(model: type[StructuredNode], first: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The properties that reads return: all the model declares but its INTERNAL_FIELDS."""
    internal = set(getattr(model, "INTERNAL_FIELDS", ()))
    names = [*first, *(n for n in model.defined_properties(aliases=False, rels=False) if n not in first)]
    return tuple(n for n in names if n not in internal)


ATTEMPT_CONTENT_FIELDS = tuple(AttemptRecord.defined_properties(aliases=False, rels=False))
Plan.SHOWN_FIELDS = _shown_fields(Plan)
TaskAttempt.SHOWN_FIELDS = _shown_fields(TaskAttempt, ("executionId", "taskId", "attemptNumber", "source"))
TaskExecution.SHOWN_FIELDS = _shown_fields(
    TaskExecution, ("taskExecutionId", "executionId", "taskId", "taskTitle", "parallelGroup", "qcRoleDescription")
)
OrchestrationExecution.SHOWN_FIELDS = _shown_fields(OrchestrationExecution)


class PlanTask(StructuredNode):
    """A plan's task definition, as far as a statement needs it (the rest stays in `Plan.tasks`, a
    JSON text Cypher cannot read): its `recommendedModel`, which prices the attempts of tasks whose
    result names no model. Kept by every plan PUT, one per task that recommends a model."""

    planId = StringProperty(required=True)
    taskId = StringProperty(required=True)
    recommendedModel = StringProperty()


# The rollups' counters, in the order ingest/_roll_up computes them (its lists are positional).
ROLLUP_DAY_FIELDS = (
    "executions", "finishedExecutions", "failedExecutions", "tasks", "failedTasks", "tokens", "reworkTokens",
    "failedQcAttempts", "retriedTasks",
)
ROLLUP_TASK_FIELDS = ("tasks", "failed", "retried", "retriedAttempts", "retriedReworkTokens")
# ReportReworkDay's, per (plan, day, model, attempt day): the failed attempts pages/_cost prices.
ROLLUP_REWORK_FIELDS = ("tokensInput", "tokensOutput", "attempts")
# ReportReworkDay's model when an attempt names none (nor does its task): priced as no model.
NO_MODEL = ""


class PruneRun(StructuredNode):
    """One real run of the retention prune (executions/services/retention.py): executions first known
    before `before` (a UTC midnight) lost their details. The failure report reads max(before) as the
    pruned watermark. The worker's daily run also holds `scheduledDay` (00:00 UTC of its day, epoch
    ms), a unique key: the MERGE on it is what lets one worker alone run the day's prune."""

    runId = StringProperty(unique_index=True, required=True)
    scheduledDay = IntegerProperty(unique_index=True)
    before = IntegerProperty(index=True, required=True)
    keepFailed = BooleanProperty(default=False)
    startedAt = IntegerProperty()
    finishedAt = IntegerProperty()
    executionsDeleted = IntegerProperty(default=0)
    taskExecutionsDeleted = IntegerProperty(default=0)
    attemptsDeleted = IntegerProperty(default=0)


GRAPH_MODELS = (Plan, OrchestrationExecution, TaskExecution, TaskAttempt, PlanTask, PruneRun)

# Composite keys (neomodel declares single-property constraints only): name -> (label, properties).
COMPOSITE_KEYS = {
    "task_execution_key": ("TaskExecution", ("executionId", "taskId")),
    "task_attempt_key": ("TaskAttempt", ("executionId", "taskId", "attemptNumber")),
    "plan_task_key": ("PlanTask", ("planId", "taskId")),
    # The failure report's rollups (ingest/_roll_up): one row per plan (planKey, '' for none), UTC
    # day of firstKnownAt, and task id / attempts.
    "report_day_key": ("ReportDay", ("planKey", "day")),
    "report_task_day_key": ("ReportTaskDay", ("planKey", "day", "taskId")),
    "report_retry_day_key": ("ReportRetryDay", ("planKey", "day", "taskId", "attempts")),
    # Failed task executions per exact error text (errorKey: signatures.error_key).
    "report_error_day_key": ("ReportErrorDay", ("planKey", "day", "errorKey")),
    # Failed attempts' tokens by the model that prices them (lower-cased, trimmed; NO_MODEL for none)
    # and the UTC day of their completion, which decides the price in force (prices start at midnight).
    "report_rework_day_key": ("ReportReworkDay", ("planKey", "day", "model", "attemptDay")),
    # kind 'issue' | 'fix'; textKey: executions/qc_texts.py.
    "report_qc_day_key": ("ReportQcDay", ("planKey", "day", "kind", "textKey")),
}
# Keys of older versions, built by joining ids with '-' and '#': dropped by install_schema.
RETIRED_KEYS = (("TaskExecution", "taskExecutionId"), ("TaskAttempt", "attemptId"))


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# What an API token may do: `write` (ingest: every POST/PUT) and `read` (the read API's GETs).
TOKEN_SCOPES = ("read", "write")


class IngestToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    # Its scopes, sorted and comma-separated ("read,write"): one column that the token check's single
    # SELECT reads with the id. Tokens from before scopes existed are ingest tokens: "write".
    scopes = models.CharField(max_length=100, default="write")
    # Its limits (services.tokens, executions.limits), one id per line (ids hold no white space);
    # empty: no limit of that kind. Plan ids it may write and read executions of:
    plans = models.TextField(blank=True, default="")
    # and prefixes the execution ids it may write and read must start with.
    execution_prefixes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def limits(self) -> ExecutionLimits:
        return ExecutionLimits.from_stored(self.plans, self.execution_prefixes)

    @staticmethod
    def generate() -> str:
        return "mimir_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_token(raw)


class ModelPrice(models.Model):
    """A model's list price per million tokens from `effective_from` on, in US dollars. Prices are
    append-only: a price change is a new row with a later `effective_from`, so the cost of an attempt
    is read with the price in force at its time and a change is never retroactive (docs/design.md,
    "Cost in currency"). The amounts of a saved row cannot change; deleting a row (a correction) does
    reprice the attempts of its period, on purpose."""

    model = models.CharField(
        max_length=200, help_text="as results and task definitions name it; matched ignoring case and spaces around"
    )
    input_per_million = models.DecimalField(
        "input (USD per 1M tokens)", max_digits=12, decimal_places=6, validators=[MinValueValidator(0)]
    )
    output_per_million = models.DecimalField(
        "output (USD per 1M tokens)", max_digits=12, decimal_places=6, validators=[MinValueValidator(0)]
    )
    effective_from = models.DateTimeField(
        help_text="a UTC midnight (00:00:00 UTC): attempts completed on or after that day cost this"
    )
    source = models.CharField(max_length=500, blank=True, default="", help_text="where the price comes from")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    PRICED_FIELDS = ("model", "input_per_million", "output_per_million", "effective_from")

    class Meta:
        ordering = ["model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["model", "effective_from"], name="model_price_once_per_moment"),
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d %H:%M} UTC"

    @staticmethod
    def normalize(name: str) -> str:
        return name.strip().lower()

    @staticmethod
    def starts_at_midnight(moment) -> bool:
        """Whether `moment` is 00:00:00 UTC: prices take effect at a UTC midnight, so that the failure
        report's ReportReworkDay rows (per attempt day) are priced as the attempts themselves are."""
        utc = moment.astimezone(UTC)
        return (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0)

    def _check_effective_from(self) -> None:
        if self.effective_from is not None and not self.starts_at_midnight(self.effective_from):
            raise ValidationError({"effective_from": "effective_from must be a UTC midnight (00:00:00 UTC): "
                                                     "a price takes effect at the start of a day"})

    def clean(self) -> None:
        self.model = self.normalize(self.model or "")
        if not self.model:
            raise ValidationError({"model": "must name a model"})
        self._check_effective_from()

    def save(self, *args, **kwargs) -> None:
        self.model = self.normalize(self.model)
        self._check_effective_from()
        if self.pk is not None:
            stored = ModelPrice.objects.filter(pk=self.pk).values(*self.PRICED_FIELDS).first()
            if stored is not None and any(stored[f] != getattr(self, f) for f in self.PRICED_FIELDS):
                # A changed amount would silently reprice past attempts: add a dated row instead.
                raise ValidationError("a saved price does not change: add a price with a later effective_from")
        super().save(*args, **kwargs)
