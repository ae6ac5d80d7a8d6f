"""The read API (v1, JSON) through Django's full stack against the real Neo4j: who may call it, and
that every number a page shows has its JSON twin, compared on the same data."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from neomodel import db

from executions import clock, models, pricing, schemas_read, selectors, services
from executions.cypher import statement
from executions.selectors.executions import TEXT_EXCERPT_CHARS
from executions.templatetags import mimir
from tests.support import failure_report as failure_report_data
from tests.support.graph import cypher
from tests.support.pages import PLAN, T0, result, run, strays

DAY = 86_400_000

RANGE = {"started_from": "2025-11-03", "started_to": "2025-11-06"}  # days 0-3 of failure_report_data

WRITE_CALLS = [
    ("put", "/plans/p", {"title": "P", "tasks": [{"id": "a"}]}),
    ("post", "/executions", {"executionId": "e", "planId": "p", "totalTasks": 1, "startTime": T0}),
    ("post", "/executions/e/tasks", {"taskId": "a", "result": result()}),
    ("post", "/executions/e/finish", {"endTime": T0 + 1}),
    ("post", "/events", {"events": [{"type": "execution_started", "executionId": "e", "planId": "p", "totalTasks": 1,
                                     "startTime": T0}]}),
]


@pytest.fixture
def token_of(db):
    """A token with the given scopes ("read", "write", "read,write")."""

    def create(scopes: str) -> str:
        return services.ingest_token_create(name=f"token-{scopes}", scopes=scopes.split(","))

    return create


def _get(client, path: str, token: str, **params):
    return client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def _send(client, method: str, path: str, body, token: str):
    return getattr(client, method)(f"/api/v1{path}", data=json.dumps(body), content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {token}")


# ---------------------------------------------------------------- scopes


@pytest.mark.parametrize(("method", "path", "body"), WRITE_CALLS, ids=[f"{m} {p}" for m, p, _ in WRITE_CALLS])
def test_a_read_only_token_gets_403_on_every_write_endpoint_and_writes_nothing(client, token_of, method, path, body):
    response = _send(client, method, path, body, token_of("read"))
    assert response.status_code == 403, response.content
    assert response.json() == {"error": "forbidden", "detail": "this token may read; this call needs the write scope",
                               "errors": []}
    assert cypher("MATCH (n) RETURN count(n)") == [[0]]


@pytest.mark.parametrize(("method", "path", "body"), WRITE_CALLS, ids=[f"{m} {p}" for m, p, _ in WRITE_CALLS])
def test_a_write_token_and_a_token_with_both_scopes_may_write(client, token_of, method, path, body):
    for scopes in ("write", "read,write"):
        cypher("MATCH (n) DETACH DELETE n")
        response = _send(client, method, path, body, token_of(scopes))
        assert response.status_code in (200, 201), (scopes, response.content)


def test_a_write_only_token_gets_403_on_a_read(client, token_of, ingest):
    ingest.start("e", "p", 1, T0)
    response = _get(client, "/executions/e", token_of("write"))
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "detail": "this token may write; this call needs the read scope",
                               "errors": []}
    assert _get(client, "/executions/e", token_of("read")).status_code == 200


def test_an_unknown_or_revoked_token_gets_401_on_a_read(client, token_of):
    reader = token_of("read")
    assert _get(client, "/executions/e", reader + "x").status_code == 401
    services.ingest_token_revoke(name="token-read")
    response = _get(client, "/executions/e", reader)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


# ---------------------------------------------------------------- helpers and data


@pytest.fixture
def read(client, token_of):
    """GET /api/v1<path>?<params> with a read-only token; `read.ok(...)` also asserts 200 and answers the JSON."""
    token = token_of("read")

    class Reader:
        def __call__(self, path: str, **params):
            return _get(client, path, token, **params)

        def ok(self, path: str, **params):
            response = self(path, **params)
            assert response.status_code == 200, response.content
            assert response["Content-Type"] == "application/json; charset=utf-8"
            return response.json()

    return Reader()


@pytest.fixture
def dataset(shared_graph, ingest):
    """failure_report_data (e0..e7 over three plans, retries, QC history, a running execution) and two
    executions whose start has not arrived yet (first known when built: the top of the list). Only
    read: built once for the tests in a row that use it."""

    def build():
        failure_report_data.build(ingest)
        for eid in ("late-1", "late-2"):
            response = ingest.task(eid, "extract", result(output="early bird"), task={"id": "extract", "title": "Extract sources"})
            assert response.status_code == 201

    shared_graph.use("api-read", build)


@pytest.fixture
def frozen_clock(monkeypatch):
    """Once the data is written: one `now`, so that elapsed times of running executions agree between
    the page's selector and the API."""

    def freeze():
        now = clock.now_ms()
        monkeypatch.setattr(clock, "now_ms", lambda: now)

    return freeze


