"""API v1: ingest (writes, the `write` scope) and read (GETs, the `read` scope), thin handlers over
services and selectors; validation and the OpenAPI document come from pydantic through django-ninja."""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import Field

from . import metrics, rendering, report_filters, schemas, schemas_read, selectors, services
from .errors import (
    ConflictError,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    TooLargeToStore,
)
from .limits import ExecutionLimits

logger = logging.getLogger(__name__)

BODY_METHODS = {"POST", "PUT", "PATCH"}


class UnsupportedMediaType(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(Parser):
    """JSON as the RFC defines it: Python's parser would accept NaN and Infinity."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_constant=_reject_constant)


class IngestAuth(HttpBearer):
    """Bearer token check: an unknown token is a 401, a token without this endpoint's `scope` a
    403. Also refuses non-JSON bodies (415) once the caller is known."""

    openapi_scheme = "bearer"

    def __init__(self, scope: str = "write"):
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> Any:
        token = super().__call__(request)
        has_body = request.META.get("CONTENT_LENGTH") not in (None, "", "0")
        if token is not None and request.method in BODY_METHODS and has_body:
            content_type = request.content_type or ""
            if content_type != "application/json" and not content_type.endswith("+json"):
                raise UnsupportedMediaType(content_type or "none")
        return token

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        identity = services.ingest_token_authenticate(raw=token)
        if identity is not None and self.scope not in identity.scopes:
            may = " and ".join(sorted(identity.scopes))
            raise Forbidden(f"this token may {may}; this call needs the {self.scope} scope")
        return identity


READ = IngestAuth("read")


api = NinjaAPI(
    title="Mimir Execution Dashboard — ingest API",
    version="1",
    description=(
        "Orchestrators post execution telemetry here. Every call is idempotent: replaying an event "
        "changes nothing and answers success (`replayed: true`); a different payload for an event "
        "already recorded is a 409 naming what differs. Events may arrive in any order. A token may be "
        "limited to plans or execution-id prefixes: a write or read outside them is a 403 naming the field "
        "(`executionId`, `planId`), with nothing written; in a batch, per event."
    ),
    urls_namespace="api-v1",
    auth=IngestAuth(),
    parser=StrictJSONParser(),
    docs_url=None,  # the stock docs page loads from a CDN; the OpenAPI JSON is served as is
)


@functools.cache
def _operations() -> dict[tuple[str, str], str]:
    """(Django route, method) → the operation's name (its handler's), from the OpenAPI document:
    several operations share one route (GET and POST /executions), which Django resolves to one
    URL name."""
    document = api.get_openapi_schema(path_prefix="/api/v1/")
    prefix = f"{__name__.replace('.', '_')}_"
    return {
        (re.sub(r"\{(\w+)\}", r"<\1>", path).lstrip("/"), method.upper()): operation["operationId"].removeprefix(prefix)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def endpoint_name(request: HttpRequest) -> str:
    """The route's name of an answered request, a bounded label for metrics (never the path, which
    holds ids): the API operation's name, `method_not_allowed` for a known route with another
    method, a non-API view's URL name, or `unmatched`."""
    match = request.resolver_match
    if match is None:
        return "unmatched"
    operations = _operations()
    name = operations.get((match.route, request.method))
    if name is not None:
        return name
    if any(route == match.route for route, _ in operations):
        return "method_not_allowed"
    return match.url_name or "unmatched"


def _error(request: HttpRequest, status: int, error: str, detail: str, errors: list | None = None) -> HttpResponse:
    return api.create_response(request, {"error": error, "detail": detail, "errors": errors or []}, status=status)


@api.exception_handler(ValidationError)
def _on_validation_error(request, exc):
    errors = schemas.field_errors(exc.errors, request=True)
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return _error(request, 400, "invalid", f"invalid fields: {fields}", errors)


@api.exception_handler(AuthenticationError)
def _on_auth_error(request, exc):
    response = _error(request, 401, "unauthorized", "send a valid ingest token as `Authorization: Bearer <token>`")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(UnsupportedMediaType)
def _on_media_type(request, exc):
    return _error(request, 415, "unsupported_media_type", f"send JSON (Content-Type: application/json), got {exc}")


@api.exception_handler(RequestDataTooBig)
def _on_too_big(request, exc):
    limit = settings.INGEST_MAX_BODY_BYTES
    return _error(request, 413, "too_large", f"request body is larger than the limit of {limit} bytes")


