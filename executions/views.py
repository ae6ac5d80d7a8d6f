import hashlib
import ipaddress
import json
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django_htmx.http import HttpResponseStopPolling
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from mimir_dashboard.accounts import client_ip

from . import clock, comparison, depgraph, metrics, rendering, schemas_read, selectors, services
from .charts import execution_timeline, history_charts, row_key, trend_chart
from .exports import write_failure_csv
from .forms import ExecutionFilterForm, TaskHistoryForm
from .rendering import DIFF_MAX_CHARS, DIFF_MAX_LINES, markdown_excerpt, with_output_diffs
from .report_filters import FailureReportForm, ReportFilters
from .selectors.executions import ATTEMPT_TEXT_FIELDS, TEXT_EXCERPT_CHARS
from .templatetags.mimir import compact, duration, task_url


def healthz(request: HttpRequest) -> JsonResponse:
    # Public on purpose (load balancers); it says nothing but up or down.
    neo4j_up = selectors.database_is_up()
    body = {"app": "ok", "neo4j": "ok" if neo4j_up else "unavailable"}
    response = JsonResponse(body, status=200 if neo4j_up else 503)
    if not neo4j_up:
        response["Retry-After"] = str(settings.NEO4J_RETRY_AFTER_SECONDS)
    return response


def _metrics_refusal(request: HttpRequest) -> JsonResponse | None:
    """Why this request may not read /metrics (401, 403), or None: a client within
    METRICS_ALLOWED_IPS, or a bearer token with the read scope and no limits (the metrics span
    every plan)."""
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address) if address else None
    except ValueError:
        ip = None
    if ip is not None and any(ip in network for network in settings.METRICS_ALLOWED_IPS):
        return None
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    identity = services.ingest_token_authenticate(raw=raw) if scheme.lower() == "bearer" and raw else None
    if identity is None:
        detail = ("send an API token with the read scope as `Authorization: Bearer <token>`, "
                  "or scrape from an address in METRICS_ALLOWED_IPS")
        response = JsonResponse({"error": "unauthorized", "detail": detail, "errors": []}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if "read" not in identity.scopes:
        detail = "this token may not read; /metrics needs the read scope"
    elif identity.limits.limited:
        detail = f"this token is limited to {identity.limits.describe()}; /metrics spans every plan"
    else:
        return None
    return JsonResponse({"error": "forbidden", "detail": detail, "errors": [{"field": "token", "message": detail}]},
                        status=403)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus' text exposition of executions.metrics, for a read-scope token or an allowed address."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"error": "method_not_allowed", "detail": "GET /metrics", "errors": []}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    if refusal := _metrics_refusal(request):
        return refusal
    response = HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI for the ingest API. Public, as the OpenAPI document it renders is: it shows nothing
    more, and an orchestrator's developer has an ingest token, not necessarily a dashboard account."""
    return render(request, "api_docs.html", {"openapi_url": reverse("api-v1:openapi-json")})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


# ---------------------------------------------------------------- dashboard pages
# A page and its htmx fragment come from the same template ("page.html#partial").


def _wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap wants the partial; a history restore (back button, cache miss) wants the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(100_000, int(request.GET.get("page", 1))))
    except ValueError:
        return 1


def _render(request: HttpRequest, template: str, partial: str, context: dict, **kwargs) -> HttpResponse:
    name = f"{template}#{partial}" if _wants_fragment(request) else template
    response = render(request, name, context, **kwargs)
    # The same URL answers a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _table_fingerprint(data: dict) -> str:
    """What the list's table shows, in a few bytes: every change to an execution bumps its version;
    staleness comes with time; running durations tick in the browser (data-elapsed-since)."""
    shown = [(e["executionId"], e["version"], e["stale"]) for e in data["executions"]]
    shown.append((data["page"], data["has_next"], data["has_previous"]))
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:32]


@login_required
def execution_list(request: HttpRequest) -> HttpResponse:
    form = ExecutionFilterForm(request.GET)
    data = selectors.execution_list(**form.selector_kwargs(), per_page=25)
    fingerprint = _table_fingerprint(data)
    if request.htmx and request.headers.get("X-Shown-Table") == fingerprint:
        # The table's poll, and nothing it shows has changed: no render, no body.
        return HttpResponse(status=204)
    form.offer_plans(data["plan_ids"])
    context = {**data, "form": form, "filtered": form.is_filtered, "fingerprint": fingerprint}
    return _render(request, "executions/list.html", "table", context)