def _walk(read, limit: int, **filters) -> list[dict]:
    """Every execution of the list, page after page."""
    executions, cursor, pages = [], None, 0
    while True:
        page = read.ok("/executions", limit=limit, **filters, **({"cursor": cursor} if cursor else {}))
        executions += page["executions"]
        cursor, pages = page["nextCursor"], pages + 1
        assert pages < 100
        if cursor is None:
            return executions


def _ids(executions: list[dict]) -> list[str]:
    return [e["executionId"] for e in executions]


def _selector_kwargs(filters: dict) -> dict:
    day = lambda key: timezone.datetime.fromisoformat(filters[key]).date() if key in filters else None  # noqa: E731
    return {"status": filters.get("status"), "plan_id": filters.get("plan"), "search": filters.get("q"),
            "started_from": day("started_from"), "started_to": day("started_to"), "start_event": filters.get("start_event")}


def _invalid(response, field: str) -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid" and field in body["detail"], body
    messages = [e["message"] for e in body["errors"] if e["field"] == field]
    assert messages, body
    return messages


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# ---------------------------------------------------------------- the list


LIST_FILTERS = [
    {},
    {"status": "failed"},
    {"status": "running"},
    {"plan": "etl"},
    {"plan": "etl", "status": "completed"},
    {"q": "GUIDE"},  # a task title ("Write guide"), any case
    {"q": "LATE"},  # execution ids
    {"q": "early"},  # outputs are not searched
    {"started_from": "2025-11-04", "started_to": "2025-11-05"},
    {"started_to": "2025-11-03"},  # inclusive: day 0 and before
    {"started_from": "2025-11-04", "plan": "docs", "q": "review"},
    {"start_event": "missing"},
    {"start_event": "received", "status": "running"},
    {"status": "", "plan": "", "q": "", "start_event": ""},  # empty fields are unused filters, as the page's form sends them
]


@pytest.mark.parametrize("filters", LIST_FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "none")
def test_the_list_equals_the_list_page_for_the_same_filters(read, signed_in, dataset, frozen_clock, filters):
    frozen_clock()
    used = {k: v for k, v in filters.items() if v}
    expected = selectors.execution_list(**_selector_kwargs(used), per_page=100)["executions"]
    # Small pages: the cursor's walk gives the page's rows, counters and all, in the page's order.
    assert _walk(read, 2, **filters) == expected
    assert read.ok("/executions", **filters) == {"executions": expected, "nextCursor": None}
    html = signed_in.get("/", filters).content.decode()
    assert re.findall(r'<tr class="row-[a-z]+[^"]*" id="execution-([^"]+)"', html) == _ids(expected)


def test_the_list_returns_what_the_filters_select(read, dataset):
    assert _ids(read.ok("/executions")["executions"]) == ["late-2", "late-1", "e7", "e6", "e5", "e4", "e3", "e2", "e1", "e0"]
    assert _ids(read.ok("/executions", status="failed")["executions"]) == ["e7", "e3", "e2", "e1", "e0"]
    assert _ids(read.ok("/executions", plan="docs", status="completed")["executions"]) == ["e4"]
    assert _ids(read.ok("/executions", q="GUIDE")["executions"]) == ["e4", "e3"]
    assert _ids(read.ok("/executions", q="e1")["executions"]) == ["e1"]
    assert _ids(read.ok("/executions", q="Late-")["executions"]) == ["late-2", "late-1"]
    assert _ids(read.ok("/executions", q="docs")["executions"]) == ["e4", "e3"]  # plan ids
    assert _ids(read.ok("/executions", **RANGE, plan="etl")["executions"]) == ["e6", "e2", "e1"]
    assert _ids(read.ok("/executions", started_from="2025-11-05", started_to="2025-11-05")["executions"]) == ["e5", "e4"]
    assert read.ok("/executions", q="no such thing") == {"executions": [], "nextCursor": None}
    e4 = next(e for e in read.ok("/executions", plan="docs")["executions"] if e["executionId"] == "e4")
    assert (e4["status"], e4["tasksSuccessful"], e4["tasksFailed"], e4["tokensTotal"], e4["tasksPending"]) == ("completed", 2, 0, 220, 0)
    assert e4["elapsedMs"] == 3_600_000 and e4["stale"] is False