@api.exception_handler(HttpError)
def _on_http_error(request, exc):
    if exc.status_code == 400:
        errors = [{"field": "body", "message": "is not valid JSON"}]
        return _error(request, 400, "invalid", "the request body is not valid JSON", errors)
    return _error(request, exc.status_code, "error", str(exc))


# The one place where the product's errors become HTTP statuses.
# TooLargeToStore is 413 like a body over INGEST_MAX_BODY_BYTES: the request as sent will never be
# stored, a smaller one will (507 would say the server is out of space, 503 that a retry may help).
_STATUS = {InvalidInput: 400, Forbidden: 403, NotFound: 404, ConflictError: 409, TooLargeToStore: 413}


def _status(exc: ServiceError) -> int:
    return next((status for kind, status in _STATUS.items() if isinstance(exc, kind)), 400)


@api.exception_handler(ServiceError)
def _on_service_error(request, exc):
    return api.create_response(request, exc.as_body(), status=_status(exc))


@api.exception_handler(DatabaseUnavailable)
def _on_unavailable(request, exc):
    # The client may safely retry: every call is idempotent.
    metrics.record_unavailable(reason="busy" if exc.busy else "unreachable")
    if exc.busy:
        logger.warning("Neo4j busy after retries: %s", exc)
        response = _error(request, 503, "busy", "the graph database is busy; retry later")
        response["Retry-After"] = "1"
    else:
        logger.warning("Neo4j unavailable: %s", exc)
        response = _error(request, 503, "unavailable", "the graph database is unreachable; retry later")
        response["Retry-After"] = str(settings.NEO4J_RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(Exception)
def _on_unexpected(request, exc):
    # A bug, or an error Neo4j raised for this request's data: logged with its traceback, answered
    # as JSON without it. Every call is idempotent, so a retry is safe.
    logger.exception("unexpected error on %s %s", request.method, request.path)
    return _error(request, 500, "internal", "an unexpected error; retry later (every call is idempotent)")


Err = {400: schemas.ErrorOut, 401: schemas.ErrorOut, 403: schemas.ErrorOut, 409: schemas.ErrorOut,
       413: schemas.ErrorOut, 415: schemas.ErrorOut, 503: schemas.ErrorOut}


def _body_size(request: HttpRequest) -> int:
    """The request body's length in bytes (Django has checked it against INGEST_MAX_BODY_BYTES)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _limits(request: HttpRequest) -> ExecutionLimits:
    """The authenticated token's limits (executions.limits): writes and reads stay within them."""
    return request.auth.limits


def _answer(result: services.EventResult, *, created_status: int = 201) -> Status:
    """A recorded event is `created_status`, a replay 200."""
    return Status(created_status if result.created else 200, result.data)


@api.put("/plans/{plan_id}", response={200: schemas.PlanOut, **Err}, summary="Create or replace a plan")
def plan_put(request, plan_id: schemas.Identifier, payload: schemas.PlanIn):
    # A plan is a document PUT in place: 200 whether it is new, changed or the same.
    return _answer(services.plan_upsert(plan_id=plan_id, plan=payload, limits=_limits(request)), created_status=200)


@api.post("/executions", response={200: schemas.ExecutionEventOut, 201: schemas.ExecutionEventOut, **Err},
          summary="An execution started")
def execution_start(request, payload: schemas.ExecutionStartIn):
    return _answer(services.execution_start(start=payload, limits=_limits(request)))


@api.post("/executions/{execution_id}/tasks",
          response={200: schemas.TaskResultOut, 201: schemas.TaskResultOut, **Err},
          summary="A task's result (one attempt, with its QC verdict)")
def task_result(request, execution_id: schemas.Identifier, payload: schemas.TaskResultIn):
    return _answer(services.task_result_record(execution_id=execution_id, task_result=payload,
                                               limits=_limits(request), size=_body_size(request)))


@api.post("/executions/{execution_id}/finish",
          response={200: schemas.ExecutionEventOut, 201: schemas.ExecutionEventOut, **Err},
          summary="An execution finished or was cancelled")
def execution_finish(request, execution_id: schemas.Identifier, payload: schemas.ExecutionFinishIn):
    return _answer(services.execution_finish(execution_id=execution_id, finish=payload, limits=_limits(request)))




class BatchIn(Schema):
    events: list[dict[str, Any]] = Field(
        max_length=10_000,
        description="Ordered events, each `{type, ...body}` with `type` one of execution_started, "
        "task_result (with executionId), execution_finished (with executionId) or plan (with planId).",
    )


def _batch_status(item: services.BatchItem) -> int:
    if isinstance(item.answer, ServiceError):
        return _status(item.answer)
    return 200 if item.type == "plan" or not item.answer.created else 201


@api.post("/events", response={200: schemas.BatchOut, **Err}, summary="A batch of events, applied in order")
def events(request, payload: BatchIn):
    batch = services.events_apply(events=payload.events, limits=_limits(request), size=_body_size(request))
    results = [
        {
            "index": item.index,
            "type": item.type,
            "status": _batch_status(item),
            "body": item.answer.as_body() if isinstance(item.answer, ServiceError) else item.answer.data,
        }
        for item in batch.items
    ]
    return Status(200, {"results": results, "transactions": batch.transactions})


# ---------------------------------------------------------------- read API
# GETs with the `read` scope, each a selector (graph.read: reads only) and the JSON it answers. What
# the pages show, tools read here; tests/test_api_read.py compares the two on the same data.

ReadErr = {status: schemas.ErrorOut for status in (400, 401, 403, 503)}
ReadOneErr = {**ReadErr, 404: schemas.ErrorOut}
NoParamsErr = {status: schemas.ErrorOut for status in (401, 403, 503)}


def _found(value: Any, what: str) -> Any:
    if value is None:
        raise NotFound(f"no {what}")
    return value


def _readable(request: HttpRequest, execution_id: str, execution: dict | None) -> None:
    """A limited token reads only executions within its limits (403)."""
    if refusal := _limits(request).read_refusal(execution_id=execution_id, execution=execution):
        raise refusal


def _plan_readable(request: HttpRequest, plan_id: str | None, *, field: str = "plan") -> None:
    """Plan reads and the report span whole plans: a limited token reads them only of its plans."""
    limits = _limits(request)
    if not limits.plan_readable(plan_id):
        what = f"plan {plan_id!r} is not one this token may read" if plan_id else "this read spans every plan"
        raise limits.refuse(field, what)


@api.get("/executions", response={200: schemas_read.ExecutionListOut, **ReadErr}, auth=READ,
         summary="Executions, filtered and ordered as on the list page, a page at a time")
def executions_list(request, query: Query[schemas_read.ExecutionListQuery]):
    """Newest first by first-known time (`firstKnownAt`: the start, or for an execution whose start
    event never arrived, its first attempt's start). `nextCursor` continues after the page's last
    execution, so executions recorded meanwhile never repeat or hide others."""
    page = selectors.execution_page(
        status=query.status, plan_id=query.plan, search=query.q, started_from=query.started_from,
        started_to=query.started_to, start_event=query.start_event, limits=_limits(request), cursor=query.cursor,
        limit=query.limit,
    )
    return {"executions": page["executions"], "nextCursor": page["next_cursor"]}


# Not /executions/compare: that is the URL of an execution whose id is "compare".
@api.get("/compare", response={200: schemas_read.CompareOut, **ReadOneErr}, auth=READ,
         summary="Two executions compared task by task: deltas (b minus a), what got better or worse")
def executions_compare(request, query: Query[schemas_read.CompareQuery]):
    """Every task id either execution ran, with each run's status, attempts, QC score, duration and
    tokens and the deltas; the tasks newly failing, fixed, with a lower or higher QC score, more
    or fewer attempts, more or fewer tokens, and those only in one of them. With `task`, that
    task's output diff. An unknown `a` or `b` (or `task`, in neither) is a 404 naming it."""
    data = selectors.execution_compare(a_id=query.a, b_id=query.b, task_id=query.task)
    for field, execution_id in (("a", query.a), ("b", query.b)):
        _readable(request, execution_id, data[field])
    for field, execution_id in (("a", query.a), ("b", query.b)):
        if data[field] is None:
            raise NotFound(f"no execution {execution_id!r}", errors=[{"field": field, "message": "no such execution"}])
    outputs = data["outputs"]
    if outputs is not None and outputs["a"] is None and outputs["b"] is None:
        raise NotFound(f"no task {query.task!r} in either execution",
                       errors=[{"field": "task", "message": "in neither execution"}])
    tasks = data["tasks"]
    return {
        "a": data["a"],
        "b": data["b"],
        "deltas": data["deltas"],
        "counts": data["counts"],
        "summary": {**{key: [t["taskId"] for t in data["changes"][key]] for key, _ in selectors.COMPARE_CHANGES},
                    "onlyInA": [t["taskId"] for t in data["only_a"]], "onlyInB": [t["taskId"] for t in data["only_b"]]},
        "tasks": tasks,
        "outputDiff": rendering.runs_output_diff(outputs, a_id=query.a, b_id=query.b),
    }


@api.get("/executions/{execution_id}", response={200: schemas_read.ExecutionDetailOut, **ReadOneErr}, auth=READ,
         summary="An execution with its counters and task executions (latest attempt each)")
def execution_get(request, execution_id: schemas.Identifier):
    execution = selectors.execution_get(execution_id=execution_id)
    _readable(request, execution_id, execution)
    return _found(execution, f"execution {execution_id!r}")


@api.get("/executions/{execution_id}/tasks/{task_id}", response={200: schemas_read.TaskDetailOut, **ReadOneErr},
         auth=READ, summary="A task of an execution with every attempt and its QC verdict, newest first")
def task_get(request, execution_id: schemas.Identifier, task_id: schemas.Identifier):
    """Outputs, prompts and errors are whole here (the task page shows bounded heads of them)."""
    task = selectors.task_detail(execution_id=execution_id, task_id=task_id, text_chars=None)
    _readable(request, execution_id, task["execution"] if task else None)
    return _found(task, f"task {task_id!r} in execution {execution_id!r}")


@api.get("/plans", response={200: schemas_read.PlanListOut, **NoParamsErr}, auth=READ,
         summary="Every plan with its run statistics, most recently run first")
def plans_list(request):
    _plan_readable(request, None, field="token")
    return {"plans": selectors.plan_list()}


@api.get("/plans/{plan_id}", response={200: schemas_read.PlanDetailOut, **ReadOneErr}, auth=READ,
         summary="A plan: its tasks (dependencies, parallel groups), run statistics and recent executions")
def plan_get(request, plan_id: schemas.Identifier, query: Query[schemas_read.PlanDetailQuery]):
    _plan_readable(request, plan_id)
    data = _found(selectors.plan_detail(plan_id=plan_id, per_page=query.limit), f"plan {plan_id!r}")
    return {
        "plan": data["plan"],
        "tasks": data["tasks"],
        "parallelGroups": [{"parallelGroup": g["group"], "taskIds": [t["id"] for t in g["tasks"]]}
                           for g in data["parallel_groups"]],
        "stats": data["stats"],
        "cost": data["cost"],
        "executions": data["executions"],
        "moreExecutions": data["has_next"],
    }


@api.get("/plans/{plan_id}/tasks/{task_id}/history", response={200: schemas_read.TaskHistoryOut, **ReadOneErr},
         auth=READ, summary="A task of a plan across the plan's most recent runs, outliers marked")
def plan_task_history(request, plan_id: schemas.Identifier, task_id: schemas.Identifier,
                      query: Query[schemas_read.TaskHistoryQuery]):
    """As on /plans/<planId>/tasks/<taskId>: per run its duration, tokens (every attempt's),
    attempts and QC score, and the fields where it is an outlier of these runs."""
    _plan_readable(request, plan_id)
    data = _found(selectors.task_history(plan_id=plan_id, task_id=task_id, limit=query.n),
                  f"task {task_id!r} in plan {plan_id!r}")
    return {"planId": data["plan"]["planId"], "task": data["task"], "runs": data["runs"],
            "metrics": [{k: m[k] for k in ("field", "median", "low", "high")} for m in data["metrics"]]}


@api.get("/reports/failures", response={200: schemas_read.FailureReportOut, **ReadErr}, auth=READ,
         summary="The failure report's numbers, for the range and plan of the report page")
def failure_report(request, query: Query[schemas_read.FailureReportQuery]):
    """The range is of execution start days (UTC), both ends included, as on /reports/failures: by
    default the last 30 days, at most 731. Unlike the page, an invalid value is a 400, never its default."""
    _plan_readable(request, query.plan)
    filters = report_filters.strict_filters(
        {"started_from": query.started_from, "started_to": query.started_to, "plan": query.plan},
        plans=selectors.plan_options(), today=timezone.now().date(),
    )
    report = selectors.failure_report(**filters.selector_kwargs())
    return {
        "startedFrom": filters.day_from,
        "startedTo": filters.day_to,
        "planId": report["plan_id"],
        "bucket": report["bucket"],
        "hasFailures": report["has_failures"],
        "totals": report["totals"],
        "trend": report["trend"],
        "byTask": report["by_task"],
        "byPlan": report["by_plan"],
        "byError": report["by_error"],
        "qc": {"failedAttempts": report["qc"]["failed_attempts"], "issues": report["qc"]["issues"],
               "requiredFixes": report["qc"]["fixes"]},
        "retried": {"total": report["retried"]["total"], "groupsTotal": report["retried"]["groups_total"],
                    "groups": report["retried"]["groups"]},
        "detailsPrunedBefore": selectors.details_pruned_before(started_from=filters.started_from),
    }