LIVE_TITLE_CHARS = 200


def _with_links(execution_id: str, tasks: list[dict], bars: list[dict]) -> None:
    # Each task's link is reversed once here, for its table row and its timeline bar (a {% url %}
    # per row and bar was a fifth of a 200-task page's render time).
    urls = {t["taskId"]: task_url(execution_id, t["taskId"]) for t in tasks}
    for item in (*tasks, *bars):
        item["url"] = urls[item["taskId"]]
        item["key"] = row_key(item["taskId"])
        # The live page shows at most LIVE_TITLE_CHARS of a title (the task page has it whole); cut
        # here once, not by a template filter per use (Truncator walks every character).
        title = item.get("taskTitle") or item.get("title") or item["taskId"]
        item["label"] = title if len(title) <= LIVE_TITLE_CHARS else title[: LIVE_TITLE_CHARS - 1] + "…"


def _execution_graph(data: dict) -> dict:
    """The dependency graph of an execution (its plan's tasks, or without a plan its reported
    ones), each reported task linking to its page."""
    execution = data["execution"]
    # The links _with_links made already are reused (a poll makes those of its changed rows only).
    reported = {t["taskId"]: t.get("url") for t in data["tasks"]}

    def url_of(task_id: str) -> str | None:
        if task_id not in reported:
            return None
        return reported[task_id] or task_url(execution["executionId"], task_id)

    return depgraph.build(plan_tasks=data.get("plan_tasks"), tasks=data["tasks"], execution=execution, url_of=url_of)


def _mark_critical(graph: dict, bars: list[dict]) -> None:
    on_path = {c["taskId"] for c in graph["critical"]}
    for bar in bars:
        bar["critical"] = bar["taskId"] in on_path


def _live_context(data: dict) -> dict:
    """The live page's data plus its timeline, dependency graph (with the critical path), each
    task's link, and what its poll asks with."""
    execution = data["execution"]
    data["timeline"] = execution_timeline(execution, data["tasks"], clock.now_ms())
    _with_links(execution["executionId"], data["tasks"], data["timeline"]["rows"])
    data["graph"] = _execution_graph(data)
    _mark_critical(data["graph"], data["timeline"]["rows"])
    data["poll"] = {"version": execution["version"], "running": execution["status"] == "running",
                    "layout": data["graph"]["layout"]}
    return data


def _changes_context(data: dict, current: dict, since: int, seen_layout: str) -> dict:
    """What a poll that saw a new version sends: the header, and the task rows and timeline bars
    that changed after version `since`, each to be inserted after the row (bar) it follows in the
    page's order. The page drops its old copy of a row it is sent (static/js/app.js): a row sent is
    in its place, whether the page had it or not.

    Every other row is on the page already, and in its place: it has not changed since `since`.
    The page of version `since` had no table (no timeline) when none of the task executions had
    appeared by then: the whole card is sent instead. The poll goes on with `current`, the version
    read before the rows: a write committed after that read is in these rows or in the next poll's.
    """
    execution, tasks = data["execution"], data["tasks"]
    timeline = execution_timeline(execution, tasks, clock.now_ms())
    changed = {t["taskId"] for t in tasks if t.get("changed")}
    _with_links(execution["executionId"], [t for t in tasks if t.get("changed")],
                [r for r in timeline["rows"] if r["taskId"] in changed])

    def placed(items: list[dict]) -> list[dict]:
        """The changed ones of `items` (in order), each with the key of the one before it (None: first)."""
        out, before = [], None
        for item in items:
            if item["taskId"] in changed:
                out.append({**item, "after": before})
            before = row_key(item["taskId"])
        return out

    first_versions = {t["taskId"]: t.get("firstVersion") for t in tasks}

    def shown_then(task_id: str) -> bool:
        first = first_versions[task_id]
        return first is None or first <= since  # None: written before firstVersion was kept

    graph = _execution_graph(data)
    changed_bars = placed(timeline["rows"])
    _mark_critical(graph, changed_bars)
    return {
        **_graph_changes(graph, changed, seen_layout=seen_layout, running=current["status"] == "running"),
        "execution": execution,
        "tasks": tasks,  # the whole table, when the page had none (then every row has changed)
        "timeline": timeline,
        "poll": {"version": current["version"], "running": current["status"] == "running",
                 "layout": graph["layout"]},
        "had_rows": any(shown_then(t["taskId"]) for t in tasks),
        "had_bars": any(shown_then(r["taskId"]) for r in timeline["rows"]),
        "changed_rows": placed(tasks),
        "changed_bars": changed_bars,
    }


