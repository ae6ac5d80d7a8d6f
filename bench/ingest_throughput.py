"""Ingest throughput, same Neo4j, same machine, side by side in one run.

Phases (each writes its own executions, so every phase is checked on its own):

  (a) HTTP, one task result per request, N concurrent clients (a keep-alive connection each),
      through gunicorn (-w 2 -k gthread --threads 8), with the app's group commit of concurrent
      posts (executions.services.GroupCommit; --group-commit-max 1 turns it off);
  (b) HTTP, the batch endpoint POST /api/v1/events, B events per request, M concurrent clients;
  (c) the neo4j driver directly, one transaction per result, running the very Cypher statement
      of the ingest service (executions/cypher/ingest/write.cypher) with the same parameters
      (built by services.task_results_write), auto-commit as the service runs it, N concurrent;
  (d) the driver, the same statement UNWIND-batched B results per transaction, M concurrent
      (what the batch endpoint does in its one transaction, without HTTP and Django): the floor for (b);
  (e) what an orchestrator writes without us: the naive write per task result, by the Python driver
      (which sets TCP_NODELAY on its sockets itself): MERGE the task node with its properties, then
      add to the execution's counters, two auto-commit statements, on labels of its own
      (NaiveExecution, NaiveTask, with a uniqueness constraint on the MERGE key). No attempts, no
      replay answers, counters read-modify-written by the database. Run at each of --clients-list
      (default 1 and 8), and the product's (a) at the same client counts beside it (a1, a8, e1, e8).

Reports results/s for each, (a)/(c) and (b)/(d) (targets >= 1.0 and >= 0.9), (aN)/(eN), latency percentiles and
where the CPU went (app workers, Neo4j, this client). After every phase it checks that each
execution's counters and FAILED_TASK links in Neo4j equal what was sent, and fails (exit 1) if not.

    .venv/bin/python bench/ingest_throughput.py                              # defaults: 4,000 / 10,000 results per phase
    .venv/bin/python bench/ingest_throughput.py --executions 10 --batch-executions 10 --tasks 20 \
        --rounds 1 --warmup-max 0                                            # smoke run
    .venv/bin/python bench/ingest_throughput.py --write docs/benchmarks.md   # also (re)write that section
    .venv/bin/python bench/ingest_throughput.py --group-commit-max 1 --phases ac --write docs/benchmarks.md

A fresh Neo4j is started on --neo4j-port (default 7695) unless NEO4J_BOLT_URL is set; gunicorn
listens on 127.0.0.1:--app-port (default 8094).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httptools

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from executions import clock
from mimir_dashboard.gunicorn_logging import count_statuses

T0 = 1_763_000_000_000


# ---------------------------------------------------------------- workload


@dataclass
class Workload:
    prefix: str
    items: list[tuple[str, dict]]  # (executionId, TaskResultIn body), interleaved across executions
    expected: dict[str, dict[str, int]]  # per execution: counters as they must end up


def make_workload(prefix: str, executions: int, tasks: int, seed: int, fail_rate: float = 0.1) -> Workload:
    rng = random.Random(seed)
    items, expected = [], {}
    for e in range(executions):
        eid = f"{prefix}-e{e:04d}"
        exp = {"tasksSuccessful": 0, "tasksFailed": 0, "tokensTotal": 0, "toolCalls": 0, "failedLinks": 0, "tasks": 0}
        for t in range(tasks):
            failed = rng.random() < fail_rate
            tin, tout, calls = rng.randint(100, 5000), rng.randint(50, 2000), rng.randint(0, 12)
            result = {
                "status": "failure" if failed else "success",
                "output": "".join(rng.choice("abcdefghij ") for _ in range(rng.randint(100, 400))),
                "error": "QC rejected the output" if failed else None,
                "duration": rng.randint(1_000, 90_000),
                "tokens": {"input": tin, "output": tout},
                "toolCalls": calls,
                "timestamp": T0 + e * 1_000_000 + t * 1_000,
                "qcVerification": {"passed": not failed, "score": 30 if failed else 90,
                                   "feedback": "ok" if not failed else "missing tests",
                                   "issues": ["missing tests"] if failed else [], "requiredFixes": []},
            }
            items.append((eid, {"taskId": f"t{t:03d}", "result": result}))
            exp["tasksFailed" if failed else "tasksSuccessful"] += 1
            exp["failedLinks"] += failed
            exp["tokensTotal"] += tin + tout
            exp["toolCalls"] += calls
            exp["tasks"] += 1
        expected[eid] = exp
    rng.shuffle(items)
    return Workload(prefix, items, expected)


def batches(seq: list, size: int) -> list[list]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


# ---------------------------------------------------------------- verification


def verify(drv, wl: Workload) -> list[str]:
    """Compare every execution's stored counters with what was sent; return the mismatches."""
    return _compare(wl, _rows(drv, wl,
        "MATCH (e:OrchestrationExecution) WHERE e.executionId STARTS WITH $p "
        "RETURN e.executionId AS eid, e.tasksSuccessful AS tasksSuccessful, e.tasksFailed AS tasksFailed, "
        "e.tokensTotal AS tokensTotal, e.toolCalls AS toolCalls, "
        "size([(e)-[:FAILED_TASK]->(t) | t]) AS failedLinks, size([(e)-[:HAS_TASK_EXECUTION]->(t) | t]) AS tasks, "
        "COUNT { (e)-[:HAS_TASK_EXECUTION]->()-[:HAS_ATTEMPT]->() } AS attempts"),
        keys=["tasksSuccessful", "tasksFailed", "tokensTotal", "toolCalls", "failedLinks", "tasks"], attempts=True)


