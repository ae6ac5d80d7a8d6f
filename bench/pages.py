"""Pages at scale: the dashboard's pages over a graph of 10,000 executions and 200,000 task executions.

  1. Seeds the graph THROUGH the batch endpoint (POST /api/v1/events): several plans, then each
     execution's start + task results (+ retries) + finish grouped together, a few executions per
     request (~--batch-events events), --clients concurrent clients. ~10 % of the executions fail
     (1-3 failed tasks with errors and QC issues), ~3 % of the tasks are retried (attempt 1 fails QC,
     attempt 2 passes), start times are spread over the last 60 days, all finished except a few
     running ones. One extra execution ("pg-big", running) has 200 tasks, for the execution page.
  2. Measures each page: median and p95 of --requests sequential GETs after --warmup warm-up GETs,
     as the client-observed latency over loopback (127.0.0.1, one keep-alive connection and a C
     response parser: harness.LeanGets, since a requests.Session would take about 2 ms of the two
     cores per GET). That is server time plus loopback HTTP overhead; no product middleware is added.
  3. Measures the live poll fragment once after ~1,000 task executions are stored (the first seeding
     phase) and again after the full seed: it must not grow with history.
  4. Reads the RSS of each gunicorn worker (/proc/<pid>/status VmRSS) and Neo4j's heap
     (`jcmd <pid> GC.heap_info`, else the JVM's RSS).
  5. Prints a markdown table with the targets; `--write docs/benchmarks.md` adds/replaces the
     "Pages at scale" section.

    .venv/bin/python bench/pages.py                                  # 10,000 x 20 (+1 x 200), ~minutes to seed
    .venv/bin/python bench/pages.py --executions 300 --requests 20   # smoke run
    .venv/bin/python bench/pages.py --skip-seed                      # reuse var/bench-pages-neo4j as seeded before
    .venv/bin/python bench/pages.py --write docs/benchmarks.md

`--cost` measures instead the pages that used to cost seconds (issue #12), on a small fresh graph:
a task whose output is 500 KB of `![` (quadratic for markdown-it-py), a task with two 4 MB outputs
and a 1 MB prompt and error, and a running execution of 1,000 tasks with 2,000-character titles (its page, and
a poll after one change). `--baseline REV` serves the same graph, in the same run, with the app as
it was at REV (`git archive`, into var/bench-baseline; same venv) beside the current one, so that
before and after are measured under the same load:

    .venv/bin/python bench/pages.py --cost --baseline 35e6055~1 --write docs/benchmarks.md

`--graph` measures the execution page with its dependency graph on a small fresh graph: a plan of
200 and one of 2,000 tasks with dependencies, a running execution of each (60 % reported): the page's
first views (the layout by dot, once per worker), its median and p95, and a poll after one change;
with `--baseline REV`, of both apps at once, their GETs alternating in rounds:

    .venv/bin/python bench/pages.py --graph --baseline main --write docs/benchmarks.md

`--compare` measures the compare page (two executions side by side) on a small fresh graph: a plan
of 200 tasks and `--compare-runs` finished runs of it, the last two compared: the page, the page with
one task's output diff, the diff alone (htmx), the read API's twin, and the execution page of the
later run (which looks its previous run up):

    .venv/bin/python bench/pages.py --compare --write docs/benchmarks.md

`--growth SMALL,LARGE` seeds SMALL executions, measures the list, the execution page, the poll and the
failure report over 30, 60 and 90 days, seeds on to LARGE over the same days and measures again, in one
run: whether the pages stay flat as history grows (issue #15's targets at 1,000,000 task executions):

    .venv/bin/python bench/pages.py --growth 10000,50000 --write docs/benchmarks.md   # 200k then 1M
    .venv/bin/python bench/pages.py --growth 200,1000 --requests 10                   # smoke run

`--renderers` times the markdown renderers alone (CPU time, no server): markdown-it-py (before, if
installed) and the page's pipeline on pathological and normal markdown of `MARKDOWN_MAX_CHARS`.

Neo4j on 127.0.0.1:--neo4j-port (default 7697, data in var/bench-pages-neo4j, kept after the run so
--skip-seed can reuse it), gunicorn on 127.0.0.1:--app-port (default 8097).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from executions import clock

NAME = "pages"
BIG = "pg-big"
BIG_TASKS = 200
DAY_MS = 86_400_000
PLANS = 6
RUNNING = 5  # the most recent executions, still running
META_FILE = harness.REPO / "var" / "bench-pages-seed.json"

TITLE_WORDS = ["Design schema", "Write migration", "Implement API", "Review code", "Write tests", "Update docs",
               "Deploy staging", "Run load test", "Fix lint", "Refactor module", "Profile query", "Audit security"]
ERRORS = ["TimeoutError: tool call exceeded {n} s", "QC rejected the output (score {n})",
          "AssertionError: expected {n} rows", "HTTP 502 from upstream after {n} retries",
          "KeyError: 'field_{n}'"]
QC_ISSUES = ["missing tests", "no error handling", "docs not updated", "style violations", "wrong file modified"]
FIXES = ["add unit tests", "handle the timeout", "update the README", "run the formatter"]

TARGETS_MS = {"list": 100, "detail": 100, "poll": 15, "report": 1000}


# ---------------------------------------------------------------- workload


def plan_events(tasks_per_execution: int) -> list[dict]:
    events = []
    for p in range(PLANS):
        n = BIG_TASKS if p == 0 else tasks_per_execution
        tasks = [{"id": f"t{t:03d}", "title": f"{TITLE_WORDS[(t + p) % len(TITLE_WORDS)]} #{t}",
                  "parallelGroup": t // 4, "dependencies": [f"t{t - 1:03d}"] if t % 4 == 0 and t else []}
                 for t in range(n)]
        events.append({"type": "plan", "planId": f"pg-plan-{p}", "title": f"Bench plan {p}",
                       "description": "seeded by bench/pages.py", "tasks": tasks})
    return events


def execution_events(eid: str, plan: int, ntasks: int, start: int, rng: random.Random, *,
                     failing: bool, finished: bool) -> tuple[list[dict], int]:
    """start + task results (retries as two results) + finish; returns (events, task executions)."""
    events = [{"type": "execution_started", "executionId": eid, "planId": f"pg-plan-{plan}",
               "totalTasks": ntasks, "startTime": start}]
    failed = set(rng.sample(range(ntasks), rng.randint(1, min(3, ntasks)))) if failing else set()
    at_ms = start
    for t in range(ntasks):
        task_id = f"t{t:03d}"
        definition = {"id": task_id, "title": f"{TITLE_WORDS[(t + plan) % len(TITLE_WORDS)]} #{t}",
                      "parallelGroup": t // 4}
        attempts = 2 if (t not in failed and rng.random() < 0.03) else 1
        for number in range(1, attempts + 1):
            duration = rng.randint(2_000, 120_000)
            at_ms += duration + rng.randint(0, 5_000)
            fail = t in failed or number < attempts
            tin, tout = rng.randint(200, 6000), rng.randint(50, 2500)
            n = rng.randint(1, 9)
            result = {
                "status": "failure" if fail else "success",
                "output": f"attempt {number} of {task_id}: " + "".join(rng.choice("abcdefghij \n") for _ in range(rng.randint(120, 320))),
                "error": ERRORS[rng.randrange(len(ERRORS))].format(n=n) if fail else None,
                "duration": duration,
                "tokens": {"input": tin, "output": tout},
                "toolCalls": rng.randint(0, 15),
                "attemptNumber": number,
                "timestamp": at_ms,
                "qcVerification": {
                    "passed": not fail, "score": rng.randint(10, 55) if fail else rng.randint(70, 100),
                    "feedback": "needs work" if fail else "ok",
                    "issues": rng.sample(QC_ISSUES, rng.randint(1, 2)) if fail else [],
                    "requiredFixes": rng.sample(FIXES, 1) if fail else [],
                },
            }
            events.append({"type": "task_result", "executionId": eid, "taskId": task_id, "task": definition,
                           "result": result})
    if finished:
        events.append({"type": "execution_finished", "executionId": eid, "endTime": at_ms + rng.randint(100, 5_000)})
    return events, ntasks


@dataclass
class Seeded:
    requests: int = 0
    events: int = 0
    tasks: int = 0
    executions: int = 0
    seconds: float = 0.0
    errors: int = 0
    retried: int = 0
    latencies: list = None


SEED_RETRIES_503 = 5


def post_batches(app: harness.AppServer, batches: list[list[dict]], tasks: list[int], clients: int,
                 max_seconds: float) -> Seeded:
    import requests

    local = threading.local()
    deadline = time.monotonic() + max_seconds
    lock = threading.Lock()
    out = Seeded(latencies=[])
    errors: list[str] = []

    def session():
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers.update({"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"})
        return local.s

    def post(i: int) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError("seeding exceeded --max-seconds")
        body = json.dumps({"events": batches[i]})
        t0 = time.perf_counter()
        # As an orchestrator does: a 503 (the graph busy, e.g. while a cold JVM compiles) is sent
        # again after its Retry-After; the batch is idempotent, so that is safe.
        for _ in range(SEED_RETRIES_503):
            r = session().post(app.url + "/api/v1/events", data=body, timeout=300)
            if r.status_code != 503:
                break
            with lock:
                out.retried += 1
            time.sleep(float(r.headers.get("Retry-After", "1")))
        dt = time.perf_counter() - t0
        bad = [] if r.status_code != 200 else [x for x in r.json()["results"] if x["status"] >= 300]
        with lock:
            out.latencies.append(dt)
            out.requests += 1
            out.events += len(batches[i])
            out.executions += sum(1 for e in batches[i] if e["type"] == "execution_started")
            out.tasks += tasks[i]
            if r.status_code != 200 or bad:
                out.errors += 1 if r.status_code != 200 else len(bad)
                if len(errors) < 5:
                    errors.append(f"HTTP {r.status_code}: {(bad[:1] or r.text[:300])}")

    t0 = time.perf_counter()
    last_log = t0
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(post, i) for i in range(len(batches))]
        for done, future in enumerate(as_completed(futures), 1):
            future.result()
            if time.perf_counter() - last_log > 30:
                last_log = time.perf_counter()
                rate = out.tasks / (last_log - t0)
                harness.log(f"  {done}/{len(batches)} requests, {out.tasks} task executions, {rate:.0f}/s")
    out.seconds = time.perf_counter() - t0
    for e in errors:
        harness.log(f"  seeding error: {e}")
    return out


def build_batches(executions: list[list[dict]], ntasks: list[int], batch_events: int) -> tuple[list[list[dict]], list[int]]:
    """Whole executions per request, about `batch_events` events each."""
    batches, counts, cur, cur_tasks = [], [], [], 0
    for events, n in zip(executions, ntasks, strict=True):
        if cur and len(cur) + len(events) > batch_events:
            batches.append(cur), counts.append(cur_tasks)
            cur, cur_tasks = [], 0
        cur.extend(events)
        cur_tasks += n
    if cur:
        batches.append(cur), counts.append(cur_tasks)
    return batches, counts


def workload(args, rng: random.Random, t_now: int) -> tuple[list, list, list, list]:
    """(phase-1 executions, their task counts, phase-2 executions, their task counts)."""
    span = args.days * DAY_MS
    execs, counts = [], []
    big, n = execution_events(BIG, 0, BIG_TASKS, t_now - 3 * 3_600_000, rng, failing=True, finished=False)
    execs.append(big), counts.append(n)
    for i in range(args.executions):
        running = i < RUNNING
        start = t_now - rng.randint(60_000, 600_000) if running else t_now - rng.randint(3_600_000, span - 3_600_000)
        ev, n = execution_events(f"pg-e{i:05d}", 1 + i % (PLANS - 1), args.tasks_per_execution, start, rng,
                                 failing=rng.random() < 0.10, finished=not running)
        execs.append(ev), counts.append(n)
    # Phase 1: the big execution and enough others for ~1,000 task executions.
    first = 1 + max(0, (args.phase1_tasks - BIG_TASKS) // max(1, args.tasks_per_execution))
    return execs[:first], counts[:first], execs[first:], counts[first:]


def seed(app, args, phase_execs, phase_counts, label: str) -> Seeded:
    batches, counts = build_batches(phase_execs, phase_counts, args.batch_events)
    harness.log(f"seeding {label}: {len(phase_execs)} executions, {sum(phase_counts)} task executions, "
                f"{len(batches)} requests, {args.clients} clients ...")
    s = post_batches(app, batches, counts, args.clients, args.max_seconds)
    harness.log(f"  done in {s.seconds:.1f} s: {s.tasks / s.seconds:.0f} task executions/s, "
                f"{s.events / s.seconds:.0f} events/s, {s.errors} errors")
    return s


# ---------------------------------------------------------------- measuring


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(session, url: str, n: int, warmup: int, expect: tuple[int, ...] = (200,), headers=None) -> dict:
    """Median, p95 and max ms of `n` sequential GETs of `url` after `warmup` more, with the cookies of
    `session` (a requests.Session, signed in or not) and `headers`, redirects not followed. Sent by
    harness.LeanGets: a requests.Session costs about 2 ms of the machine's two cores per GET, and
    the app's cheapest answers (the poll's 204) take about as long themselves."""
    parts = urlsplit(url)
    client = harness.LeanGets(f"{parts.scheme}://{parts.netloc}", session)
    request = client.encode(parts.path + (f"?{parts.query}" if parts.query else ""), headers)
    times, sizes = [], []
    try:
        for i in range(warmup + n):
            t0 = time.perf_counter()
            status, body = client.get(request)
            dt = (time.perf_counter() - t0) * 1000
            if status not in expect:
                raise RuntimeError(f"GET {url}: HTTP {status}, expected {expect}: {body[:300]!r}")
            if i >= warmup:
                times.append(dt)
                sizes.append(len(body))
    finally:
        client.close()
    return {"median": statistics.median(times), "p95": pct(times, 0.95), "max": max(times), "n": n,
            "bytes": int(statistics.median(sizes)), "status": status, "times": times}


def current_version(session, base: str, eid: str) -> int:
    r = session.get(f"{base}/executions/{eid}", timeout=60)
    r.raise_for_status()
    match = re.search(r'data-version="(\d+)"', r.text)
    if not match:
        raise RuntimeError("no version=<n> in the execution page (poll URL not found)")
    return int(match.group(1))


def layout_param(page: str) -> str:
    """The `&layout=` the page's poll sends (its dependency graph's layout), as a browser's would."""
    match = re.search(r"layout=(\w+)", page)
    return f"&layout={match.group(1)}" if match else ""