def _graph_changes(graph: dict, changed: set[str], *, seen_layout: str, running: bool) -> dict:
    """The graph's part of a poll: the nodes whose status may have moved (the tasks that changed
    and those depending on them, which a finished dependency starts; by parallel group or depth,
    the groups holding them), swapped in their places, when the page's graph was drawn with the
    same layout (`seen_layout`, which the poll sends back: a task outside the plan, a new group or
    a changed one move nodes); else the whole graph card. A finished execution's card is sent
    whole too: its tasks not reported are no longer running."""
    if graph["mode"] not in ("graph", "groups") or seen_layout != graph["layout"] or not running:
        return {"graph": graph, "graph_whole": True}
    moved = changed | {t for t, deps in graph["deps"].items() if any(d in changed for d in deps)}
    if graph["mode"] == "groups":
        groups = {graph["group_of"][t] for t in moved if t in graph["group_of"]}
        return {"graph": graph, "graph_whole": False,
                "changed_groups": [g for g in graph["nodes"] if g["group"] in groups]}
    return {"graph": graph, "graph_whole": False, "changed_nodes": [n for n in graph["nodes"] if n["taskId"] in moved]}


@login_required
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    data = selectors.execution_detail(execution_id=execution_id)
    if data is None:
        raise Http404("no such execution")
    return _render(request, "executions/detail.html", "live", _live_context(data))


@login_required
def execution_poll(request: HttpRequest, execution_id: str) -> HttpResponse:
    """The live page's poll: 204 while the version it has is current (286, stop polling, once the
    execution has finished), else what changed since that version, as out-of-band swaps (a few
    kilobytes for a change of one task, whatever the number of tasks), and the poll element again
    with the current version (without a trigger once the execution has finished)."""
    current = selectors.execution_version(execution_id=execution_id)
    if current is None:
        raise Http404("no such execution")
    seen = request.GET.get("version", "")
    if seen == str(current["version"]):
        if current["status"] != "running":
            return HttpResponseStopPolling()
        return HttpResponse(status=204)
    # A version this execution never had (none, garbage, or one from before the graph was rebuilt)
    # has the page start over: everything is sent.
    since = int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 19 else -1
    if since >= current["version"]:
        since = -1
    data = selectors.execution_changes(execution_id=execution_id, since=since)
    if data is None:
        raise Http404("no such execution")
    context = _changes_context(data, current, since, request.GET.get("layout", ""))
    return render(request, "executions/detail.html#changes", context)


COMPARE_PATH_ID = "compare"


def _compare_query(request: HttpRequest) -> tuple[schemas_read.CompareQuery | None, dict[str, str]]:
    """The compare page's `a`, `b` and `task`, checked as the read API checks them, or why not
    ({parameter: message}, worded for the page)."""
    try:
        return schemas_read.CompareQuery.model_validate(request.GET.dict()), {}
    except ValidationError as exc:
        problems = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "a"
            if error["type"] == "missing":
                problems[field] = "choose an execution"
            elif error["type"] == "value_error":
                problems[field] = error["msg"].removeprefix("Value error, ")
            else:
                problems[field] = "is not an id (1 to 200 printable characters, no white space or /)"
        return None, problems


def _compare_refused(request: HttpRequest, problems: dict[str, str], *, status: int) -> HttpResponse:
    """The compare page saying what is wrong with its parameters, with the form to fix them."""
    context = {"problems": problems, "a_id": request.GET.get("a", ""), "b_id": request.GET.get("b", "")}
    return render(request, "executions/compare.html", context, status=status)