def naive_verify(drv, wl: Workload) -> list[str]:
    """verify() for phase e's own labels (it stores no attempts and no FAILED_TASK links)."""
    return _compare(wl, _rows(drv, wl,
        "MATCH (e:NaiveExecution) WHERE e.executionId STARTS WITH $p "
        "RETURN e.executionId AS eid, e.tasksSuccessful AS tasksSuccessful, e.tasksFailed AS tasksFailed, "
        "e.tokensTotal AS tokensTotal, e.toolCalls AS toolCalls, "
        "COUNT { (t:NaiveTask {executionId: e.executionId}) } AS tasks"),
        keys=["tasksSuccessful", "tasksFailed", "tokensTotal", "toolCalls", "tasks"], attempts=False)


def _rows(drv, wl: Workload, query: str) -> dict[str, dict]:
    with drv.session() as s:
        return {r["eid"]: r for r in s.run(query, p=wl.prefix + "-").data()}


def _compare(wl: Workload, got: dict[str, dict], *, keys: list[str], attempts: bool) -> list[str]:
    problems = []
    for eid, exp in wl.expected.items():
        row = got.get(eid)
        if row is None:
            problems.append(f"{eid}: missing")
            continue
        problems += [f"{eid}: {key} = {row[key]}, expected {exp[key]}" for key in keys if row[key] != exp[key]]
        if attempts and row["attempts"] != exp["tasks"]:
            problems.append(f"{eid}: {row['attempts']} attempts stored, expected {exp['tasks']}")
    extra = set(got) - set(wl.expected)
    if extra:
        problems.append(f"unexpected executions: {sorted(extra)[:5]}")
    return problems


# ---------------------------------------------------------------- CPU accounting (Linux /proc)


def _stat_cpu(stat_path: str) -> float:
    """User + system CPU seconds from a /proc stat file (a process's or one of its threads')."""
    try:
        with open(stat_path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0  # the process or thread ended meanwhile


def _proc_cpu(pid: int) -> float:
    return _stat_cpu(f"/proc/{pid}/stat")


def jit_cpu(pid: int) -> float:
    """CPU seconds of a JVM's JIT compiler threads (HotSpot names them "C1/C2 CompilerThreadN")."""
    total = 0.0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                compiler = "CompilerThre" in f.read()
        except OSError:
            continue  # the thread ended meanwhile
        if compiler:
            total += _stat_cpu(f"/proc/{pid}/task/{tid}/stat")
    return total


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (nginx's master and worker)."""
    return sum(_proc_cpu(p) for p in [pid, *_children(pid)])


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def pin(pid: int, cpus: set[int]) -> int:
    """Bind every thread of pid and of its child processes to `cpus`; threads started later inherit
    it. Returns the number of threads bound."""
    bound = 0
    for proc in [pid, *_children(pid)]:
        for tid in os.listdir(f"/proc/{proc}/task"):
            try:
                os.sched_setaffinity(int(tid), cpus)
                bound += 1
            except (ProcessLookupError, PermissionError):
                pass
    return bound


class CpuMeter:
    """CPU seconds used by the app (gunicorn master + workers), Neo4j's JVM, the alert worker (when
    `--alert-rules` runs one) and this process."""

    def __init__(self, app_pid: int | None, neo4j_pid: int | None):
        self.app_pid, self.neo4j_pid = app_pid, neo4j_pid
        self.worker_pid: int | None = None

    def sample(self) -> dict[str, float]:
        app = 0.0
        if self.app_pid:
            app = sum(_proc_cpu(p) for p in [self.app_pid, *_children(self.app_pid)])
        neo = _proc_cpu(self.neo4j_pid) if self.neo4j_pid else 0.0
        jit = jit_cpu(self.neo4j_pid) if self.neo4j_pid else 0.0
        worker = _proc_cpu(self.worker_pid) if self.worker_pid else 0.0
        return {"app": app, "neo4j": neo, "jit": jit, "worker": worker, "client": time.process_time()}

    def settle(self, idle_cores: float = 0.1, max_seconds: float = 30) -> float:
        """Wait until the app and Neo4j are idle (background work such as garbage collection or a
        checkpoint left by the previous phase would otherwise be billed to the next one)."""
        began = time.monotonic()
        quiet = 0
        while time.monotonic() - began < max_seconds and quiet < 2:
            before = self.sample()
            time.sleep(0.5)
            after = self.sample()
            busy = (after["app"] - before["app"] + after["neo4j"] - before["neo4j"]) / 0.5
            quiet = quiet + 1 if busy < idle_cores else 0
        return time.monotonic() - began


# ---------------------------------------------------------------- phases


@dataclass
class PhaseResult:
    name: str
    label: str
    results: int
    seconds: float
    clients: int
    per_request: int
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    round_rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.results / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float | None:
        if not self.latencies:
            return None
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


def _pool_run(fn, work: list, clients: int, max_seconds: float) -> tuple[float, list[float], list[str]]:
    """Run fn(item) for every item on `clients` threads; bounded by count and by time."""
    deadline = time.monotonic() + max_seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(item):
        if time.monotonic() > deadline:
            with lock:
                errors.append("time limit reached before this item was sent")
            return
        began = time.perf_counter()
        try:
            error = fn(item)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - began
        with lock:
            latencies.append(elapsed)
            if error:
                errors.append(error)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, work))
    return time.perf_counter() - began, latencies, errors