def measure_poll(session, base: str, args, warmup: int | None = None) -> dict:
    v = current_version(session, base, BIG)
    layout = layout_param(session.get(f"{base}/executions/{BIG}", timeout=60).text)
    hx = {"HX-Request": "true"}
    w = args.warmup if warmup is None else warmup
    return {
        "unchanged": measure(session, f"{base}/executions/{BIG}/poll?version={v}", args.requests, w, (204,), hx),
        "changed": measure(session, f"{base}/executions/{BIG}/poll?version={v - 1}{layout}", args.requests, w, (200,), hx),
    }


def graph_counts(bolt_url: str) -> dict:
    drv = harness.driver(bolt_url, max_pool=2)
    try:
        with drv.session() as s:
            rec = s.run("MATCH (e:OrchestrationExecution) WITH count(e) AS e "
                        "MATCH (t:TaskExecution) WITH e, count(t) AS t "
                        "MATCH (a:TaskAttempt) RETURN e, t, count(a) AS a").single()
            return {"executions": rec["e"], "tasks": rec["t"], "attempts": rec["a"]}
    finally:
        drv.close()


# ---------------------------------------------------------------- memory


def vmrss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(out)


def neo4j_heap(pid: int) -> str:
    jcmd = shutil.which("jcmd")
    if jcmd:
        try:
            text = subprocess.run([jcmd, str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=30).stdout
            m = re.search(r"total (\d+)K, used (\d+)K", text)
            if m:
                return f"{int(m.group(2)) / 1024:.0f} MB used of {int(m.group(1)) / 1024:.0f} MB committed (jcmd GC.heap_info)"
        except (OSError, subprocess.SubprocessError):
            pass
    rss = vmrss_mb(pid)
    return f"JVM RSS {rss:.0f} MB (/proc; jcmd unavailable)" if rss else "unknown"


# ---------------------------------------------------------------- report


def markdown(args, rows: list[tuple], poll_small: dict | None, poll_large: dict, seeded: dict, counts: dict,
             memory: dict, load: dict, started: str) -> str:
    lines = [
        f"Run {started} on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}. "
        f"Graph: {counts['executions']:,} executions, {counts['tasks']:,} task executions, {counts['attempts']:,} attempts "
        f"({args.executions:,} x {args.tasks_per_execution} tasks + 1 x {BIG_TASKS}, ~10 % failing, ~3 % of tasks retried, "
        f"{args.days} days, {RUNNING + 1} running). gunicorn -w {args.workers} -k gthread --threads {args.threads}, Neo4j heap {args.heap}. "
        f"Load average (1/5/15 min) at the start {load['before']}, before the page measurements {load['pages']}, "
        f"after {load['after']}.",
        "",
    ]
    if seeded:
        if seeded.get("reused"):
            lines += [f"`--skip-seed`: the graph seeded on {seeded['reused']} was reused; its seeding:", ""]
        lines += [
            f"Seeding through `POST /api/v1/events` ({args.clients} clients, ~{args.batch_events} events per request, "
            f"whole executions per request): {seeded['tasks']:,} task executions / {seeded['events']:,} events in "
            f"{seeded['requests']:,} requests in **{seeded['seconds']:.0f} s** = {seeded['tasks'] / seeded['seconds']:.0f} "
            f"task executions/s ({seeded['events'] / seeded['seconds']:.0f} events/s), request p50 "
            f"{seeded['p50']:.2f} s / p95 {seeded['p95']:.2f} s, {seeded['errors']} errors.",
            "",
        ]
    else:
        lines += ["Seeding skipped (`--skip-seed`): the graph seeded by an earlier run was reused.", ""]
    lines += [
        f"Latency = client-observed over loopback (one keep-alive connection to 127.0.0.1, logged in), {args.requests} "
        f"sequential requests after {args.warmup} warm-up requests each; it includes the HTTP round trip on "
        "loopback (well under 1 ms), no product middleware was added.",
        "",
        "| page | request | median ms | p95 ms | max ms | body KB | target | met |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for label, path, m, target in rows:
        met = "—" if target is None else ("yes" if m["p95"] < target else "**NO**")
        tgt = "—" if target is None else f"p95 < {target:,} ms"
        lines.append(f"| {label} | `{path}` | {m['median']:.1f} | {m['p95']:.1f} | {m['max']:.1f} | "
                     f"{m['bytes'] / 1024:.1f} | {tgt} | {met} |")
    lines += ["", "The poll target (p95 < 15 ms) is for the poll itself, i.e. the 204 \"nothing new\" answer that a "
              "watching browser gets every 2 s; when the version changed, the poll returns the same fragment as the "
              "execution page (all 200 task rows), so it is held to the execution page's target.",
              "", "Live poll vs stored history (same execution, 200 tasks):", "",
              "| stored task executions | poll unchanged (204) median / p95 ms | poll changed (fragment) median / p95 ms |",
              "|---:|---|---|"]
    for n, p in ((poll_small or {}).get("tasks"), poll_small), (counts["tasks"], poll_large):
        if p:
            lines.append(f"| {n:,} | {p['unchanged']['median']:.1f} / {p['unchanged']['p95']:.1f} | "
                         f"{p['changed']['median']:.1f} / {p['changed']['p95']:.1f} |")
    lines += ["", "Memory after the page measurements: gunicorn workers RSS "
              + ", ".join(f"{v:.0f} MB" for v in memory["workers"]) + f" (master {memory['master']:.0f} MB); "
              f"Neo4j heap {memory['neo4j']}."]
    return "\n".join(lines)


SCALE_SECTION = ("<!-- pages-at-scale:start -->", "<!-- pages-at-scale:end -->", "Pages at scale (bench/pages.py)")


def write_section(path: Path, body: str, command: str, markers: tuple[str, str, str] = SCALE_SECTION) -> None:
    start, end, title = markers
    section = f"{start}\n## {title}\n\nCommand: `{command}`\n\n{body}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


# ---------------------------------------------------------------- --cost: pages that cost seconds

PATHOLOGICAL = "![" * 250_000
COST_SECTION = ("<!-- pages-cost:start -->", "<!-- pages-cost:end -->", "Pages that cost seconds (bench/pages.py --cost)")


def cost_seed(app: harness.AppServer) -> dict[str, str]:
    """The costly cases, through the ingest API; returns {label: path}."""
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {app.token}"})

    def post(path: str, body: dict) -> None:
        r = session.post(app.url + "/api/v1" + path, data=json.dumps(body), timeout=600,
                         headers={"Content-Type": "application/json"})
        if r.status_code not in (200, 201):
            raise SystemExit(f"seeding {path}: HTTP {r.status_code} {r.text[:300]}")

    t0 = clock.now_ms() - 3_600_000
    post("/executions", {"executionId": "cost-md", "planId": "cost", "totalTasks": 2, "startTime": t0})
    post("/executions/cost-md/tasks", {"taskId": "patho", "result": {
        "status": "success", "duration": 1000, "timestamp": t0 + 1000, "output": PATHOLOGICAL}})
    line = "A line of a long **report**, with `code`, a [link](https://example.com) and | a | table |.\n"
    big = (line * (4_000_000 // len(line) + 1))[:4_000_000]
    post("/executions/cost-md/tasks", {"taskId": "big", "result": {
        "status": "failure", "duration": 1000, "timestamp": t0 + 2000, "output": big}})
    post("/executions/cost-md/tasks", {"taskId": "big", "result": {
        "status": "failure", "duration": 1000, "timestamp": t0 + 3000, "attemptNumber": 2,
        "output": big[:-100] + "changed", "prompt": big[:1_000_000], "error": big[:1_000_000]}})
    post("/executions", {"executionId": "cost-wide", "planId": "cost", "totalTasks": 1001, "startTime": t0})
    events = [{"type": "task_result", "executionId": "cost-wide", "taskId": f"t{i:04d}",
               "task": {"id": f"t{i:04d}", "title": (f"Task {i} of a wide run " * 100)[:2000], "parallelGroup": i % 6},
               "result": {"status": "success", "duration": 2000 + i, "timestamp": t0 + 1000 * (i + 1)}}
              for i in range(1000)]
    for start in range(0, len(events), 200):
        post("/events", {"events": events[start:start + 200]})
    post("/executions/cost-wide/tasks", {"taskId": "late", "task": {"id": "late", "title": "L" * 2000},
                                         "result": {"status": "success", "duration": 5000, "timestamp": clock.now_ms()}})
    return {
        "task page, 500 KB output of `![`": "/executions/cost-md/tasks/patho",
        "task page, 4 MB outputs (2 attempts, diff), 1 MB prompt and error": "/executions/cost-md/tasks/big",
        "execution page, 1,000 tasks with 2,000-character titles": "/executions/cost-wide",
        "its poll after one change (`?version=<current-1>`)": "POLL",
    }


def cost_measure(session, base: str, path: str, n: int) -> dict:
    """The first request (a cold render cache in the worker that serves it) and the median of n more."""
    headers = {}
    if path == "POLL":
        page = session.get(base + "/executions/cost-wide", timeout=600).text
        version = int(re.search(r'data-version="(\d+)"', page).group(1))
        path = f"/executions/cost-wide/poll?version={version - 1}{layout_param(page)}"
        headers = {"HX-Request": "true"}
    times, size = [], 0
    for _ in range(n + 1):
        t0 = time.perf_counter()
        r = session.get(base + path, headers=headers, timeout=900)
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {r.status_code}")
        size = len(r.content)
    return {"first": times[0], "median": statistics.median(times[1:]), "bytes": size}


def baseline_checkout(revision: str) -> Path:
    """The app as it was at `revision` (`git archive`), in var/bench-baseline, for --baseline."""
    git = shutil.which("git")
    if git is None:
        raise SystemExit("--baseline needs git on PATH")
    rev = subprocess.run([git, "rev-parse", "--short", revision], cwd=harness.REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    baseline_dir = harness.REPO / "var" / "bench-baseline"
    shutil.rmtree(baseline_dir, ignore_errors=True)
    baseline_dir.mkdir(parents=True)
    archive = subprocess.run([git, "archive", rev], cwd=harness.REPO, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(baseline_dir, filter="data")
    return baseline_dir


def baseline_start(baseline_dir: Path, env: dict, args, name: str) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the baseline checkout on --app-port + 1, with the current app's environment
    (same Neo4j, same users and tokens); answers (process, URL) once it is healthy."""
    import requests

    # Its own static files (the production settings serve them from a manifest).
    subprocess.run([harness.PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=baseline_dir,
                   env=env, check=True, capture_output=True, timeout=300)
    log = open(harness.REPO / "var" / f"bench-{name}-baseline.log", "wb")
    baseline = subprocess.Popen(
        [str(harness.VENV_BIN / "gunicorn"), "-c", "python:mimir_dashboard.gunicorn_conf",
         "mimir_dashboard.wsgi:application", "-b", f"{harness.HOST}:{args.app_port + 1}",
         "-w", str(args.workers), "--threads", str(args.threads), "--timeout", "900"],
        cwd=baseline_dir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    base_url = f"http://{harness.HOST}:{args.app_port + 1}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(base_url + "/healthz", timeout=5).status_code == 200:
                return baseline, base_url
        except requests.RequestException:
            pass
        if baseline.poll() is not None or time.monotonic() > deadline:
            harness.terminate_group(baseline)
            raise SystemExit(f"the baseline app did not start; see var/bench-{name}-baseline.log")
        time.sleep(0.3)


def cost_main(args) -> int:
    import requests

    load = {"before": "/".join(f"{x:.1f}" for x in os.getloadavg())}
    started = time.strftime("%Y-%m-%d %H:%M")
    baseline_dir = baseline_checkout(args.baseline) if args.baseline else None
    results: dict[str, dict[str, dict]] = {}
    with harness.neo4j_server("pages-cost", port=args.neo4j_port, heap=args.heap, fresh=True) as neo:
        with harness.app_server("pages-cost", neo.bolt_url, port=args.app_port, workers=args.workers,
                                threads=args.threads, timeout=120) as app:
            harness.log("seeding the costly cases ...")
            cases = cost_seed(app)
            apps = [("after", app.url)]
            baseline = None
            if baseline_dir:
                baseline, base_url = baseline_start(baseline_dir, app.env, args, "pages-cost")
                apps.insert(0, ("before", base_url))
            try:
                load["pages"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
                for name, url in apps:
                    session = requests.Session()
                    if not harness.login(session, url):
                        raise SystemExit(f"could not log in to the {name} app")
                    for label, path in cases.items():
                        harness.log(f"{name}: {label}")
                        results.setdefault(label, {})[name] = cost_measure(session, url, path, args.requests)
                        m = results[label][name]
                        harness.log(f"  first {m['first']:.0f} ms, median {m['median']:.0f} ms, {m['bytes'] / 1024:.1f} KB")
            finally:
                if baseline is not None:
                    harness.terminate_group(baseline)
    load["after"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
    body = cost_markdown(args, results, load, started)
    print(body)
    if args.write:
        command = "python bench/pages.py " + " ".join(sys.argv[1:])
        write_section(args.write, body, command.strip(), COST_SECTION)
        harness.log(f"wrote the '{COST_SECTION[2]}' section of {args.write}")
    return 0


def cost_markdown(args, results: dict, load: dict, started: str) -> str:
    def cell(m: dict | None) -> str:
        if not m:
            return "—"
        return f"{m['first']:,.0f} / {m['median']:,.0f} ms, {m['bytes'] / 1024:,.1f} KB"

    lines = [
        f"Run {started} on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"gunicorn -w {args.workers} -k gthread --threads {args.threads} for each app, one Neo4j (heap {args.heap}) "
        f"holding the cases for both. Load average (1/5/15 min) at the start {load['before']}, before the "
        f"measurements {load['pages']}, after {load['after']}."
        + (f" Before = the app at `{args.baseline}`, after = this tree, measured one after the other in this run."
           if args.baseline else ""),
        "",
        f"Each cell: the first request's latency (the worker's render cache cold) / the median of {args.requests} "
        "more, client-observed over loopback, and the body size.",
        "",
        "| page | before | after |",
        "|---|---|---|",
    ]
    for label, by_app in results.items():
        lines.append(f"| {label} | {cell(by_app.get('before'))} | {cell(by_app.get('after'))} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- --graph: the execution page with its dependency graph

GRAPH_SECTION = ("<!-- pages-graph:start -->", "<!-- pages-graph:end -->",
                 "Execution page with the dependency graph (bench/pages.py --graph)")
GRAPH_SIZES = (200, 2_000)


def graph_plan(n: int, rng: random.Random) -> list[dict]:
    """A plan-like DAG: layers of about sqrt(n) tasks in parallel groups of 4, each task depending
    on 1-3 tasks of the two layers before it."""
    width = max(4, int(n ** 0.5))
    tasks = []
    for i in range(n):
        layer = i // width
        deps = sorted({f"t{rng.randrange(max(0, (layer - 2) * width), layer * width):04d}"
                       for _ in range(rng.randint(1, 3))}) if layer else []
        tasks.append({"id": f"t{i:04d}", "title": f"{TITLE_WORDS[i % len(TITLE_WORDS)]} #{i}",
                      "parallelGroup": i // 4, "dependencies": deps})
    return tasks


def graph_seed(app: harness.AppServer, rng: random.Random) -> dict[int, str]:
    """Per size, a plan and a running execution with its first ~60 % of tasks reported (some failed,
    some retried); returns {size: executionId}."""
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"})

    def send(method: str, path: str, body: dict) -> None:
        r = session.request(method, app.url + "/api/v1" + path, data=json.dumps(body), timeout=600)
        if r.status_code not in (200, 201):
            raise SystemExit(f"seeding {path}: HTTP {r.status_code} {r.text[:300]}")

    out = {}
    t0 = clock.now_ms() - 3_600_000
    for n in GRAPH_SIZES:
        tasks = graph_plan(n, rng)
        send("put", f"/plans/graph-{n}", {"title": f"Graph {n}", "tasks": tasks})
        eid = f"graph-run-{n}"
        send("post", "/executions", {"executionId": eid, "planId": f"graph-{n}", "totalTasks": n, "startTime": t0})
        events = []
        for i in range(int(n * 0.6)):
            failed = rng.random() < 0.05
            result = {"status": "failure" if failed else "success", "duration": rng.randint(1_000, 60_000),
                      "timestamp": t0 + 1_000 * (i + 1),
                      "qcVerification": {"passed": not failed, "score": 40 if failed else 90, "feedback": "",
                                         "issues": [], "requiredFixes": []}}
            if failed:
                result["error"] = "boom"
            events.append({"type": "task_result", "executionId": eid, "taskId": tasks[i]["id"], "result": result})
        for start in range(0, len(events), 250):
            send("post", "/events", {"events": events[start:start + 250]})
        out[n] = eid
        harness.log(f"  seeded {eid}: plan of {n} tasks, {len(events)} reported")
    return out


GRAPH_ROUNDS = 4


def graph_main(args) -> int:
    import requests

    started = time.strftime("%Y-%m-%d %H:%M")
    load = {"before": "/".join(f"{x:.1f}" for x in os.getloadavg())}
    baseline_dir = baseline_checkout(args.baseline) if args.baseline else None
    rows = []
    with harness.neo4j_server("pages-graph", port=args.neo4j_port, heap=args.heap, fresh=True) as neo:
        with harness.app_server("pages-graph", neo.bolt_url, port=args.app_port, workers=args.workers,
                                threads=args.threads, timeout=120) as app:
            harness.log("seeding plans and running executions ...")
            runs = graph_seed(app, random.Random(args.seed))
            apps = [("after" if baseline_dir else "this tree", app.url)]
            baseline = None
            if baseline_dir:
                baseline, base_url = baseline_start(baseline_dir, app.env, args, "pages-graph")
                apps.insert(0, ("before", base_url))
            try:
                sessions = {}
                for name, url in apps:
                    sessions[name] = requests.Session()
                    if not harness.login(sessions[name], url):
                        raise SystemExit(f"could not log in to the {name} app")
                load["pages"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
                for n, eid in runs.items():
                    rows += graph_measure(args, apps, sessions, n, eid, app.token)
            finally:
                if baseline is not None:
                    harness.terminate_group(baseline)
    load["after"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Run {started} on {platform.node()}: {os.cpu_count()} cores, gunicorn {args.workers} workers x "
        f"{args.threads} threads, load average {load['before']} before, {load['pages']} while measuring, "
        f"{load['after']} after. A plan of n tasks (layers of about sqrt(n), each task depending on 1-3 of "
        f"the two layers before, parallel groups of 4) and a running execution of it with 60 % of its tasks "
        f"reported (5 % failed). Median and p95 of {args.requests} sequential GETs after {args.warmup} warm-up "
        f"GETs; \"first view\" is the slowest of the first {args.workers} views (one per worker: the layout by "
        f"dot, then kept in the worker's cache). Target: p95 < 100 ms at 200 tasks."
        + (f" Before = the app at `{args.baseline}`, after = this tree, both served at once from the same Neo4j; "
           f"their GETs alternate in {GRAPH_ROUNDS} rounds, so that a change of the machine's load weighs on both."
           if baseline_dir else ""),
        "",
        "| tasks | app | graph | first view ms | page median / p95 ms | page KB | poll after one change median / p95 ms | poll KB |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for n, name, mode, first, page, size, poll, poll_size in rows:
        lines.append(f"| {n:,} | {name} | {mode} | {first:,.0f} | {page['median']:.1f} / {page['p95']:.1f} | "
                     f"{size / 1024:,.0f} | {poll['median']:.1f} / {poll['p95']:.1f} | {poll_size / 1024:.1f} |")
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(args.write, body, "python bench/pages.py " + " ".join(sys.argv[1:]), GRAPH_SECTION)
        harness.log(f"wrote the '{GRAPH_SECTION[2]}' section of {args.write}")
    return 0


# ---------------------------------------------------------------- --compare: two executions side by side

COMPARE_SECTION = ("<!-- pages-compare:start -->", "<!-- pages-compare:end -->",
                   "Compare two executions (bench/pages.py --compare)")


def compare_run_events(eid: str, plan_id: str, tasks: list[dict], start: int, rng: random.Random) -> list[dict]:
    """A finished run of every task of the plan: ~5 % failed (QC 20-50), ~5 % retried (attempt 1
    failed QC), tokens and durations drawn afresh each run, outputs of a few hundred characters, so
    that two runs differ in every way the compare page reports."""
    events = [{"type": "execution_started", "executionId": eid, "planId": plan_id, "totalTasks": len(tasks),
               "startTime": start}]
    at_ms = start
    for task in tasks:
        failed, retried = rng.random() < 0.05, rng.random() < 0.05
        for number in range(1, 3 if retried else 2):
            fail = failed or number == 1 and retried
            at_ms += rng.randint(1_000, 30_000)
            result = {
                "status": "failure" if fail else "success", "attemptNumber": number, "timestamp": at_ms,
                "duration": rng.randint(1_000, 60_000), "tokens": {"input": rng.randint(200, 6000), "output": rng.randint(50, 2500)},
                "output": f"{task['id']} attempt {number}\n" + "\n".join(
                    " ".join(rng.choice(TITLE_WORDS) for _ in range(6)) for _ in range(rng.randint(3, 8))),
                "qcVerification": {"passed": not fail, "score": rng.randint(20, 50) if fail else rng.randint(70, 100),
                                   "feedback": "", "issues": [], "requiredFixes": []},
            }
            if fail:
                result["error"] = ERRORS[rng.randrange(len(ERRORS))].format(n=number)
            events.append({"type": "task_result", "executionId": eid, "taskId": task["id"], "result": result,
                           "task": {"id": task["id"], "title": task["title"], "parallelGroup": task["parallelGroup"]}})
    events.append({"type": "execution_finished", "executionId": eid, "endTime": at_ms + 1_000})
    return events


def compare_cpu(bolt_url: str, a: str, b: str, n: int) -> dict[str, float]:
    """The compare page's Python cost, as CPU time of this process (Neo4j's own time is not in it):
    the selector, then the view's rows and the template render."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mimir_dashboard.settings")
    import django

    django.setup()
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from neomodel import db

    from executions import selectors, views

    db.set_connection(url=bolt_url)
    request = RequestFactory().get(f"/executions/compare?a={a}&b={b}")
    request.user = AnonymousUser()
    reading, page = [], []
    for _ in range(n + 1):
        t0 = time.process_time()
        data = selectors.execution_compare(a_id=a, b_id=b)
        t1 = time.process_time()
        context = {**data, "a_id": a, "b_id": b, "task_id": None, "diff": None, **views._compare_rows(data)}
        render_to_string("executions/compare.html", context, request=request)
        reading.append((t1 - t0) * 1000)
        page.append((time.process_time() - t1) * 1000)
    db.close_connection()
    return {"selector": statistics.median(reading[1:]), "page": statistics.median(page[1:])}


def compare_main(args) -> int:
    import requests

    started = time.strftime("%Y-%m-%d %H:%M")
    load = {"before": "/".join(f"{x:.1f}" for x in os.getloadavg())}
    rng = random.Random(args.seed)
    n, runs = BIG_TASKS, args.compare_runs
    tasks = graph_plan(n, rng)
    rows = []
    with harness.neo4j_server("pages-compare", port=args.neo4j_port, heap=args.heap, fresh=True) as neo:
        with harness.app_server("pages-compare", neo.bolt_url, port=args.app_port, workers=args.workers,
                                threads=args.threads, timeout=120) as app:
            writer = requests.Session()
            writer.headers.update({"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"})
            r = writer.put(f"{app.url}/api/v1/plans/compare-plan", data=json.dumps({"title": "Compare", "tasks": tasks}),
                           timeout=120)
            if r.status_code != 200:
                raise SystemExit(f"plan: HTTP {r.status_code} {r.text[:300]}")
            t0 = clock.now_ms() - runs * 3_600_000
            harness.log(f"seeding {runs} finished runs of a plan of {n} tasks ...")
            for i in range(runs):
                events = compare_run_events(f"cmp-{i:03d}", "compare-plan", tasks, t0 + i * 3_600_000, rng)
                r = writer.post(f"{app.url}/api/v1/events", data=json.dumps({"events": events}), timeout=600)
                bad = [x for x in r.json()["results"] if x["status"] >= 300] if r.status_code == 200 else [r.text[:300]]
                if bad:
                    raise SystemExit(f"seeding cmp-{i:03d}: {bad[:1]}")
                if (i + 1) % 10 == 0:
                    harness.log(f"  {i + 1}/{runs} runs")
            a, b = f"cmp-{runs - 2:03d}", f"cmp-{runs - 1:03d}"
            session = requests.Session()
            if not harness.login(session, app.url):
                raise SystemExit("could not log in as the bench user")
            reader = harness.manage(app.env, "create_ingest_token", f"bench-compare-read-{int(time.time())}",
                                    "--scope", "read").strip()
            api = {"Authorization": f"Bearer {reader}"}
            page = session.get(f"{app.url}/executions/compare?a={a}&b={b}", timeout=120)
            page.raise_for_status()
            changed = re.search(r'class="diff-link" href="\?a=[^&]+&amp;b=[^&]+&amp;task=([^"#&]+)', page.text)
            if not changed:
                raise SystemExit("the compare page links no output diff")
            task = changed.group(1)
            cases = [
                ("execution page of b (its previous run looked up)", f"/executions/{b}", {}, 100),
                (f"compare page ({n} tasks)", f"/executions/compare?a={a}&b={b}", {}, 100),
                ("compare page with one task's output diff", f"/executions/compare?a={a}&b={b}&task={task}", {}, 100),
                ("the diff alone (htmx fragment)", f"/executions/compare?a={a}&b={b}&task={task}",
                 {"HX-Request": "true"}, None),
                (f"read API, compare ({n} tasks)", f"/api/v1/compare?a={a}&b={b}", api, None),
            ]
            load["pages"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
            api_session = requests.Session()  # no sign-in cookie: the bearer token alone
            for label, path, headers, target in cases:
                harness.log(f"measuring {label}: {path}")
                client = api_session if path.startswith("/api/") else session
                m = measure(client, app.url + path, args.requests, args.warmup, headers=headers)
                harness.log(f"  median {m['median']:.1f} ms, p95 {m['p95']:.1f} ms, {m['bytes'] / 1024:.1f} KB")
                rows.append((label, path, m, target))
            cpu = compare_cpu(neo.bolt_url, a, b, args.requests)
            harness.log(f"compare page in-process: {cpu['selector']:.1f} ms CPU reading, {cpu['page']:.1f} ms "
                        f"rows and render (median)")
            counts = graph_counts(neo.bolt_url)
    load["after"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Run {started} on {platform.node()}: {os.cpu_count()} cores, shared with other work (load average "
        f"{load['before']} before, {load['pages']} while measuring, {load['after']} after), so the figures move "
        f"with the machine's load. gunicorn {args.workers} workers x {args.threads} threads, Neo4j heap {args.heap}. "
        f"A plan of {n} tasks (bench/pages.py --graph's DAG) and {runs} finished runs of it "
        f"({counts['tasks']:,} task executions, {counts['attempts']:,} attempts; ~5 % of tasks failed, ~5 % "
        f"retried, tokens, durations and outputs drawn afresh per run); the last two are compared. Median and p95 "
        f"of {args.requests} sequential GETs after {args.warmup} warm-up GETs, client-observed over loopback.",
        "",
        "| request | path | median ms | p95 ms | body KB | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for label, path, m, target in rows:
        met = "—" if target is None else ("yes" if m["p95"] < target else "**NO**")
        lines.append(f"| {label} | `{path}` | {m['median']:.1f} | {m['p95']:.1f} | {m['bytes'] / 1024:.1f} | "
                     f"{'—' if target is None else f'p95 < {target} ms'} | {met} |")
    lines += ["", f"CPU time (`time.process_time`, median of {args.requests}) of the compare page in this process, "
              "which the machine's load moves far less than latency: the selector (the driver's side of the one "
              f"statement: decoding {n * 2} task rows) {cpu['selector']:.1f} ms, the rows and the template "
              f"{cpu['page']:.1f} ms."]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(args.write, body, "python bench/pages.py " + " ".join(sys.argv[1:]), COMPARE_SECTION)
        harness.log(f"wrote the '{COMPARE_SECTION[2]}' section of {args.write}")
    return 0

def _rounds(args, apps, measure_one) -> dict[str, dict]:
    """`measure_one(name, url, requests, warmup)` for each app in GRAPH_ROUNDS rounds, alternating
    which goes first; the times of all rounds together, per app."""
    times: dict[str, list[float]] = {name: [] for name, _ in apps}
    per_round = max(1, args.requests // GRAPH_ROUNDS)
    for r in range(GRAPH_ROUNDS):
        for name, url in (apps if r % 2 == 0 else apps[::-1]):
            times[name] += measure_one(name, url, per_round, args.warmup if r == 0 else 1)["times"]
    return {name: {"median": statistics.median(t), "p95": pct(t, 0.95)} for name, t in times.items()}


def graph_measure(args, apps, sessions, n: int, eid: str, token: str) -> list[tuple]:
    """The execution page and its poll after one change, for each app (`apps`: (name, url))."""
    import requests

    firsts, sizes, modes = {}, {}, {}
    for name, url in apps:
        # The first views: each worker lays the graph out once (dot), then keeps it.
        views = []
        for _ in range(args.workers):
            t = time.perf_counter()
            r = sessions[name].get(f"{url}/executions/{eid}", timeout=600)
            views.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        firsts[name] = max(views)
        harness.log(f"{name}: execution page, {n} tasks: first views {', '.join(f'{f:.0f}' for f in views)} ms, "
                    f"{len(r.content) / 1024:.0f} KB")
    pages = _rounds(args, apps, lambda name, url, k, w: measure(sessions[name], f"{url}/executions/{eid}", k, w))
    for name, _ in apps:
        harness.log(f"  {name}: median {pages[name]['median']:.1f} ms, p95 {pages[name]['p95']:.1f} ms")
    # One more result (a task the plan has, not reported yet), so that `version - 1` is one change.
    extra = {"taskId": f"t{int(n * 0.6):04d}",
             "result": {"status": "failure", "duration": 5_000, "timestamp": clock.now_ms(), "error": "late"}}
    r = requests.post(f"{apps[-1][1]}/api/v1/executions/{eid}/tasks", json=extra, timeout=60,
                      headers={"Authorization": f"Bearer {token}"})
    if r.status_code != 201:
        raise SystemExit(f"posting one more result: HTTP {r.status_code} {r.text[:200]}")
    hx = {"HX-Request": "true"}
    poll_urls = {}
    for name, url in apps:
        r = sessions[name].get(f"{url}/executions/{eid}", timeout=600)
        version = int(re.search(r'data-version="(\d+)"', r.text).group(1))
        poll_urls[name] = f"{url}/executions/{eid}/poll?version={version - 1}{layout_param(r.text)}"
        sizes[name] = len(r.content)
        modes[name] = ("every task" if 'id="depgraph"' in r.text else
                       "by dependency depth" if "shown by dependency depth" in r.text else "by parallel group")
    polls = _rounds(args, apps, lambda name, url, k, w: measure(sessions[name], poll_urls[name], k, w, (200,), hx))
    out = []
    for name, _ in apps:
        poll_size = len(sessions[name].get(poll_urls[name], headers=hx, timeout=60).content)
        harness.log(f"  {name}: poll after one change: median {polls[name]['median']:.1f} ms, "
                    f"p95 {polls[name]['p95']:.1f} ms, {poll_size / 1024:.1f} KB")
        out.append((n, name, modes[name], firsts[name], pages[name], sizes[name], polls[name], poll_size))
    return out


# ---------------------------------------------------------------- --renderers: markdown renderers side by side

RENDERERS_SECTION = ("<!-- markdown-renderers:start -->", "<!-- markdown-renderers:end -->",
                     "Markdown renderers (bench/pages.py --renderers)")

LLM_MARKDOWN = """## Summary

The migration **adds** the `attempts` index and keeps the old one until the backfill is done.

### Changes

1. `executions/models.py`: a composite key on `(executionId, taskId)`.
2. `executions/services/ingest.py`: every `MERGE` names both properties.
3. Tests for ids that join to the same string, e.g. `a-b` + `c` and `a` + `b-c`.

| file | lines | why |
|---|---:|:---|
| models.py | +12 | the key |
| ingest.py | +40 / -22 | every statement |

```python
def task_key(execution_id: str, task_id: str) -> tuple[str, str]:
    return (execution_id, task_id)  # never "-".join(...)
```

> Note: ~~the old key~~ is dropped by `install_schema` once no attempt uses it. See
> [the docs](https://example.com/docs) for <details> on rollbacks.

- [x] migrate
- [ ] backfill

"""


def renderer_inputs(size: int) -> dict[str, str]:
    def cut(text: str) -> str:
        return (text * (size // max(1, len(text)) + 1))[:size]

    return {
        "normal LLM markdown": cut(LLM_MARKDOWN),
        "`![` repeated": "![" * (size // 2),
        "`[` repeated": "[" * size,
        "nested brackets": "[" * (size // 2) + "a" + "]" * (size // 2),
        "`*a **a ` repeated": cut("*a **a "),
        "`a_ ` repeated": cut("a_ "),
        "`<` repeated": "<" * size,
        "inline HTML `<a>x`": cut("<a>x"),
        "table rows": "|a|b|\n|-|-|\n" + cut("|x|y|\n"),
        "emphasis `***a`": cut("***a"),
    }


def renderers_main(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mimir_dashboard.settings")
    import django

    django.setup()
    from executions import rendering

    try:
        from markdown_it import MarkdownIt

        old = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
            ["table", "strikethrough"])
    except ImportError:
        old = None
        harness.log("markdown-it-py is not installed (`pip install markdown-it-py==4.3.0`): only the new renderer")

    def timed(fn, text: str) -> float:
        best = float("inf")
        for _ in range(args.requests):
            t0 = time.process_time()
            fn(text)
            best = min(best, time.process_time() - t0)
        return best * 1000

    size = rendering.MARKDOWN_MAX_CHARS
    rows = []
    for label, text in renderer_inputs(size).items():
        harness.log(f"rendering {label} ({len(text):,} characters)")
        new_ms = timed(rendering._render, text)  # the uncached render: pulldown-cmark + nh3
        old_ms = timed(lambda t: rendering.sanitize_html(old.render(t)), text) if old else None
        rows.append((label, len(text), old_ms, new_ms))
    # What the task page did before for the reported output: the whole 500 KB of `![`.
    whole = "![" * 250_000
    if old:
        harness.log("rendering the reported 500 KB of `![` whole with markdown-it-py (once)")
        t0 = time.process_time()
        rendering.sanitize_html(old.render(whole))
        rows.append(("`![`, 500 KB, whole (the task page before)", len(whole), (time.process_time() - t0) * 1000, None))
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load}. CPU time (`time.process_time`) of one render and "
        f"sanitize (nh3, the same allow-list), the best of {args.requests}: markdown-it-py 4.3.0 (before) and "
        f"`rendering._render` (pulldown-cmark via pyromark, raw HTML made text, then nh3), on inputs of "
        f"{size:,} characters (`MARKDOWN_MAX_CHARS`, the most the task page renders now).",
        "",
        "| input | characters | markdown-it-py ms | pyromark ms |",
        "|---|---:|---:|---:|",
    ]
    for label, n, old_ms, new_ms in rows:
        fmt = lambda v: "—" if v is None else f"{v:,.1f}"  # noqa: E731
        lines.append(f"| {label} | {n:,} | {fmt(old_ms)} | {fmt(new_ms)} |")
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(args.write, body, "python bench/pages.py " + " ".join(sys.argv[1:]), RENDERERS_SECTION)
    return 0


# ---------------------------------------------------------------- main


# ---------------------------------------------------------------- --growth: the same pages at two sizes

GROWTH_SECTION = ("<!-- pages-growth:start -->", "<!-- pages-growth:end -->",
                  "Pages as history grows (bench/pages.py --growth)")
# Issue #15's targets at the larger size, and how much the report may grow from the smaller one.
GROWTH_TARGETS_MS = {"list": 100, "detail": 100, "poll": 5, "report": 250}
GROWTH_REPORT_RATIO = 1.2


def pages_to_measure(today, task_id: str, *, report_days: tuple[int, ...], every_list_filter: bool,
                     report_api: bool) -> list[tuple[str, str, str]]:
    """(label, path, kind) of the pages measured: the list (with its filters), the big execution,
    a drill-down, and the failure report over each of `report_days` (and its API twin over the longest)."""
    filters = [("list, status filter", "/?status=failed"), ("list, status + text search", "/?status=failed&q=migration"),
               ("list, text search", "/?q=migration")]
    pages = [("executions list", "/", "list")]
    pages += [(label, path, "list") for label, path in (filters if every_list_filter else filters[1:2])]
    pages += [(f"execution page ({BIG_TASKS} tasks)", f"/executions/{BIG}", "detail"),
              ("task drill-down (2 attempts, diff)", f"/executions/{BIG}/tasks/{task_id}", "detail")]
    for days in report_days:
        since = today - timedelta(days=days - 1)
        pages.append((f"failure report, {days} days", f"/reports/failures?started_from={since}&started_to={today}", "report"))
    if report_api:
        since = today - timedelta(days=max(report_days) - 1)
        pages.append((f"failure report API, {max(report_days)} days",
                      f"/api/v1/reports/failures?started_from={since}&started_to={today}", "report"))
    return pages


def retried_task(bolt_url: str) -> str:
    """A retried task of the big execution (attempt 2 after a failed attempt 1), else t000."""
    drv = harness.driver(bolt_url, max_pool=2)
    with drv.session() as s:
        rec = s.run("MATCH (:OrchestrationExecution {executionId: $e})-[:HAS_TASK_EXECUTION]->(t) "
                    "WHERE t.attemptCount > 1 RETURN t.taskId AS id ORDER BY id LIMIT 1", e=BIG).single()
    drv.close()
    return rec["id"] if rec else "t000"


def growth_measure(args, session, app, bolt_url: str, read_token: str) -> dict:
    """Every growth page, then the poll, at the graph's present size."""
    pages = pages_to_measure(clock.today(), retried_task(bolt_url), report_days=(30, 60, 90),
                             every_list_filter=False, report_api=True)
    found = {"load": "/".join(f"{x:.1f}" for x in os.getloadavg()), "counts": graph_counts(bolt_url), "rows": []}
    for label, path, kind in pages:
        harness.log(f"measuring {label}: {path}")
        api = {"Authorization": f"Bearer {read_token}"} if path.startswith("/api/") else None
        try:
            m = measure(session, app.url + path, args.requests, args.warmup, headers=api)
        except RuntimeError as exc:  # e.g. a 503: the read outlasted GRAPH_READ_TIMEOUT_SECONDS
            harness.log(f"  FAILED: {str(exc)[:200]}")
            m = {"median": float("inf"), "p95": float("inf"), "failed": str(exc).split(":", 2)[1].strip()}
        else:
            harness.log(f"  median {m['median']:.1f} ms, p95 {m['p95']:.1f} ms")
        found["rows"].append((label, path, kind, m))
    poll = measure_poll(session, app.url, args)
    found["rows"].append(("live poll, unchanged (204)", f"/executions/{BIG}/poll?version=<current>", "poll",
                          poll["unchanged"]))
    found["rows"].append(("live poll, changed (fragment)", f"/executions/{BIG}/poll?version=<current-1>", "detail",
                          poll["changed"]))
    return found


def growth_main(args) -> int:
    """Seed the smaller size, measure, seed on to the larger size (same plans, same days: history only
    gets denser), measure again: one run, so the two sizes meet the same machine."""
    import requests

    small, large = args.growth
    started = time.strftime("%Y-%m-%d %H:%M")
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    with harness.neo4j_server("pages-growth", port=args.neo4j_port, heap=args.heap, fresh=True) as neo:
        with harness.app_server("pages-growth", neo.bolt_url, port=args.app_port, workers=args.workers,
                                threads=args.threads) as app:
            session = requests.Session()
            if not harness.login(session, app.url):
                raise SystemExit("could not log in as the bench user")
            read_token = harness.manage(app.env, "create_ingest_token", "bench-growth-read", "--scope", "read").strip()
            args.executions = large
            rng = random.Random(args.seed)
            first, first_n, rest, rest_n = workload(args, rng, clock.now_ms())
            execs, counts = first + rest, first_n + rest_n
            if post_batches(app, [plan_events(args.tasks_per_execution)], [0], 1, 60).errors:
                raise SystemExit("plan events were refused")
            cut = small + 1  # the big execution and `small` others
            seeded = [seed(app, args, execs[:cut], counts[:cut], f"to {small:,} executions")]
            sizes = [growth_measure(args, session, app, neo.bolt_url, read_token)]
            seeded.append(seed(app, args, execs[cut:], counts[cut:], f"to {large:,} executions"))
            sizes.append(growth_measure(args, session, app, neo.bolt_url, read_token))
            memory = {"workers": [vmrss_mb(p) or 0 for p in children(app.proc.pid)],
                      "neo4j": neo4j_heap(neo.server.proc.pid) if neo.server else "external"}
    body, ok = growth_markdown(args, sizes, seeded, memory, started, load_before)
    print(body)
    if args.write:
        write_section(args.write, body, "python bench/pages.py " + " ".join(sys.argv[1:]), GROWTH_SECTION)
        harness.log(f"wrote the '{GROWTH_SECTION[2]}' section of {args.write}")
    return 0 if ok else 1


def growth_markdown(args, sizes: list[dict], seeded: list[Seeded], memory: dict, started: str,
                    load_before: str) -> tuple[str, bool]:
    small, large = sizes
    errors = sum(s.errors for s in seeded)
    lines = [
        f"Run {started} on {platform.node()}: {os.cpu_count()} cores, load average {load_before} before, "
        f"{small['load']} and {large['load']} when each size was measured. gunicorn -w {args.workers} -k gthread "
        f"--threads {args.threads}, Neo4j heap {args.heap}. {PLANS} plans; executions of "
        f"{args.tasks_per_execution} tasks (+1 running of {BIG_TASKS}) over the last {args.days} days, ~10 % failing, "
        f"~3 % of tasks retried; the larger graph is the smaller plus more executions over the same days.",
        "",
    ]
    for s, size in zip(seeded, sizes, strict=True):
        c = size["counts"]
        lines.append(f"- Seeded to {c['executions']:,} executions / {c['tasks']:,} task executions / "
                     f"{c['attempts']:,} attempts through `POST /api/v1/events` ({args.clients} clients): "
                     f"{s.tasks:,} task executions in {s.seconds:.0f} s = {s.tasks / s.seconds:,.0f}/s, {s.errors} errors, "
                     f"{s.retried} requests sent again after a 503.")
    lines += [
        "",
        f"Median / p95 ms of {args.requests} sequential GETs after {args.warmup} warm-up GETs, client-observed "
        "over loopback (one keep-alive connection, bench/harness.py LeanGets). Targets at the larger size (issue #15); the report's growth is p95 at the larger size "
        f"over p95 at the smaller, held to <= {GROWTH_REPORT_RATIO}.",
        "",
        f"| page | request | {small['counts']['tasks']:,} tasks: median / p95 | "
        f"{large['counts']['tasks']:,} tasks: median / p95 | p95 ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    ok = not errors
    for (label, path, kind, a), (_, _, _, b) in zip(small["rows"], large["rows"], strict=True):
        target = GROWTH_TARGETS_MS[kind]
        ratio = b["p95"] / a["p95"] if a["p95"] else float("inf")
        met = b["p95"] < target and (kind != "report" or ratio <= GROWTH_REPORT_RATIO)
        ok = ok and met
        goal = f"p95 < {target} ms" + (f", ratio <= {GROWTH_REPORT_RATIO}" if kind == "report" else "")
        def cell(m: dict) -> str:
            return m["failed"] if "failed" in m else f"{m['median']:.1f} / {m['p95']:.1f}"

        lines.append(f"| {label} | `{path}` | {cell(a)} | {cell(b)} | {ratio:.2f} | {goal} | {'yes' if met else '**NO**'} |")
    lines += ["", "Memory at the larger size, after the measurements: gunicorn workers RSS "
              + ", ".join(f"{v:.0f} MB" for v in memory["workers"]) + f"; Neo4j heap {memory['neo4j']}."]
    if errors:
        lines += ["", f"**{errors} events/requests were refused while seeding.**"]
    return "\n".join(lines), ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--executions", type=int, default=10_000, help="executions besides the 200-task one")
    ap.add_argument("--tasks-per-execution", type=int, default=20)
    ap.add_argument("--phase1-tasks", type=int, default=1_000,
                    help="task executions stored when the poll is first measured")
    ap.add_argument("--batch-events", type=int, default=300, help="about this many events per request")
    ap.add_argument("--clients", type=int, default=3, help="concurrent seeding clients")
    ap.add_argument("--requests", type=int, default=50, help="measured requests per page")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--skip-seed", action="store_true",
                    help="reuse the graph in var/bench-pages-neo4j seeded by an earlier run")
    ap.add_argument("--max-seconds", type=float, default=3600, help="time limit per seeding phase")
    ap.add_argument("--neo4j-port", type=int, default=7697)
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--app-port", type=int, default=8097)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", type=Path, help="add/replace the 'Pages at scale' section of this markdown file")
    ap.add_argument("--cost", action="store_true", help="measure the pages that used to cost seconds instead")
    ap.add_argument("--baseline", help="with --cost or --graph: also serve the app as it was at this git revision")
    ap.add_argument("--graph", action="store_true",
                    help="measure the execution page with its dependency graph at 200 and 2,000 tasks instead")
    ap.add_argument("--compare", action="store_true",
                    help="measure the compare page of two runs of a 200-task plan (and its API twin) instead")
    ap.add_argument("--compare-runs", type=int, default=20,
                    help="with --compare: finished runs of the plan (the last two are compared)")
    ap.add_argument("--days", type=int, help="start times are spread over this many days back (default 60; "
                                                   "with --growth 90, the longest report measured)")
    ap.add_argument("--growth", type=lambda v: tuple(int(x) for x in v.split(",")), metavar="SMALL,LARGE",
                    help="seed SMALL executions, measure, seed on to LARGE, measure again (e.g. 10000,50000: "
                         "200k and 1M task executions) and report the pages at both sizes")
    ap.add_argument("--renderers", action="store_true",
                    help="time markdown-it-py (before) and the page's renderer on pathological and normal markdown")
    args = ap.parse_args(argv)
    harness.install_signal_handlers()
    if args.renderers:
        if args.requests == 50:
            args.requests = 3
        return renderers_main(args)
    if args.growth:
        if len(args.growth) != 2 or not 0 < args.growth[0] < args.growth[1]:
            ap.error("--growth: two sizes, SMALL,LARGE, with 0 < SMALL < LARGE")
        args.days = args.days or 90
        return growth_main(args)
    args.days = args.days or 60
    if args.graph:
        return graph_main(args)
    if args.compare:
        return compare_main(args)
    if args.cost:
        if args.requests == 50:
            args.requests = 5  # a before-page costs seconds per view
        return cost_main(args)
    import requests

    load = {"before": "/".join(f"{x:.1f}" for x in os.getloadavg())}
    started = time.strftime("%Y-%m-%d %H:%M")
    fresh = not args.skip_seed
    if args.skip_seed and not (harness.REPO / "var" / f"bench-{NAME}-neo4j").exists():
        raise SystemExit("--skip-seed: var/bench-pages-neo4j does not exist; run once without it")
    seeded, poll_small = None, None
    with harness.neo4j_server(NAME, port=args.neo4j_port, heap=args.heap, fresh=fresh) as neo:
        with harness.app_server(NAME, neo.bolt_url, port=args.app_port, workers=args.workers,
                                threads=args.threads) as app:
            session = requests.Session()
            if not harness.login(session, app.url):
                raise SystemExit("could not log in as the bench user")
            if fresh:
                META_FILE.unlink(missing_ok=True)
                rng = random.Random(args.seed)
                t_now = clock.now_ms()
                first, first_n, rest, rest_n = workload(args, rng, t_now)
                plans = post_batches(app, [plan_events(args.tasks_per_execution)], [0], 1, 60)
                if plans.errors:
                    raise SystemExit("plan events were refused")
                s1 = seed(app, args, first, first_n, "phase 1")
                # Right after the first, cold requests: a longer warm-up so that JIT and caches settle.
                poll_small = measure_poll(session, app.url, args, warmup=max(args.warmup, 30))
                poll_small["tasks"] = graph_counts(neo.bolt_url)["tasks"]
                harness.log(f"poll at {poll_small['tasks']} task executions: "
                            f"204 p95 {poll_small['unchanged']['p95']:.1f} ms, changed p95 {poll_small['changed']['p95']:.1f} ms")
                s2 = seed(app, args, rest, rest_n, "phase 2")
                lat = s1.latencies + s2.latencies
                seeded = {"tasks": s1.tasks + s2.tasks, "events": s1.events + s2.events,
                          "requests": s1.requests + s2.requests, "seconds": s1.seconds + s2.seconds,
                          "errors": s1.errors + s2.errors, "p50": statistics.median(lat), "p95": pct(lat, 0.95)}
                META_FILE.write_text(json.dumps({"seeded": seeded, "poll_small": poll_small, "t_now": t_now, "started": started,
                                                 "executions": args.executions,
                                                 "tasks_per_execution": args.tasks_per_execution}))
                if seeded["errors"]:
                    harness.log(f"WARNING: {seeded['errors']} events/requests were refused while seeding")
            elif META_FILE.exists():
                meta = json.loads(META_FILE.read_text())
                poll_small = meta.get("poll_small")
                seeded = meta.get("seeded")
                if seeded:
                    seeded["reused"] = meta.get("started", "an earlier run")
                args.executions, args.tasks_per_execution = meta["executions"], meta["tasks_per_execution"]
            counts = graph_counts(neo.bolt_url)
            harness.log(f"graph: {counts}")

            load["pages"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
            pages = pages_to_measure(clock.today(), retried_task(neo.bolt_url), report_days=(30, 60),
                                     every_list_filter=True, report_api=False)
            rows = []
            for label, path, kind in pages:
                harness.log(f"measuring {label}: {path}")
                m = measure(session, app.url + path, args.requests, args.warmup)
                harness.log(f"  median {m['median']:.1f} ms, p95 {m['p95']:.1f} ms")
                rows.append((label, path, m, TARGETS_MS[kind]))
            harness.log("measuring the live poll")
            poll_large = measure_poll(session, app.url, args)
            rows.append(("live poll, unchanged (204)", f"/executions/{BIG}/poll?version=<current>", poll_large["unchanged"], TARGETS_MS["poll"]))
            rows.append(("live poll, changed (fragment)", f"/executions/{BIG}/poll?version=<current-1>", poll_large["changed"], TARGETS_MS["detail"]))

            workers = children(app.proc.pid)
            memory = {"workers": [vmrss_mb(p) or 0 for p in workers], "master": vmrss_mb(app.proc.pid) or 0,
                      "neo4j": neo4j_heap(neo.server.proc.pid) if neo.server else "external"}
            load["after"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
        # Keep the data dir for --skip-seed: harness.neo4j_server only deletes it when fresh=True at start.
    body = markdown(args, rows, poll_small, poll_large, seeded, counts, memory, load, started)
    print(body)
    if args.write:
        command = "python bench/pages.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(args.write, body, command.strip())
        harness.log(f"wrote the 'Pages at scale' section of {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