@login_required
def execution_compare(request: HttpRequest) -> HttpResponse:
    """Two executions task by task (`?a=&b=`, deltas b minus a); with `task`, that task's output
    diff too, or for htmx that diff alone (the `output_diff` partial)."""
    query, problems = _compare_query(request)
    if query is None:
        if not request.GET:
            # The URL an execution whose id is "compare" would have had: its page, if it exists.
            data = selectors.execution_detail(execution_id=COMPARE_PATH_ID)
            if data is not None:
                return _render(request, "executions/detail.html", "live", _live_context(data))
        return _compare_refused(request, problems, status=400)
    if query.task and _wants_fragment(request):
        read = selectors.compare_outputs(a_id=query.a, b_id=query.b, task_id=query.task)
        found = {"a": read["a_found"], "b": read["b_found"]}
        outputs = read["outputs"]
    else:
        data = selectors.execution_compare(a_id=query.a, b_id=query.b, task_id=query.task)
        found = {"a": data["a"] is not None, "b": data["b"] is not None}
        outputs = data["outputs"]
    missing = {field: "no such execution" for field in ("a", "b") if not found[field]}
    if missing:
        return _compare_refused(request, missing, status=404)
    context = {"a_id": query.a, "b_id": query.b, "task_id": query.task, "outputs": outputs,
               "diff": rendering.runs_output_diff(outputs, a_id=query.a, b_id=query.b)}
    if query.task and _wants_fragment(request):
        response = render(request, "executions/compare.html#output_diff", context)
    else:
        response = render(request, "executions/compare.html", {**data, **context, **_compare_rows(data)})
    patch_vary_headers(response, ("HX-Request",))
    return response


def _compare_rows(data: dict) -> dict:
    """Each task's link (its page in b, or in a when it ran only there), label and table row
    (comparison.task_row), and the summary's sections, for the page."""
    a_id, b_id = data["a"]["executionId"], data["b"]["executionId"]
    diff_query = f"?a={quote(a_id, safe='')}&b={quote(b_id, safe='')}"
    a_url, b_url = comparison.task_urls(a_id), comparison.task_urls(b_id)
    for task in data["tasks"]:
        task["key"] = row_key(task["taskId"])
        task["url"] = b_url(task["taskId"]) if task["b"] else a_url(task["taskId"])
        task["label"] = comparison.label(task)
        task["row"] = comparison.task_row(task, diff_query=diff_query)
    lists = [(key, direction, COMPARE_LABELS[key], data["changes"][key])
             for key, direction in selectors.COMPARE_CHANGES]
    lists += [("onlyInA", "neutral", "Only in a", data["only_a"]), ("onlyInB", "neutral", "Only in b", data["only_b"])]
    sections = [{"key": key, "direction": direction, "label": label, "count": len(tasks),
                 "more": max(0, len(tasks) - comparison.SUMMARY_TASKS),
                 "items": [comparison.summary_item(key, t) for t in tasks[: comparison.SUMMARY_TASKS]]}
                for key, direction, label, tasks in lists]
    return {"sections": sections}


# The summary's sections, in the words of the page.
COMPARE_LABELS = {
    "newlyFailing": "Newly failing", "fixed": "Fixed", "qcDown": "QC score down", "qcUp": "QC score up",
    "moreAttempts": "More attempts", "fewerAttempts": "Fewer attempts", "tokensUp": "Tokens up",
    "tokensDown": "Tokens down",
}


@login_required
def task_detail(request: HttpRequest, execution_id: str, task_id: str) -> HttpResponse:
    data = selectors.task_detail(execution_id=execution_id, task_id=task_id)
    if data is None:
        raise Http404("no such task")
    # Each output is rendered from a bounded head, once per process (rendering caches it).
    task = data["task"]
    task["outputView"] = markdown_excerpt(task.get("output"), task.get("outputChars"))
    for attempt in data["attempts"][1:]:  # the latest attempt's output is the task's, shown above
        if attempt["hasOutput"]:
            attempt["outputView"] = markdown_excerpt(attempt.get("output"), attempt.get("outputChars"))
    with_output_diffs(data["attempts"])
    data["limits"] = {"excerpt_chars": TEXT_EXCERPT_CHARS, "diff_lines": DIFF_MAX_LINES, "diff_chars": DIFF_MAX_CHARS}
    return render(request, "executions/task.html", data)