class _KeepAliveClients:
    """One keep-alive connection per client thread, sending requests encoded before the clock starts.

    The load generator shares the two cores with the server, so it should cost as little as it can
    (a real orchestrator would not run on this box): harness.KeepAliveConnection."""

    def __init__(self, app: harness.AppServer):
        parts = urlsplit(app.url)
        self.host, self.port = parts.hostname, parts.port
        self.head = (f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {app.token}\r\n"
                     "Content-Type: application/json\r\n")
        self.local = threading.local()
        self.opened: list[harness.KeepAliveConnection] = []

    def encode(self, path: str, body: bytes) -> bytes:
        return f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    def post(self, request: bytes, timeout: float) -> tuple[int, bytes]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = harness.KeepAliveConnection(self.host, self.port, timeout)
            self.opened.append(conn)
        try:
            return conn.exchange(request)
        except (httptools.HttpParserError, OSError):
            conn.sock.close()
            self.local.conn = None
            raise

    def close(self) -> None:
        for conn in self.opened:
            conn.sock.close()


def http_single(app: harness.AppServer, wl: Workload, clients: int, max_seconds: float) -> tuple:
    conns = _KeepAliveClients(app)
    requests = [conns.encode(f"/api/v1/executions/{eid}/tasks", json.dumps(body).encode()) for eid, body in wl.items]

    def post(request):
        status, data = conns.post(request, timeout=60)
        if status != 201:
            return f"HTTP {status}: {data[:200]!r}"
        return None

    try:
        return _pool_run(post, requests, clients, max_seconds)
    finally:
        conns.close()


def http_batch(app: harness.AppServer, wl: Workload, size: int, clients: int, max_seconds: float) -> tuple:
    conns = _KeepAliveClients(app)
    bodies = [
        conns.encode("/api/v1/events", json.dumps(
            {"events": [{"type": "task_result", "executionId": eid, **body} for eid, body in chunk]}).encode())
        for chunk in batches(wl.items, size)
    ]
    fallbacks = []

    def post(body):
        status, raw = conns.post(body, timeout=120)
        if status != 200:
            return f"HTTP {status}: {raw[:200]!r}"
        data = json.loads(raw)
        bad = [x for x in data["results"] if x["status"] != 201]
        if data["transactions"] != 1:
            fallbacks.append(data["transactions"])
        if bad:
            return f"{len(bad)} events not created, e.g. {bad[0]}"
        return None

    try:
        seconds, lat, errors = _pool_run(post, bodies, clients, max_seconds)
    finally:
        conns.close()
    if fallbacks:
        errors.append(f"{len(fallbacks)} batches fell back to one transaction per event")
    return seconds, lat, errors


def service_writes(items: list[tuple[str, dict]], size: int, now: int) -> list[dict]:
    """The parameters executions.services builds for these results, `size` results per write (the same
    code: services.task_results_write over the validated pydantic models)."""
    from executions import schemas, services

    writes = []
    for chunk in batches(list(enumerate(items)), size):
        validated = [(idx, eid, schemas.TaskResultIn.model_validate(body)) for idx, (eid, body) in chunk]
        write = services.task_results_write(now=now, items=validated)
        writes.append(services.write_params(now=now, eids=write.execution_ids, touched=write.touched, **write.params))
    return writes