def test_the_cursor_walk_sees_every_execution_once_while_executions_arrive_between_pages(ingest, read):
    # Ties: three started executions share each first-known time, and an execution without a start
    # event (known from a result alone: placed at its attempt's start) ties with each group too, so
    # pages end between equal keys.
    for i in range(12):
        assert ingest.start(f"s{i:02}", "p", 1, T0 + (i // 3) * 1000).status_code == 201
    for i in range(4):
        assert ingest.task(f"u{i}", "t0", result(timestamp=T0 + i * 1000 + 60_000)).status_code == 201
    before = _ids(selectors.execution_list(per_page=100)["executions"])
    assert len(before) == 16 and before[:6] == ["u3", "s11", "s10", "s09", "u2", "s08"]

    seen, cursor, inserted = [], None, False
    while True:
        page = read.ok("/executions", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += _ids(page["executions"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
        if not inserted and len(seen) >= 6:
            # In the middle of a tie (u2, s08, s07, s06 first known together): a newer start, an
            # older one, a start and a stray tying with the page's last (one each sorting before
            # it, one after), and a stray posted now (first known now: the top of the list).
            assert seen[-1] == "s08"
            for eid, start in (("new-top", T0 + 10_000), ("new-bottom", T0 - 1000), ("s08a", T0 + 2000), ("s07a", T0 + 2000)):
                assert ingest.start(eid, "p", 1, start).status_code == 201
            for eid in ("s08b", "s07b"):
                assert ingest.task(eid, "t0", result(timestamp=T0 + 2000 + 60_000)).status_code == 201
            assert ingest.task("u9", "t0", result()).status_code == 201
            inserted = True
    assert inserted and len(seen) == len(set(seen))
    assert [eid for eid in seen if eid in before] == before
    # What sorts after the cursor is read on a later page; what sorts before it is not.
    assert {"new-bottom", "s07a", "s07b"} <= set(seen)
    assert not {"new-top", "s08a", "s08b", "u9"} & set(seen)
    assert _ids(_walk(read, 3)) == _ids(_walk(read, 100)) == _ids(selectors.execution_list(per_page=100)["executions"])
    assert len(_walk(read, 100)) == 23


@pytest.mark.slow  # 580 executions
def test_it_lists_recent_executions_above_550_stray_ones_posted_before_and_filters_those(read, ingest):
    # Issue #12 item 4: task results posted to mistyped execution ids, each making an execution no
    # start event ever names, filled the first 16 pages of the list.
    stray_ids = strays(ingest, 550, first_at=T0)
    for i in range(30):
        assert ingest.start(f"real-{i:02}", "p", 1, T0 + DAY + i * 1000).status_code == 201
    first = read.ok("/executions")
    assert _ids(first["executions"]) == [f"real-{i:02}" for i in range(29, 4, -1)]
    assert all(e["started"] for e in first["executions"])
    missing = _walk(read, 100, start_event="missing")
    assert _ids(missing) == stray_ids[::-1]
    assert not any(e["started"] for e in missing)
    assert (missing[0]["firstKnownAt"], missing[-1]["firstKnownAt"]) == (T0 + 549_000, T0)
    assert _ids(_walk(read, 7, start_event="received")) == [f"real-{i:02}" for i in range(29, -1, -1)]
    assert _ids(_walk(read, 100)) == [f"real-{i:02}" for i in range(29, -1, -1)] + stray_ids[::-1]
    assert _ids(read.ok("/executions", start_event="missing", q="typo-054")["executions"]) == stray_ids[549:539:-1]
    _invalid(read("/executions", start_event="none"), "start_event")


@pytest.mark.slow  # hundreds of executions
def test_a_page_of_the_list_reads_about_limit_rows_of_the_index_however_deep_the_cursor(ingest, read):
    # Planned first on a tiny graph, as after a fresh start: Neo4j keeps that plan as the graph grows.
    run(ingest, "tiny", tasks=1)
    assert ingest.task("unstarted", "t0", result()).status_code == 201
    assert _ids(read.ok("/executions", limit=1, cursor=read.ok("/executions", limit=1)["nextCursor"])["executions"]) == ["tiny"]
    events = [{"type": "execution_started", "executionId": f"x{i:04}", "planId": "p", "totalTasks": 1, "startTime": T0 + i * 1000}
              for i in range(600)]
    assert ingest.events(events).status_code == 200
    deep = None
    for _ in range(5):
        deep = read.ok("/executions", limit=100, **({"cursor": deep} if deep else {}))["nextCursor"]
    assert deep is not None
    params = {"status": None, "planId": None, "started": None, "fromMs": None, "toMs": None, "q": None,
              "limitPlans": None, "limitPrefixes": None, "limit": 11, "knownMin": 0, "beforeKnown": T0 + 99_000,
              "beforeId": "x0099"}
    with db.driver.session() as session:
        result_ = session.run("PROFILE " + statement("api/execution_page"), params)
        rows = [r["executions"] for r in result_]
        profile = result_.consume().profile
    assert [e["executionId"] for e in rows[0]] == [f"x{i:04}" for i in range(98, 87, -1)]

    def operators(plan):
        yield plan
        for child in plan.get("children", []):
            yield from operators(child)

    plan = "\n".join(f"{op['operatorType']} {op['args'].get('Details', '')[:200]} rows={op.get('rows')}" for op in operators(profile))
    seeks = [op for op in operators(profile) if "firstKnownAt" in op["args"].get("Details", "") and op["operatorType"].startswith("NodeIndexSeek")]
    assert len(seeks) == 1, plan
    # The seek starts at the cursor: 11 rows wanted, a couple more read, never the 500 above it.
    assert seeks[0]["rows"] <= 13, plan
    everything = _ids(selectors.execution_list(per_page=1000)["executions"])
    assert len(everything) == 602 and everything[500:503] == ["x0100", "x0099", "x0098"]
    assert _ids(read.ok("/executions", limit=3, cursor=deep)["executions"]) == everything[500:503]


@pytest.mark.parametrize(
    ("cursor", "why"),
    [("not a cursor!", "not base64 JSON"), (_cursor([1, T0, "e1"]), "the earlier format's"), (_cursor([True, "e1"]), "a boolean key"),
     (_cursor(["T0", "e1"]), "a text key"), (_cursor([T0]), "too short"), (_cursor({"a": 1, "b": 2}), "an object"),
     (_cursor([-5, "e1"]), "a negative key"), (_cursor([T0, ""]), "no id"), (_cursor([T0, 5]), "a number id"), ("x" * 1001, "too long")],
    ids=lambda v: v if " " in v else None,
)
def test_it_answers_400_naming_the_cursor_for_a_cursor_it_did_not_make(read, cursor, why):
    _invalid(read("/executions", cursor=cursor), "cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "done"}, "status"), ({"plan": "bad id"}, "plan"), ({"started_from": "2025-13-01"}, "started_from"),
     ({"started_from": "yesterday"}, "started_from"), ({"started_from": "1763000000"}, "started_from"),
     ({"started_to": "2025-11-05T00:00"}, "started_to"), ({"started_to": "9999-12-31"}, "started_to"), ({"started_from": "1999-12-31"}, "started_from"),
     ({"started_from": "2025-11-06", "started_to": "2025-11-05"}, "started_to"),
     ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "ten"}, "limit"), ({"q": "x" * 201}, "q")],
    ids=lambda v: "&".join(f"{k}={v[k][:12]}" for k in v) if isinstance(v, dict) else None,
)
def test_it_answers_400_naming_a_bad_list_parameter(read, params, field):
    _invalid(read("/executions", **params), field)


# ---------------------------------------------------------------- one execution, one task


def test_an_execution_has_its_counters_and_each_task_its_attempt_count(read, dataset, frozen_clock):
    frozen_clock()
    body = read.ok("/executions/e4")
    assert body == _as_json(selectors.execution_get(execution_id="e4"))
    assert (body["status"], body["tasksSuccessful"], body["tokensTotal"], body["elapsedMs"]) == ("completed", 2, 220, 3_600_000)
    tasks = {t["taskId"]: t for t in body["taskExecutions"]}
    assert {k: (t["attemptCount"], t["attemptNumber"], t["status"]) for k, t in tasks.items()} == {
        "write": (3, 3, "success"), "review": (1, 1, "success")}
    assert body["failedTaskIds"] == [] and read.ok("/executions/e1")["failedTaskIds"] == ["load"]


TEXTS = ("output", "prompt", "error")


def _as_json(value):
    """A selector's reading with each pricing.Cost as the API answers it (schemas_read.CostOut)."""
    if isinstance(value, pricing.Cost):
        return schemas_read.CostOut.model_validate(value).model_dump()
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def _page_reading_as_the_api(page: dict, body: dict, signed_in) -> dict:
    """The task page's reading (selectors.task_detail) checked against the API's answer `body` for
    what the page promises of each long text: the first TEXT_EXCERPT_CHARS characters of the text
    the API answers whole, its size, and the whole text at the attempt's .txt link. Answers the
    page's reading with the whole texts in, and without the sizes, so that the rest compares as is."""
    execution_id, task_id = body["execution"]["executionId"], body["task"]["taskId"]
    for shown, whole in [(page["task"], body["task"]), *zip(page["attempts"], body["attempts"], strict=True)]:
        for field in TEXTS:
            text = whole[field]
            assert shown.pop(f"{field}Chars") == (None if text is None else len(text)), field
            assert shown[field] == (None if text is None else text[:TEXT_EXCERPT_CHARS]), field
            shown[field] = text
            served = signed_in.get(f"/executions/{execution_id}/tasks/{task_id}/attempts/{whole['attemptNumber']}/{field}.txt")
            if text is None:
                assert served.status_code == 404, field
            else:
                assert (served.status_code, served.content.decode()) == (200, text), field
    # The task page's execution is a few fields (no task counters, so no tasksPending to show).
    page["execution"] = {k: page["execution"][k] for k in schemas_read.TaskExecutionContextOut.model_fields}
    return page


def test_a_task_has_every_attempt_newest_first_as_its_page_shows(read, signed_in, dataset, frozen_clock):
    frozen_clock()
    body = read.ok("/executions/e4/tasks/write")
    page = selectors.task_detail(execution_id="e4", task_id="write")
    assert body == _as_json(_page_reading_as_the_api(page, body, signed_in))
    attempts = body["attempts"]
    assert [(a["attemptNumber"], a["source"], a["status"], a["qcPassed"], a["qcScore"]) for a in attempts] == [
        (3, "result", "success", True, 85), (2, "history", "failure", False, 55), (1, "result", "failure", False, 35)]
    assert [(a["tokensTotal"], a["durationMs"], a["hasOutput"], a["previousAttemptNumber"]) for a in attempts] == [
        (100, 60_000, True, 1), (None, None, False, 1), (100, 60_000, True, None)]
    assert (attempts[1]["qcIssues"], attempts[1]["qcRequiredFixes"]) == (["Too short"], ["Expand intro"])
    assert attempts[2]["error"] == 'QC rejected output for "guide.md" (score 35)'
    task = body["task"]
    assert (task["taskTitle"], task["attemptCount"], task["qcScore"], task["tokensTotal"]) == ("Write guide", 3, 85, 100)
    assert (body["execution"]["executionId"], body["execution"]["status"]) == ("e4", "completed")
    html = signed_in.get("/executions/e4/tasks/write").content.decode()
    assert re.findall(r'<article class="card attempt attempt-(\w+)" id="attempt-(\d+)"', html) == [
        (a["status"], str(a["attemptNumber"])) for a in attempts]


def test_a_task_answers_its_texts_whole_where_its_page_shows_their_heads(read, signed_in, ingest, frozen_clock):
    # Longer than the page's head, in letters of more than one byte, so that characters are counted.
    long = {field: (f"{field} ünïcødé line\n" * (TEXT_EXCERPT_CHARS // 10))[: TEXT_EXCERPT_CHARS + 777]
            for field in TEXTS}
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result("failure", attemptNumber=1, output=long["output"], prompt=long["prompt"],
                                 error=long["error"]))
    ingest.task("e", "a", result(attemptNumber=2, output="short", prompt=long["prompt"]))
    frozen_clock()
    body = read.ok("/executions/e/tasks/a")
    assert [(a["output"], a["prompt"], a["error"]) for a in body["attempts"]] == [
        ("short", long["prompt"], None), (long["output"], long["prompt"], long["error"])]
    assert (body["task"]["output"], body["task"]["prompt"]) == ("short", long["prompt"])
    page = selectors.task_detail(execution_id="e", task_id="a")
    assert len(page["attempts"][1]["output"]) == TEXT_EXCERPT_CHARS < len(long["output"])
    assert body == _as_json(_page_reading_as_the_api(page, body, signed_in))


def test_a_task_keeps_its_output_prompt_and_error(read, ingest):
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result("failure", output="draft", error="boom", prompt="Do it", attemptNumber=1))
    ingest.task("e", "a", result(output="final", prompt="Do it better", attemptNumber=2))
    body = read.ok("/executions/e/tasks/a")
    assert [(a["output"], a["error"], a["prompt"]) for a in body["attempts"]] == [("final", None, "Do it better"), ("draft", "boom", "Do it")]
    assert (body["task"]["output"], body["task"]["prompt"], body["task"]["status"]) == ("final", "Do it better", "success")


# ---------------------------------------------------------------- plans


def test_the_plans_equal_the_plans_page(read, signed_in, dataset):
    body = read.ok("/plans")
    assert body == {"plans": selectors.plan_list()}
    plans = {p["planId"]: p for p in body["plans"]}
    assert [p["planId"] for p in body["plans"]] == ["etl", "ops", "docs"]  # most recently run first
    assert {k: (p["stats"]["runs"], p["stats"]["completed"], p["stats"]["failed"], p["stats"]["running"], p["stats"]["successRate"])
            for k, p in plans.items()} == {"etl": (4, 1, 3, 0, 0.25), "docs": (2, 1, 1, 0, 0.5), "ops": (2, 0, 1, 1, 0.0)}
    assert (plans["etl"]["title"], plans["etl"]["registered"], plans["ops"]["registered"]) == ("Nightly ETL", True, False)
    html = signed_in.get("/plans").content.decode()
    for plan in body["plans"]:
        row = re.search(rf'<tr id="plan-{plan["planId"]}">(.*?)</tr>', html, re.S).group(1)
        cells = re.findall(r'<td class="num">([^<]*)', row)
        assert cells[1].strip() == str(plan["stats"]["runs"])
        assert f'<span class="rate">{mimir.percent(plan["stats"]["successRate"])}</span>' in row


def test_a_plan_has_its_tasks_dependencies_parallel_groups_stats_and_recent_executions(read, ingest, frozen_clock):
    assert ingest.plan("build", {**PLAN, "parallelGroups": [{"id": 1, "name": "Design"}, {"id": 2, "name": "Build"}]}).status_code == 200
    for i in range(3):
        run(ingest, f"b{i}", plan_id="build", start=T0 + i * 3_600_000, failed=(1,) if i == 2 else ())
    frozen_clock()
    body = read.ok("/plans/build", limit=2)
    assert body["plan"]["title"] == "Build the API" and body["plan"]["parallelGroups"][1] == {"id": 2, "name": "Build"}
    assert [(t["id"], t["parallelGroup"], t["dependencies"]) for t in body["tasks"]] == [
        ("design", 1, []), ("api", 2, [{"id": "design", "title": "Design the schema"}]),
        ("docs", 2, [{"id": "design", "title": "Design the schema"}])]
    assert body["parallelGroups"] == [{"parallelGroup": 1, "taskIds": ["design"]}, {"parallelGroup": 2, "taskIds": ["api", "docs"]}]
    assert (body["stats"]["runs"], body["stats"]["completed"], body["stats"]["failed"]) == (3, 2, 1)
    page = selectors.plan_detail(plan_id="build", per_page=2)
    assert body["executions"] == _as_json(page["executions"]) and _ids(body["executions"]) == ["b2", "b1"]
    assert body["moreExecutions"] is True and body["stats"] == page["stats"]
    assert read.ok("/plans/build", limit=3)["moreExecutions"] is False
    _invalid(read("/plans/build", limit=0), "limit")


# ---------------------------------------------------------------- the failure report


def _stat(html: str, name: str) -> str:
    return re.search(rf'data-stat="{name}"[^>]*>([^<]*)<', html).group(1)


def test_the_failure_report_equals_the_report_page(read, signed_in, dataset):
    body = read.ok("/reports/failures", **RANGE)
    expected = _as_json(selectors.failure_report(started_from=failure_report_data.at(0),
                                                 started_to=failure_report_data.at(4), plan_id=None))
    assert (body["startedFrom"], body["startedTo"], body["planId"], body["bucket"]) == ("2025-11-03", "2025-11-06", None, "day")
    assert body["totals"] == expected["totals"] and body["trend"] == expected["trend"]
    assert body["byTask"] == expected["by_task"] and body["byPlan"] == expected["by_plan"] and body["byError"] == expected["by_error"]
    assert body["qc"] == {"failedAttempts": expected["qc"]["failed_attempts"], "issues": expected["qc"]["issues"],
                          "requiredFixes": expected["qc"]["fixes"]}
    assert body["retried"] == {"total": expected["retried"]["total"], "groupsTotal": expected["retried"]["groups_total"],
                               "groups": expected["retried"]["groups"]}
    totals = body["totals"]
    assert (totals["tasks"], totals["failedTasks"], totals["finishedExecutions"], totals["failedExecutions"]) == (11, 4, 5, 3)
    assert (totals["reworkTokens"], totals["tokens"], body["retried"]["total"], body["hasFailures"]) == (570, 1140, 2, True)
    # The page renders the same numbers.
    html = signed_in.get("/reports/failures", RANGE).content.decode()
    assert _stat(html, "task-failure-rate") == mimir.percent(totals["taskFailureRate"]) == "36.4%"
    assert _stat(html, "execution-failure-rate") == mimir.percent(totals["executionFailureRate"]) == "60%"
    assert _stat(html, "rework-tokens") == mimir.compact(totals["reworkTokens"])
    assert _stat(html, "retried") == str(body["retried"]["total"])
    rows = re.findall(r'<tr data-bucket="[\d-]+">(.*?)</tr>', html)
    assert [re.findall(r">([^<>]*)</td>", row)[1:4] for row in rows] == [
        [str(b["tasks"]), str(b["failedTasks"]), mimir.percent(b["taskFailureRate"])] for b in body["trend"]]


def test_the_failure_report_of_one_plan_and_its_defaults(read, dataset):
    etl = read.ok("/reports/failures", **RANGE, plan="etl")
    assert etl["planId"] == "etl" and [p["planId"] for p in etl["byPlan"]] == ["etl"]
    assert (etl["totals"]["executions"], etl["totals"]["failedTasks"]) == (3, 2)
    # Without dates: the last 30 days, today included, as on the page.
    today = timezone.now().date()
    default = read.ok("/reports/failures")
    assert (default["startedFrom"], default["startedTo"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    only_end = read.ok("/reports/failures", started_to="2025-11-06")
    assert (only_end["startedFrom"], only_end["totals"]["executions"]) == ("2025-10-08", 7)  # e0..e6
    weekly = read.ok("/reports/failures", started_from="2025-10-01", started_to="2025-12-31")
    assert weekly["bucket"] == "week" and weekly["totals"]["executions"] == 8


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [({"started_from": "2025-02-30"}, "started_from", "calendar date"), ({"started_to": "11/06/2025"}, "started_to", "YYYY-MM-DD"),
     ({"started_from": "2025-11-06", "started_to": "2025-11-05"}, "started_to", "on or after the start date"),
     ({"started_from": "2023-01-01", "started_to": "2025-01-01"}, "started_to", "at most 731 days"),
     ({"plan": "no-such-plan"}, "plan", "valid choice"), ({"plan": "bad id"}, "plan", "pattern"),
     ({"started_to": "9999-12-31"}, "started_to", "between 2000-01-01 and 2199-12-31")],
    ids=lambda v: "&".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else None,
)
def test_it_answers_400_naming_a_bad_report_parameter_instead_of_a_default(read, dataset, params, field, words):
    messages = _invalid(read("/reports/failures", **params), field)
    assert any(words in m for m in messages), messages


# ---------------------------------------------------------------- every read endpoint

READ_CALLS = [("/executions", {}), ("/executions", {"status": "failed", "limit": 2}), ("/executions/e4", {}),
              ("/executions/e4/tasks/write", {}), ("/compare", {"a": "e1", "b": "e4", "task": "load"}),
              ("/plans", {}), ("/plans/etl", {}), ("/plans/etl/tasks/extract/history", {"n": 5}),
              ("/reports/failures", RANGE)]


def test_a_read_token_reads_every_endpoint_and_a_write_only_token_none(client, token_of, dataset):
    reader, writer, both = token_of("read"), token_of("write"), token_of("read,write")
    for path, params in READ_CALLS:
        assert _get(client, path, reader, **params).status_code == 200, path
        assert _get(client, path, both, **params).status_code == 200, path
        refused = _get(client, path, writer, **params)
        assert refused.status_code == 403 and refused.json()["detail"].endswith("needs the read scope"), path
        assert _get(client, path, "mimir_unknown", **params).status_code == 401, path


@pytest.mark.parametrize("path", ["/executions/nope", "/executions/e4/tasks/nope", "/executions/nope/tasks/write", "/plans/nope"])
def test_it_answers_404_json_for_an_unknown_id(read, dataset, path):
    response = read(path)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found" and body["errors"] == [] and "nope" in body["detail"]


@pytest.mark.parametrize(("path", "field"), [("/executions/bad%20id", "execution_id"), ("/executions/e4/tasks/a%20b", "task_id"),
                                             ("/plans/..", "plan_id")])
def test_it_answers_400_naming_a_bad_id_in_the_path(read, path, field):
    _invalid(read(path), field)


def test_reads_write_nothing_and_run_only_statements_neo4j_plans_as_reads(read, dataset, cypher_calls):
    def snapshot():
        return cypher("MATCH (n) OPTIONAL MATCH (n)-[r]->() "
                      "RETURN count(DISTINCT n), count(r), sum(size(keys(n))), max(n.version), max(n.updated)")

    before = snapshot()
    del cypher_calls[:]
    for path, params in READ_CALLS:
        read.ok(path, **params)
    assert snapshot() == before
    assert len(cypher_calls) >= len(READ_CALLS)
    with db.driver.session() as session:
        for query in set(cypher_calls):
            assert "MERGE" not in query and "SET " not in query
            assert session.run("EXPLAIN " + query).consume().query_type == "r", query


# ---------------------------------------------------------------- the OpenAPI document


def test_every_read_endpoint_is_documented_with_its_response_schema_and_errors(client):
    document = client.get("/api/v1/openapi.json").json()
    reads = {path: op["get"] for path, op in document["paths"].items() if "get" in op}
    assert set(reads) == {"/api/v1/executions", "/api/v1/executions/{execution_id}", "/api/v1/executions/{execution_id}/tasks/{task_id}",
                          "/api/v1/compare", "/api/v1/plans", "/api/v1/plans/{plan_id}",
                          "/api/v1/plans/{plan_id}/tasks/{task_id}/history", "/api/v1/reports/failures"}
    for path, operation in reads.items():
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert set(ok) == {"$ref"}, path  # a named schema, not a free-form object
        errors = {"401", "403", "503"} | ({"400"} if operation.get("parameters") else set()) | ({"404"} if "{" in path else set())
        assert errors <= set(operation["responses"]), (path, operation["responses"].keys())
        assert operation["security"] == [{"IngestAuth": []}]
    components = document["components"]["schemas"]
    detail = components["ExecutionDetailOut"]["properties"]
    assert detail["taskExecutions"]["items"] == {"$ref": "#/components/schemas/TaskExecutionOut"}
    assert "attemptCount" in components["TaskExecutionOut"]["required"]
    assert {p["name"] for p in reads["/api/v1/executions"]["parameters"]} == {
        "status", "plan", "q", "started_from", "started_to", "start_event", "cursor", "limit"}
    start_event = next(p for p in reads["/api/v1/executions"]["parameters"] if p["name"] == "start_event")
    assert {"received", "missing"} <= set(re.findall(r'"(received|missing)"', json.dumps(start_event["schema"])))
    assert "whether the start event was received" in components["ExecutionOut"]["properties"]["started"]["description"]


@pytest.mark.parametrize(
    ("schema", "fields"),
    [(schemas_read.ExecutionOut, (*models.OrchestrationExecution.SHOWN_FIELDS, "stale", "elapsedMs", "tasksPending")),
     (schemas_read.TaskExecutionOut, (*models.TaskExecution.SHOWN_FIELDS, "cost")),
     (schemas_read.TaskAttemptOut,
      (*models.TaskAttempt.SHOWN_FIELDS, "hasOutput", "previousAttemptNumber", "pricedModel", "cost")),
     (schemas_read.PlanInfoOut, tuple(f for f in models.Plan.SHOWN_FIELDS if f != "tasks"))],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_each_response_schema_declares_every_field_its_model_shows(schema, fields):
    # A field added to a model must be added to the API's schema (pydantic would drop it silently).
    assert set(schema.model_fields) == set(fields)