@login_required
def attempt_text(
    request: HttpRequest, execution_id: str, task_id: str, attempt_number: int, field: str
) -> HttpResponse:
    """The whole output, prompt or error of an attempt as plain text: the task page shows bounded
    heads of them and links here."""
    if field not in ATTEMPT_TEXT_FIELDS:
        raise Http404("no such text")
    text = selectors.attempt_text(
        execution_id=execution_id, task_id=task_id, attempt_number=attempt_number, field=field
    )
    if text is None:
        raise Http404("no such text")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    # Never sniffed into HTML, whatever the text holds; shown in the tab, saved under a telling name.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = content_disposition_header(
        False, f"{task_id}-attempt-{attempt_number}-{field}.txt"
    )
    return response


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(request, "executions/plans.html", {"plans": selectors.plan_list()})


@login_required
def plan_detail(request: HttpRequest, plan_id: str) -> HttpResponse:
    data = selectors.plan_detail(plan_id=plan_id, page=_page_number(request))
    if data is None:
        raise Http404("no such plan")
    if not _wants_fragment(request):  # the history's pager swaps only its own partial
        definitions = [{**t, "dependencies": [d["id"] for d in t["dependencies"]]} for t in data["tasks"]]
        # Each node links to its task's row below (id="task-<id>").
        data["graph"] = depgraph.build(plan_tasks=definitions, tasks=[], execution=None,
                                       url_of=lambda task_id: f"#task-{task_id}")
    return _render(request, "executions/plan.html", "history", data)


def _number(value: float) -> str:
    return f"{round(float(value), 1):g}"  # medians and bounds are floats: 1.0 → "1", 1.39878 → "1.4"


@login_required
def plan_task_history(request: HttpRequest, plan_id: str, task_id: str) -> HttpResponse:
    """A task of a plan across the plan's recent runs (`?n=`, default HISTORY_DEFAULT_RUNS): charts
    and a table of duration, tokens, attempts and QC score, outliers marked."""
    form = TaskHistoryForm(request.GET, max_runs=selectors.HISTORY_MAX_RUNS,
                           default_runs=selectors.HISTORY_DEFAULT_RUNS)
    if not form.is_valid():
        return render(request, "executions/task_history.html",
                      {"form": form, "plan_id": plan_id, "task_id": task_id}, status=400)
    limit = form.cleaned_data["n"] or selectors.HISTORY_DEFAULT_RUNS
    data = selectors.task_history(plan_id=plan_id, task_id=task_id, limit=limit)
    if data is None:
        raise Http404("no such task in this plan")
    formats = {"durationMs": duration, "tokensTotal": compact, "attemptCount": _number, "qcScore": _number}
    data["charts"] = history_charts(data["runs"], data["metrics"], formats)
    return render(request, "executions/task_history.html",
                  {**data, "form": form, "plan_id": plan_id, "task_id": task_id, "n": limit})


# ---------------------------------------------------------------- failure report


def _failure_report_filters(request: HttpRequest) -> tuple[FailureReportForm, ReportFilters]:
    form = FailureReportForm(request.GET, plans=selectors.plan_options(), today=clock.today())
    return form, form.filters()


@login_required
def failure_report(request: HttpRequest) -> HttpResponse:
    form, filters = _failure_report_filters(request)
    report = selectors.failure_report(**filters.selector_kwargs())
    context = {
        "details_pruned_before": selectors.details_pruned_before(started_from=filters.started_from),
        "form": form,
        "fields": form.showing(filters),
        "filters": filters,
        "report": report,
        "chart": trend_chart(report["trend"], report["bucket"]),
        "querystring": filters.querystring(),
    }
    fragment = request.htmx and not request.htmx.history_restore_request
    name = "executions/failure_report.html#report" if fragment else "executions/failure_report.html"
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# The CSV's rows of failed tasks in executions first known before this UTC day were pruned.
PRUNED_HEADER = "X-Details-Pruned-Before"


@login_required
def failure_report_csv(request: HttpRequest) -> HttpResponse:
    _, filters = _failure_report_filters(request)
    rows = selectors.failure_rows(**filters.selector_kwargs())
    name = f"failures-{filters.day_from.isoformat()}-{filters.day_to.isoformat()}"
    if filters.plan_id:
        name += "-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in filters.plan_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    pruned = selectors.details_pruned_before(started_from=filters.started_from)
    if pruned:  # in a header, so that the file stays rows a spreadsheet reads as they are
        response[PRUNED_HEADER] = pruned.isoformat()
    write_failure_csv(response, rows)
    return response