def _driver_write(session, params: dict) -> None:
    """The one statement of an ingest write, run as the ingest service runs it: auto-commit."""
    from executions.cypher import statement

    record = session.run(statement("ingest/write"), params).single(strict=True)
    if record["conflicts"] or not all(r["created"] for r in record["recorded"]):
        raise RuntimeError("an attempt was not created")


def driver_phase(drv, wl: Workload, size: int, clients: int, max_seconds: float) -> tuple:
    # Parameters are built before the clock starts: this phase is the database floor.
    writes = service_writes(wl.items, size, clock.now_ms())

    def write(params):
        with drv.session() as s:
            _driver_write(s, params)
        return None

    return _pool_run(write, writes, clients, max_seconds)


NAIVE_SCHEMA = [
    "CREATE CONSTRAINT naive_task_key IF NOT EXISTS FOR (t:NaiveTask) REQUIRE (t.executionId, t.taskId) IS UNIQUE",
    "CREATE CONSTRAINT naive_execution_key IF NOT EXISTS FOR (e:NaiveExecution) REQUIRE e.executionId IS UNIQUE",
]
NAIVE_EXECUTION = ("MERGE (e:NaiveExecution {executionId: $eid}) ON CREATE SET e.tasksSuccessful = 0, "
                   "e.tasksFailed = 0, e.tokensTotal = 0, e.toolCalls = 0")
NAIVE_TASK = "MERGE (t:NaiveTask {executionId: $eid, taskId: $taskId}) SET t += $props"
NAIVE_COUNTERS = ("MATCH (e:NaiveExecution {executionId: $eid}) SET e.tasksSuccessful = e.tasksSuccessful + $ok, "
                  "e.tasksFailed = e.tasksFailed + $failed, e.tokensTotal = e.tokensTotal + $tokens, "
                  "e.toolCalls = e.toolCalls + $calls")


def naive_params(eid: str, body: dict) -> tuple[dict, dict]:
    """The two statements' parameters for one result, as an orchestrator would flatten it."""
    r, qc = body["result"], body["result"]["qcVerification"]
    failed = r["status"] != "success"
    props = {"status": r["status"], "output": r["output"], "error": r["error"], "duration": r["duration"],
             "tokensInput": r["tokens"]["input"], "tokensOutput": r["tokens"]["output"],
             "toolCalls": r["toolCalls"], "timestamp": r["timestamp"], "qcPassed": qc["passed"],
             "qcScore": qc["score"], "qcFeedback": qc["feedback"]}
    counters = {"eid": eid, "ok": int(not failed), "failed": int(failed),
                "tokens": r["tokens"]["input"] + r["tokens"]["output"], "calls": r["toolCalls"]}
    return {"eid": eid, "taskId": body["taskId"], "props": props}, counters


def naive_prepare(drv, wl: Workload) -> None:
    """The constraints and the workload's executions (an orchestrator creates those at start)."""
    with drv.session() as s:
        for text in NAIVE_SCHEMA:
            s.run(text).consume()
        s.run("UNWIND $eids AS eid " + NAIVE_EXECUTION.replace("$eid", "eid"), eids=list(wl.expected)).consume()


def naive_phase(drv, wl: Workload, clients: int, max_seconds: float) -> tuple:
    naive_prepare(drv, wl)
    writes = [naive_params(eid, body) for eid, body in wl.items]  # built before the clock, as in (c)

    def write(params):
        task, counters = params
        with drv.session() as s:
            s.run(NAIVE_TASK, task).consume()
            s.run(NAIVE_COUNTERS, counters).consume()
        return None

    return _pool_run(write, writes, clients, max_seconds)


@dataclass
class WarmUp:
    results: int = 0  # per path
    jit_share: float | None = None  # JIT compilers' share of Neo4j's CPU in the last cycle
    quiet: bool = False


def warm_up(run_path, paths: str, neo4j_pid: int | None, *, minimum: int, maximum: int,
            quiet_share: float, chunk: int = 1000) -> WarmUp:
    """Write results through every path in cycles of `chunk` until at least `minimum` went through
    each and the JVM's JIT compilers used less than `quiet_share` of Neo4j's CPU in two cycles in a row
    (or `maximum` went through each). Neo4j's JVM compiles for well over ten thousand transactions;
    measured before that, a phase pays for compilation in proportion to how long it runs, and the
    slower HTTP phases pay the most."""
    state = WarmUp()
    cycle = quiet_cycles = 0
    while state.results < maximum:
        jit0, neo0 = (jit_cpu(neo4j_pid), _proc_cpu(neo4j_pid)) if neo4j_pid else (0.0, 0.0)
        for key in paths:
            run_path(key, f"c{cycle}", chunk)
        state.results += chunk
        cycle += 1
        if not neo4j_pid:  # an external Neo4j: its threads cannot be seen, so only the minimum applies
            if state.results >= minimum:
                break
            continue
        neo = _proc_cpu(neo4j_pid) - neo0
        state.jit_share = (jit_cpu(neo4j_pid) - jit0) / neo if neo > 0 else 0.0
        harness.log(f"warm-up: {state.results} results through each path; the JIT compilers used "
                    f"{state.jit_share:.0%} of Neo4j's CPU in the last cycle")
        # Two quiet cycles in a row: a single one is often a pause between two bursts of compilation.
        quiet_cycles = quiet_cycles + 1 if state.jit_share < quiet_share else 0
        if state.results >= minimum and quiet_cycles >= 2:
            state.quiet = True
            break
    return state


# ---------------------------------------------------------------- report


def warm_text(warm: WarmUp, args) -> str:
    if not warm.results:
        return "No warm-up (`--warmup-max 0`): the JVM was still compiling."
    text = f"Before measuring, {warm.results:,} results went through each measured path"
    if warm.jit_share is None:
        return text + " (an external Neo4j: its JIT compilers could not be watched)."
    if warm.quiet:
        return (text + f", until Neo4j's JIT compilers used less than {args.jit_quiet:.0%} of its CPU in two "
                f"cycles of 1,000 in a row ({warm.jit_share:.0%} in the last): the JVM's steady state.")
    return (text + f"; the JIT compilers still used {warm.jit_share:.0%} of Neo4j's CPU "
            f"(threshold {args.jit_quiet:.0%}, not reached within --warmup-max): not yet the steady state.")


# Kinds of the alert rules `--alert-rules` configures, with their thresholds: they read what the
# benchmark writes (QC scores, retries, failures), so the worker's detection has work to do.
ALERT_RULE_OPTIONS = [
    ("execution_failed", []), ("execution_stale", []), ("qc_score_below", ["--qc-score-below", "70"]),
    ("attempts_above", ["--attempts-above", "1"]),
    ("failure_rate_above", ["--failure-rate-above", "0.05", "--window-minutes", "60"]),
]


class _AlertReceiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_alerting(env: dict[str, str], *, rules: int, cleanup: contextlib.ExitStack) -> int:
    """`rules` alert rules on webhook channels to a loopback receiver, and the delivery worker, as
    `make run` runs it beside gunicorn. Answers the worker's pid."""
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _AlertReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    cleanup.callback(receiver.shutdown)
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    for channel in range(-(-rules // len(ALERT_RULE_OPTIONS))):
        kinds = ALERT_RULE_OPTIONS[: min(len(ALERT_RULE_OPTIONS), rules - channel * len(ALERT_RULE_OPTIONS))]
        harness.manage(env, "add_webhook", f"bench-{channel}", url, "--on", ",".join(k for k, _ in kinds),
                       *[o for _, options in kinds for o in options])
    worker = subprocess.Popen([sys.executable, "manage.py", "deliver_alerts"], cwd=harness.REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cleanup.callback(harness.terminate_group, worker)
    harness.log(f"{rules} alert rules on {-(-rules // len(ALERT_RULE_OPTIONS))} webhook channels; "
                f"deliver_alerts running (pid {worker.pid})")
    return worker.pid


def markdown(results: dict[str, PhaseResult], args, started: str, load_before: tuple, warm: WarmUp) -> str:
    r = results
    lines = [
        f"Run {started} on {platform.node() or 'this machine'}: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average before the run {load_before[0]:.2f}. "
        f"{args.tasks} task results per execution: {args.executions} executions "
        f"({args.executions * args.tasks:,} results) per one-result phase, {args.batch_executions} "
        f"({args.batch_executions * args.tasks:,} results) per batch phase "
        f"(10 % failures, ~250-byte outputs, QC verdicts), batch size {args.batch_size}, gunicorn -w {args.workers} "
        f"-k gthread --threads {args.threads}, "
        + (f"group commit of up to {args.group_commit_max} concurrent one-result posts per statement "
           f"(`INGEST_GROUP_COMMIT_MAX`), " if args.group_commit_max > 1
           else "**no group commit** (`--group-commit-max 1`: every one-result post is its own statement), ")
        + f"Neo4j heap {args.heap}"
        + (", **Neo4j pinned to core 0, gunicorn and the clients to the other cores** (`--pin`)." if args.pin
           else ", no CPU pinning (Neo4j, gunicorn and the clients share every core).")
        + (f" **{args.alert_rules} alert rules** configured and `manage.py deliver_alerts` running beside gunicorn "
           "(`--alert-rules`)." if args.alert_rules else ""),
        "",
        f"Each phase ran {args.rounds} times (the order reversed every other round, each phase started on an idle "
        f"machine): the median round is shown, every round's rate in brackets. {warm_text(warm, args)}",
        "",
        "| phase | what | clients | results/request | results/s (median) | rounds | p50 ms | p95 ms | CPU s per 1000 "
        f"results: app / Neo4j (its JIT){' / alert worker' if args.alert_rules else ''} / client | counters |",
        "|---|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for key in sorted(r, key=lambda k: ("abcdepq".index(k[0]), int(k[1:] or 0))):
        p = r[key]
        n = max(p.results, 1) / 1000
        cpu = (f"{p.cpu.get('app', 0) / n:.2f} / {p.cpu.get('neo4j', 0) / n:.2f} "
               f"({p.cpu.get('jit', 0) / n:.2f}) / "
               + (f"{p.cpu.get('worker', 0) / n:.2f} / " if args.alert_rules else "")
               + f"{p.cpu.get('client', 0) / n:.2f}")
        p50, p95 = p.pct(0.5), p.pct(0.95)
        ok = "exact" if not p.problems else f"**{len(p.problems)} mismatches**"
        lines.append(
            f"| ({key}) | {p.label} | {p.clients} | {p.per_request} | {p.rate:,.0f} | "
            f"[{', '.join(f'{x:,.0f}' for x in p.round_rates)}] | {p50:.1f} | {p95:.1f} | {cpu} | {ok} |"
        )
    lines.append("")
    if "a" in r and "c" in r:
        ratio = r["a"].rate / r["c"].rate
        lines.append(f"- (a)/(c) = **{ratio:.2f}** (target >= 1.0): {'met' if ratio >= 1.0 else 'NOT met'}")
    if "b" in r and "c" in r:
        lines.append(f"- (b)/(c) = **{r['b'].rate / r['c'].rate:.2f}** (the batch endpoint against one driver transaction per result)")
    if "b" in r and "d" in r:
        ratio = r["b"].rate / r["d"].rate
        lines.append(f"- (b)/(d) = **{ratio:.2f}** (target >= 0.9): {'met' if ratio >= 0.9 else 'NOT met'}")
    for n in args.clients_list:
        if f"a{n}" in r and f"e{n}" in r:
            ratio = r[f"a{n}"].rate / r[f"e{n}"].rate
            lines.append(f"- (a{n})/(e{n}) = **{ratio:.2f}** (the product against the naive driver write, {n} "
                         f"client{'s' if n > 1 else ''}; target >= 1.0): {'met' if ratio >= 1.0 else 'NOT met'}")
    if "a1" in r:
        p50 = r["a1"].pct(0.5)
        lines.append(f"- (a1) p50 = **{p50:.1f} ms** per result with one client (target <= 2 ms): "
                     f"{'met' if p50 <= 2 else 'NOT met'}")
    if "p" in r and "a" in r:
        lines.append(f"- (p)/(a) = **{r['p'].rate / r['a'].rate:.2f}** (one result per request, through nginx against direct)")
    if "q" in r and "b" in r:
        lines.append(f"- (q)/(b) = **{r['q'].rate / r['b'].rate:.2f}** (batches, through nginx against direct)")
    for p in r.values():
        for note in p.notes:
            lines.append(f"- ({p.name}) {note}")
    return "\n".join(lines) + "\n"


def write_section(path: Path, body: str, command: str, pinned: bool, grouped: bool) -> None:
    """(Re)write this run's section: one each for shared cores, a pinned run (--pin) and a run without
    group commit (--group-commit-max 1)."""
    key = "ingest-throughput" + ("-pinned" if pinned else "") + ("" if grouped else "-no-group-commit")
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    title = "Ingest throughput" + (", Neo4j on its own core" if pinned else "") + \
        ("" if grouped else ", without group commit (every result its own statement)")
    section = f"{start}\n## {title} (bench/ingest_throughput.py)\n\nCommand: `{command}`\n\n{body}{end}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end) + "\n?", lambda m: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def phase_keys(phases: str, clients_list: list[int]) -> list[str]:
    """The phases to run, in order: each letter, with e expanded to (aN) and (eN) for every N."""
    keys: list[str] = []
    for letter in phases:
        keys += [f"a{n}" for n in clients_list] + [f"e{n}" for n in clients_list] if letter == "e" else [letter]
    return keys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--executions", type=int, default=80, help="executions per one-result phase, (a) and (c)")
    ap.add_argument("--batch-executions", type=int, default=200, help="executions per batch phase, (b) and (d)")
    ap.add_argument("--tasks", type=int, default=50, help="task results per execution")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients for (a) and (c)")
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--batch-clients", type=int, default=4, help="concurrent clients for (b) and (d)")
    ap.add_argument("--warmup", type=int, default=2000, help="at least this many results through each measured path "
                    "before measuring")
    ap.add_argument("--warmup-max", type=int, default=40000, help="at most this many (0: no warm-up at all)")
    ap.add_argument("--jit-quiet", type=float, default=0.05, help="warm up until Neo4j's JIT compilers use less "
                    "than this share of its CPU")
    ap.add_argument("--phases", default="abcd", help="phases to run, in this order (reversed every other round); "
                    "also p and q: (a) and (b) through nginx in front of the same gunicorn, as `make run` serves it; "
                    "e: the naive driver write and (a) at each of --clients-list")
    ap.add_argument("--proxy-port", type=int, help="nginx's port for the phases p and q (default: --app-port + 1)")
    ap.add_argument("--rounds", type=int, default=3, help="run every phase this many times; the median is reported")
    ap.add_argument("--max-seconds", type=float, default=600, help="time limit per phase")
    ap.add_argument("--neo4j-port", type=int, default=7695)
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--app-port", type=int, default=8094)
    ap.add_argument("--group-commit-max", type=int, default=64,
                    help="the app's INGEST_GROUP_COMMIT_MAX (its default: 64); 1 writes every result on its own")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pin", action="store_true", help="Neo4j on core 0, everything else on the other cores")
    ap.add_argument("--alert-rules", type=int, default=0,
                    help="configure this many alert rules (issue #16) and run manage.py deliver_alerts beside gunicorn")
    ap.add_argument("--write", type=Path, help="(re)write the 'Ingest throughput' section of this markdown file")
    ap.add_argument("--clients-list", type=lambda v: [int(x) for x in v.split(",")], default=[1, 8],
                    help="client counts for phase e: the naive write, and the product's (a) beside it, at each")
    args = ap.parse_args(argv)
    if args.group_commit_max < 1:
        ap.error("--group-commit-max must be >= 1")
    keys = phase_keys(args.phases, args.clients_list)
    harness.install_signal_handlers()
    started = time.strftime("%Y-%m-%d %H:%M")
    load_before = os.getloadavg()
    command = "python bench/ingest_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])

    results: dict[str, PhaseResult] = {}
    warm = WarmUp()
    failed = False
    try:
        with harness.neo4j_server("throughput", port=args.neo4j_port, heap=args.heap) as neo:
            with harness.app_server("throughput", neo.bolt_url, port=args.app_port, workers=args.workers,
                                    threads=args.threads,
                                    extra_env={"INGEST_GROUP_COMMIT_MAX": str(args.group_commit_max)}) as app, \
                    contextlib.ExitStack() as cleanup:
                import django

                os.environ.update({k: v for k, v in app.env.items() if k.startswith(("DJANGO", "NEO4J", "DATABASE"))})
                django.setup()  # for executions.schemas/services (no database is touched here)
                drv = harness.driver(neo.bolt_url, max_pool=max(64, args.clients * 2))
                run_id = uuid.uuid4().hex[:6]
                meter = CpuMeter(app.proc.pid, neo.server.proc.pid if neo.server else None)
                if args.pin:
                    if not neo.server or (os.cpu_count() or 1) < 2:
                        raise SystemExit("--pin needs the Neo4j this script starts and at least 2 cores")
                    # Neo4j on core 0; gunicorn, the load generator and the driver clients on the others:
                    # what a database on its own core (or machine) looks like, on one box.
                    others = set(range(1, os.cpu_count() or 2))
                    harness.log(f"pinned {pin(neo.server.proc.pid, {0})} Neo4j threads to core 0, "
                                f"{pin(app.proc.pid, others)} gunicorn threads and "
                                f"{pin(os.getpid(), others)} of this process's threads to cores {sorted(others)}")
                neo4j_pid = neo.server.proc.pid if neo.server else None
                proxy = None
                if set(args.phases) & set("pq"):
                    from scripts import proxy_server

                    # nginx as scripts/run.sh configures it, here to gunicorn's TCP port (run.sh: a
                    # unix socket), so that both paths reach the same workers and the same Neo4j.
                    proxy = proxy_server.start(harness.REPO / "var" / "bench-throughput-nginx",
                                               args.proxy_port or args.app_port + 1,
                                               f"127.0.0.1:{args.app_port}", app_env=app.env)
                    cleanup.callback(proxy_server.stop, proxy)
                    proxied = dataclasses.replace(app, url=proxy.url)
                    harness.log(f"nginx on {proxy.url} in front of gunicorn on {app.url}")

                if args.alert_rules:
                    meter.worker_pid = start_alerting(app.env, rules=args.alert_rules, cleanup=cleanup)
                specs = {
                    "a": ("HTTP, one result per request" + (", group commit" if args.group_commit_max > 1 else ""),
                          args.clients, 1,
                          lambda wl: http_single(app, wl, args.clients, args.max_seconds)),
                    "b": ("HTTP batch POST /api/v1/events", args.batch_clients, args.batch_size,
                          lambda wl: http_batch(app, wl, args.batch_size, args.batch_clients, args.max_seconds)),
                    "c": ("driver, one transaction per result (service statement)", args.clients, 1,
                          lambda wl: driver_phase(drv, wl, 1, args.clients, args.max_seconds)),
                    "d": ("driver, UNWIND batch per transaction (service statement)", args.batch_clients, args.batch_size,
                          lambda wl: driver_phase(drv, wl, args.batch_size, args.batch_clients, args.max_seconds)),
                    "p": ("(a) through nginx", args.clients, 1,
                          lambda wl: http_single(proxied, wl, args.clients, args.max_seconds)),
                    "q": ("(b) through nginx", args.batch_clients, args.batch_size,
                          lambda wl: http_batch(proxied, wl, args.batch_size, args.batch_clients, args.max_seconds)),
                }
                for n in args.clients_list:
                    specs[f"a{n}"] = (specs["a"][0], n, 1, lambda wl, n=n: http_single(app, wl, n, args.max_seconds))
                    specs[f"e{n}"] = ("naive driver write: MERGE task + SET counters (2 statements)", n, 1,
                                      lambda wl, n=n: naive_phase(drv, wl, n, args.max_seconds))
                # Warm-up goes through each path once, at its widest client count: (aN) is (a)'s path.
                specs["e"] = specs[f"e{max(args.clients_list)}"]

                def warm_path(key: str, tag: str, count: int) -> None:
                    specs[key][3](make_workload(f"w{run_id}{tag}{key}", max(1, count // 20), 20, 90 + ord(key)))

                warm_paths = "".join(sorted(set(args.phases) | ({"a"} if "e" in args.phases else set()),
                                            key=(args.phases + "a").index))
                if args.warmup_max:
                    warm = warm_up(warm_path, warm_paths, neo4j_pid, minimum=args.warmup,
                                   maximum=max(args.warmup, args.warmup_max), quiet_share=args.jit_quiet)

                rounds: dict[str, list[PhaseResult]] = {}
                for rnd in range(args.rounds):
                    # Alternate the order so that no phase always runs first or right after another.
                    order = keys if rnd % 2 == 0 else keys[::-1]
                    for i, key in enumerate(order):
                        label, clients, per_request, run = specs[key]
                        # The same results (same seed) in every phase, under a phase-specific prefix.
                        # Batch phases get more results so that they, too, last seconds rather than a few requests.
                        executions = args.batch_executions if key[0] in "bdq" else args.executions
                        wl = make_workload(f"p{run_id}r{rnd}{i}{key}", executions, args.tasks, args.seed)
                        waited = meter.settle()
                        harness.log(f"round {rnd + 1} phase ({key}) {label}: {len(wl.items)} results, {clients} clients "
                                    f"(waited {waited:.1f} s for an idle machine)")
                        before = meter.sample()
                        nginx_before = _tree_cpu(proxy.proc.pid) if proxy else 0.0
                        seconds, latencies, errors = run(wl)
                        after = meter.sample()
                        res = PhaseResult(key, label, len(wl.items), seconds, clients, per_request, latencies,
                                          {k: after[k] - before[k] for k in after})
                        if proxy and key in "pq":
                            # nginx's CPU is the proxy's cost; it is counted with the app's.
                            nginx = _tree_cpu(proxy.proc.pid) - nginx_before
                            res.cpu["app"] += nginx
                            res.notes.append(f"nginx used {nginx / max(len(wl.items), 1) * 1000:.2f} CPU s per 1000 "
                                             "results (included in the app's column)")
                        res.problems = naive_verify(drv, wl) if key[0] == "e" else verify(drv, wl)
                        if errors:
                            res.notes.append(f"{len(errors)} errors, e.g. {errors[0]}")
                        rounds.setdefault(key, []).append(res)
                        harness.log(f"phase ({key}): {res.rate:,.0f} results/s in {seconds:.1f} s; "
                                    f"counters {'exact' if not res.problems else 'WRONG: ' + '; '.join(res.problems[:3])}")
                        failed |= bool(res.problems or errors)
                for key, runs in rounds.items():
                    # Report the round with the median rate; keep every round's rate beside it.
                    ranked = sorted(runs, key=lambda r: r.rate)
                    results[key] = ranked[(len(ranked) - 1) // 2]
                    results[key].round_rates = [r.rate for r in runs]
                    results[key].notes = [n for r in runs for n in r.notes]
                    results[key].problems = [p for r in runs for p in r.problems]
                drv.close()
                statuses = count_statuses(app.log_path)
                server_errors = {c: n for c, n in statuses.items() if c >= 500}
                if server_errors:
                    failed = True
                    harness.log(f"gunicorn answered 5xx: {server_errors}")
    except KeyboardInterrupt:
        harness.log("interrupted; everything was stopped")
        return 130
    body = markdown(results, args, started, load_before, warm)
    print(body)
    if args.write:
        write_section(args.write, body, command, pinned=args.pin, grouped=args.group_commit_max > 1)
        harness.log(f"wrote the section into {args.write}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
