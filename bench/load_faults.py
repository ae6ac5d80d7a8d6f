"""Reliability under load: many orchestrators, duplicates, disorder and (optionally) a Neo4j outage.

>= 32 concurrent orchestrator clients post thousands of task results across many executions through
gunicorn: every execution has failures and retries (attempt 1 fails, attempt 2 passes), 10 % of posts
are replayed verbatim, some executions get task results before their start event. Each client keeps
its own log of what it sent and what it got, and retries on 503 / connection errors after honoring
Retry-After (posts are idempotent, so that is safe).

With --kill-neo4j-at 0.4 --down-seconds 8, Neo4j is stopped (SIGTERM via scripts.neo4j_server.stop)
once 40 % of the events are acknowledged and restarted on the same data dir after 8 s. During the
outage the script records that ingest answers 503 + Retry-After, that a DB-backed API read answers a
JSON 503 and /healthz a 503, and that `/` answers no other 5xx.

Afterwards every execution's counters (tasksSuccessful, tasksFailed, tokensTotal, toolCalls, tasksTotal,
status) and its FAILED_TASK links must equal what the clients' logs say, replays must have been answered
`replayed: true`, and there must be zero 5xx other than 503s during the outage. Exit 1 otherwise.

    .venv/bin/python bench/load_faults.py                                          # 40 x 60, 32 clients
    .venv/bin/python bench/load_faults.py --kill-neo4j-at 0.4 --down-seconds 8
    .venv/bin/python bench/load_faults.py --executions 8 --tasks 20 --kill-neo4j-at 0.4   # smoke run

A fresh Neo4j on --neo4j-port (default 7695) unless NEO4J_BOLT_URL is set (no fault injection then);
gunicorn on 127.0.0.1:--app-port (default 8095).

With --hosts N, N app hosts (gunicorn, each behind its own nginx unless --direct) on --app-port,
--app-port + 1, ... share the one Neo4j and one Django database (SQLite in WAL mode here; Postgres in
production, docs/deploy.md). Client i sends its events to host i % N and its replays to host
(i + 1) % N, so that every replay is answered by another process than the one that stored the
original; the outage probes ask every host. --compare-hosts runs the same workload with 1 host and
then with 2 (or --hosts), each on a fresh Neo4j, and prints both throughputs and their ratio:

    .venv/bin/python bench/load_faults.py --compare-hosts --kill-neo4j-at 0.4
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mimir_dashboard.gunicorn_logging import count_statuses

# The workload, the clients and the checks are shared with tests/test_reliability_load.py.
from scripts.orchestrator_load import (
    VERIFY_QUERY,
    Client,
    compare,
    cross_host_replays,
    expected_from_logs,
    make_scripts,
    run_clients,
    status_summary,
)

# ---------------------------------------------------------------- slow clients (the attack)


class SlowClients:
    """`n` sockets that each keep the server reading a request that never completes, reopened as soon
    as the server closes one (an attacker reconnects), until stop() or `max_seconds`.

    mode `headers`: a request line, then one more header line every `interval` s, never the blank line
    that ends the headers. mode `body`: complete headers announcing a 1 MB body, then one byte of it
    every `interval` s. mode `mixed`: every other socket each way. One thread drives them all with
    non-blocking sockets. Only 127.0.0.1 is targeted.
    """

    def __init__(self, port: int, n: int, *, interval: float = 2.0, mode: str = "mixed",
                 max_seconds: float = 600, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit("slow clients only target 127.0.0.1")
        self.host, self.port, self.n, self.interval, self.mode = host, port, n, interval, mode
        self.max_seconds = max_seconds
        self.opened = 0
        self.closed_by_server = 0
        self.connect_errors = 0
        self.lifetimes: dict[str, list[float]] = collections.defaultdict(list)  # seconds until the server closed it
        self.answers: collections.Counter = collections.Counter()  # what the server said before closing
        self.max_open = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _kind(self, i: int) -> str:
        return self.mode if self.mode != "mixed" else ("headers", "body")[i % 2]

    def _open(self, i: int):
        import socket

        kind = self._kind(i)
        try:
            sock = socket.create_connection((self.host, self.port), timeout=5)
        except OSError:
            self.connect_errors += 1
            return None
        sock.setblocking(False)
        if kind == "headers":
            first = f"POST /api/v1/events HTTP/1.1\r\nHost: {self.host}\r\n".encode()
        else:
            first = (f"POST /api/v1/events HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000000\r\n\r\n{").encode()
        try:
            sock.send(first)
        except OSError:
            sock.close()
            self.connect_errors += 1
            return None
        self.opened += 1
        now = time.monotonic()
        return {"sock": sock, "kind": kind, "opened": now, "next": now + self.interval, "n": 0, "said": b""}

    def _run(self) -> None:
        import select

        deadline = time.monotonic() + self.max_seconds
        conns: dict[int, dict | None] = {i: None for i in range(self.n)}
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for i, c in conns.items():
                    if c is None:
                        conns[i] = self._open(i)
                live = {c["sock"]: (i, c) for i, c in conns.items() if c is not None}
                self.max_open = max(self.max_open, len(live))
                readable, _, _ = select.select(list(live), [], [], 0.1)
                now = time.monotonic()
                for sock in readable:  # the server answered or closed: record, then reopen
                    i, c = live[sock]
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        data = b""
                    if data:
                        c["said"] += data
                        continue
                    self._closed(c, now)
                    conns[i] = None
                for i, c in list(conns.items()):
                    if c is None or c["next"] > now:
                        continue
                    c["n"] += 1
                    chunk = f"X-Slow-{c['n']}: {'a' * 8}\r\n".encode() if c["kind"] == "headers" else b" "
                    try:
                        c["sock"].send(chunk)
                        c["next"] = now + self.interval
                    except OSError:  # reset by the server
                        self._closed(c, now)
                        conns[i] = None
        finally:
            for c in conns.values():
                if c is not None:
                    c["sock"].close()

    def _closed(self, c: dict, now: float) -> None:
        c["sock"].close()
        self.closed_by_server += 1
        self.lifetimes[c["kind"]].append(now - c["opened"])
        status = c["said"].split(b" ", 2)[1].decode(errors="replace") if c["said"].startswith(b"HTTP/") else "none"
        self.answers[(c["kind"], status)] += 1

    def start(self) -> SlowClients:
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def summary(self) -> str:
        parts = [f"{self.n} slow sockets ({self.mode}, one more byte or header every {self.interval:g} s): "
                 f"{self.opened} opened, at most {self.max_open} open at once, {self.closed_by_server} closed by the "
                 f"server, {self.connect_errors} connect errors"]
        kinds = ("headers", "body") if self.mode == "mixed" else (self.mode,)
        for kind in kinds:
            lifetimes = self.lifetimes.get(kind, [])
            if not lifetimes:
                parts.append(f"  - {kind}: none closed by the server while the load ran")
                continue
            parts.append(f"  - {kind}: closed by the server after {_quantiles(lifetimes)} s "
                         f"(answers before closing: " + ", ".join(
                             f"{status} x {n}" for (k, status), n in sorted(self.answers.items()) if k == kind) + ")")
        return "\n".join(parts)


def _quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {pick(0.5):.1f} / p95 {pick(0.95):.1f} / max {ordered[-1]:.1f}"


def latency_summary(clients: list[Client]) -> str:
    latencies = [x for c in clients for e in c.log for x in e.latencies]
    if not latencies:
        return "no requests"
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return (f"{len(ordered)} requests: p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, p99 {pick(0.99):.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms")


# ---------------------------------------------------------------- the largest allowed bodies


def largest_bodies(base_url: str, token: str, prefix: str, *, clients: int, per_client: int, kind: str,
                   limit: int, max_seconds: float) -> list[dict]:
    """`clients` clients at once, each posting `per_client` bodies as large as the app allows (just
    under `limit` bytes): `output` a task result with one long output, `batch` 10,000 task results
    (the count limit: 100 executions of 100 tasks) whose outputs fill the bytes, `mixed` every other
    client each way. 503s and connection errors are retried after Retry-After (capped at 10 s), as
    orchestrators do, until `max_seconds`. Returns one record per request: client, kind, execution id
    (a batch's executions are `<eid>-xNN`), final status, every status, seconds, batch statuses."""
    import json as _json

    import requests

    def output_body() -> bytes:
        shell = _json.dumps({"taskId": "t-big", "result": {"status": "success", "output": "", "tokens": {"input": 1, "output": 1}}})
        return shell.replace('"output": ""', '"output": "' + "o" * (limit - len(shell) - 64) + '"').encode()

    def batch_body(eid: str) -> bytes:
        count = 10_000
        shell = lambda n: _json.dumps({"type": "task_result", "executionId": f"{eid}-x{n // 100:02d}",  # noqa: E731
                                       "taskId": f"t{n % 100:03d}",
                                       "result": {"status": "success", "output": "", "tokens": {"input": 1, "output": 1}}})
        room = (limit - 64 - 20 - count * (len(shell(0)) + 2)) // count
        text = "b" * max(0, room)
        events = ",".join(shell(n).replace('"output": ""', f'"output": "{text}"') for n in range(count))
        return ('{"events": [' + events + "]}").encode()

    deadline = time.monotonic() + max_seconds
    big_output = output_body() if kind in ("output", "mixed") else b""
    records: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()  # Ctrl-C: no more retries

    def one_client(c: int) -> None:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        for r in range(per_client):
            my_kind = kind if kind != "mixed" else ("output", "batch")[c % 2]
            eid = f"{prefix}-big-c{c:02d}-r{r}"
            if my_kind == "output":
                url, body = f"{base_url}/api/v1/executions/{eid}/tasks", big_output
            else:
                url, body = f"{base_url}/api/v1/events", batch_body(eid)
            rec = {"client": c, "kind": my_kind, "eid": eid, "bytes": len(body), "statuses": [], "batch": None}
            began = time.monotonic()
            while True:
                try:
                    resp = session.post(url, data=body, timeout=300)
                    status, retry_after = resp.status_code, resp.headers.get("Retry-After")
                    if my_kind == "batch" and status == 200:
                        rec["batch"] = collections.Counter(item["status"] for item in resp.json()["results"])
                    elif status >= 400:
                        rec["error"] = resp.text[:300]
                except requests.RequestException as exc:
                    status, retry_after, rec["error"] = 0, None, f"{type(exc).__name__}: {exc}"[:300]
                rec["statuses"].append(status)
                if status in (0, 502, 503, 504) and time.monotonic() < deadline and not stop.is_set():
                    stop.wait(min(float(retry_after) if retry_after and retry_after.isdigit() else 1.0, 10.0))
                    continue
                break
            rec["final"], rec["seconds"] = rec["statuses"][-1], time.monotonic() - began
            del body
            with lock:
                records.append(rec)

    # Daemon threads, joined in short steps: a Ctrl-C (or SIGTERM) reaches this thread at once, and
    # the teardown that follows closes the servers their requests wait on.
    threads = [threading.Thread(target=one_client, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
    except BaseException:
        stop.set()
        raise
    return records


class RssSampler:
    """The peak resident memory of some processes (and their children), sampled from /proc."""

    def __init__(self, pids: dict[str, int], every: float = 0.5):
        self.pids, self.every = pids, every
        self.peak: dict[str, int] = collections.defaultdict(int)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss(pid: int) -> int:
        total, todo = 0, [pid]
        while todo:
            p = todo.pop()
            try:
                with open(f"/proc/{p}/status") as f:
                    total += next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:")), 0)
                with open(f"/proc/{p}/task/{p}/children") as f:
                    todo += [int(x) for x in f.read().split()]
            except (OSError, ValueError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], self._tree_rss(pid))
            time.sleep(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


# ---------------------------------------------------------------- the script


def _probe(session, url: str) -> tuple[int, str | None, str]:
    import requests

    try:
        r = session.get(url, timeout=30, allow_redirects=False)
        return r.status_code, r.headers.get("Retry-After"), r.text[:3000]
    except requests.RequestException as exc:
        return 0, None, str(exc)


def run_largest_bodies(args, neo, app, prefix: str) -> int:
    """The largest allowed bodies from every client at once: Neo4j must still be running afterwards,
    and every request must end in 201/200 (stored), or 413 (refused as too large)."""
    import requests

    from bench import harness
    from scripts.proxy_server import max_body_bytes

    limit = max_body_bytes(app.env)  # the app's INGEST_MAX_BODY_BYTES
    drv = harness.driver(neo.bolt_url, max_pool=2)
    with drv.session() as session:
        neo4j_limits = {row["name"]: row["value"] for row in session.run(
            "SHOW SETTINGS YIELD name, value WHERE name IN ['db.memory.transaction.max', "
            "'dbms.memory.transaction.total.max'] RETURN name, value")}
    app_limits = {k: v for k, v in app.env.items() if k.startswith("INGEST_")}
    limits = (f"Neo4j heap {args.neo4j_heap}, " + ", ".join(f"{k} {v}" for k, v in sorted(neo4j_limits.items()))
              + (", app settings " + ", ".join(f"{k}={v}" for k, v in sorted(app_limits.items())) if app_limits
                 else ", the app's default INGEST_ settings"))
    harness.log(f"{args.clients} clients each post {args.largest_bodies} body(ies) of just under {limit} bytes "
                f"({args.body_kind}); {limits}")
    pids = {"gunicorn (master + workers)": app.proc.pid}
    if neo.server is not None:
        pids["Neo4j"] = neo.server.proc.pid
    began = time.monotonic()
    with RssSampler(pids) as rss:
        records = largest_bodies(app.url, app.token, prefix, clients=args.clients, per_client=args.largest_bodies,
                                 kind=args.body_kind, limit=limit, max_seconds=args.max_seconds)
    elapsed = time.monotonic() - began
    neo_alive = neo.server is None or neo.server.proc.poll() is None
    health = _probe(requests.Session(), app.url + "/healthz")[0]
    stored = collections.Counter()
    if neo_alive:  # what the answers say was stored must be in the graph, and nothing else
        with drv.session() as session:
            for row in session.run("MATCH (e:OrchestrationExecution) WHERE e.executionId STARTS WITH $p "
                                   "RETURN e.executionId AS eid, e.tasksSuccessful AS n", p=prefix + "-big-"):
                stored[row["eid"].split("-x")[0]] += row["n"]  # a batch's executions count for the batch
    drv.close()
    problems = []
    for r in records:
        if r["final"] not in (200, 201, 413):
            problems.append(f"{r['kind']} {r['eid']}: answers {r['statuses']} {r.get('error', '')[:200]}")
        expected = (1 if r["final"] in (200, 201) else 0) if r["kind"] == "output" else (
            (r["batch"] or {}).get(201, 0) + (r["batch"] or {}).get(200, 0))
        if neo_alive and stored.get(r["eid"], 0) != expected:
            problems.append(f"{r['eid']}: {stored.get(r['eid'], 0)} stored, the answers say {expected}")
    if not neo_alive:
        problems.append(f"Neo4j exited (code {neo.server.proc.returncode}); see {neo.server.log_path}")
    if health != 200:
        problems.append(f"/healthz answered {health} afterwards")
    print("\n## load_faults summary: the largest allowed bodies\n")
    print(f"- {len(records)} requests of {sum(r['bytes'] for r in records) / 2**20:.0f} MiB in all from {args.clients} clients "
          f"in {elapsed:.1f} s; {'direct to gunicorn' if args.direct else 'through nginx'}")
    print(f"- limits: {limits}")
    for kind in sorted({r["kind"] for r in records}):
        mine = [r for r in records if r["kind"] == kind]
        finals = collections.Counter(r["final"] for r in mine)
        every = collections.Counter(s for r in mine for s in r["statuses"])
        print(f"- {kind} ({mine[0]['bytes']} bytes each): final answers {dict(sorted(finals.items()))}, "
              f"every answer {dict(sorted(every.items()))}, seconds per request {_quantiles([r['seconds'] for r in mine])}")
        items = collections.Counter()
        for r in mine:
            items.update(r["batch"] or {})
        if items:
            print(f"  - events in the 200 answers: {dict(sorted(items.items()))}")
    print("- peak RSS: " + ", ".join(f"{name} {peak / 2**20:.0f} MiB" for name, peak in rss.peak.items()))
    print(f"- afterwards: Neo4j {'running' if neo_alive else 'EXITED'}, /healthz {health}")
    for problem in problems[:20]:
        print(f"  ! {problem}")
    ok = not problems
    print(f"\nRESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv=None) -> int:

    from bench import harness

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--executions", type=int, default=40)
    ap.add_argument("--tasks", type=int, default=60)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--replay-rate", type=float, default=0.10)
    ap.add_argument("--kill-neo4j-at", type=float, help="stop Neo4j when this fraction of events is acknowledged")
    ap.add_argument("--down-seconds", type=float, default=8.0)
    ap.add_argument("--max-seconds", type=float, default=900, help="time limit for the whole load")
    ap.add_argument("--neo4j-port", type=int, default=7695)
    ap.add_argument("--app-port", type=int, default=8095)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--neo4j-heap", default="1g", help="Neo4j's heap (its transaction memory limits follow it)")
    ap.add_argument("--neo4j-tx-memory-max", metavar="SIZE",
                    help="memory one Neo4j transaction may use (default: scripts/neo4j_server.py's share of the heap; 0: no limit)")
    ap.add_argument("--neo4j-tx-memory-total-max", metavar="SIZE",
                    help="memory all Neo4j transactions may use together (as above)")
    ap.add_argument("--app-env", action="append", default=[], metavar="NAME=VALUE",
                    help="a setting for the app (repeatable), e.g. INGEST_IN_FLIGHT_MAX_BYTES=1073741824")
    ap.add_argument("--direct", action="store_true",
                    help="clients talk to gunicorn directly, without the proxy that `make run` puts in front")
    ap.add_argument("--slow-clients", type=int, default=0,
                    help="this many slow sockets are connected while the load runs (the slow-client attack)")
    ap.add_argument("--slow-mode", choices=("headers", "body", "mixed"), default="mixed")
    ap.add_argument("--slow-interval", type=float, default=2.0, help="seconds between two bytes of a slow socket")
    ap.add_argument("--warm-up", action="store_true",
                    help="before the load, send two small executions (not checked) so that Neo4j has planned its "
                         "statements (always done with --slow-clients: the latencies are compared)")
    ap.add_argument("--largest-bodies", type=int, default=0, metavar="N",
                    help="instead of the event load: every client posts N bodies as large as allowed")
    ap.add_argument("--body-kind", choices=("output", "batch", "mixed"), default="mixed",
                    help="largest bodies: one task result with a long output, 10,000 events, or both")
    ap.add_argument("--hosts", type=int, default=1,
                    help="this many app hosts (gunicorn, each behind its own nginx unless --direct) on consecutive "
                         "ports from --app-port, against the one Neo4j; client i sends to host i %% N, its replays "
                         "to the next host")
    ap.add_argument("--run-name", default="load",
                    help="names the run's files in var/ (bench-NAME-neo4j, bench-NAME.sqlite3, logs), so that runs do not share them")
    ap.add_argument("--compare-hosts", action="store_true",
                    help="run the same workload with 1 host and then with max(2, --hosts), and compare throughput")
    args = ap.parse_args(argv)
    if args.clients < 1 or args.executions < 1:
        ap.error("need at least one client and one execution")
    if any("=" not in item for item in args.app_env):
        ap.error("--app-env takes NAME=VALUE")
    app_env = dict(item.split("=", 1) for item in args.app_env)
    if args.hosts < 1:
        ap.error("--hosts needs at least one host")
    if args.hosts > 1 and (args.largest_bodies or args.slow_clients):
        ap.error("--largest-bodies and --slow-clients run against one host")
    harness.install_signal_handlers()
    if not args.compare_hosts:
        return run_load(args, app_env, hosts=args.hosts)["code"]
    # The same workload (same seed) on a fresh Neo4j each time, one run after the other.
    runs = []
    for n in sorted({1, max(2, args.hosts)}):
        runs.append(run_load(args, app_env, hosts=n))
        if runs[-1]["code"] == 130:  # interrupted
            return 130
    print("\n## load_faults: hosts compared (same workload, one after the other on this machine)\n")
    for run in runs:
        print(f"- {run['hosts']} host(s): {run['requests']} requests in {run['seconds']:.1f} s, "
              f"{run['requests_per_s']:.0f} requests/s, {run['events_per_s']:.0f} events/s, "
              + (f"{run['before_fault_per_s']:.0f} events/s before the fault, " if run["before_fault_per_s"] else "")
              + f"client CPU {run['cpu']:.0f} s, load average {run['load']}: {'PASS' if run['code'] == 0 else 'FAIL'}")
    print(f"- {runs[-1]['hosts']} hosts vs 1: {runs[-1]['events_per_s'] / runs[0]['events_per_s']:.2f} x the events/s"
          + (f", {runs[-1]['before_fault_per_s'] / runs[0]['before_fault_per_s']:.2f} x before the fault"
             if runs[0]["before_fault_per_s"] and runs[-1]["before_fault_per_s"] else ""))
    ok = all(run["code"] == 0 for run in runs)
    print(f"\nRESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def run_load(args, app_env: dict[str, str], *, hosts: int) -> dict[str, Any]:
    """One run of the event load (or of the largest bodies) against `hosts` app hosts on a fresh
    Neo4j; its exit code and throughput."""
    import os

    import requests

    from bench import harness


    prefix = f"lf{int(time.time()) % 100000}"
    scripts = make_scripts(prefix, args.executions, args.tasks, args.clients, args.seed, replay_rate=args.replay_rate)
    total = sum(len(s) for s in scripts)
    harness.log(f"{len(scripts)} clients, {args.executions} executions x {args.tasks} tasks: {total} events "
                f"({sum(e.kind == 'task' for s in scripts for e in s)} task results, "
                f"{sum(e.replay for s in scripts for e in s)} replays)")
    done = {"n": 0}
    lock = threading.Lock()

    def on_done(entry):
        with lock:
            done["n"] += 1

    outage: dict[str, Any] = {}
    probes: list[tuple[str, int, str | None, str]] = []
    failures: list[str] = []
    try:
        with harness.neo4j_server(args.run_name, port=args.neo4j_port, heap=args.neo4j_heap,
                                  tx_memory_max=args.neo4j_tx_memory_max,
                                  tx_memory_total_max=args.neo4j_tx_memory_total_max) as neo:
            if args.kill_neo4j_at is not None and neo.external:
                raise SystemExit("--kill-neo4j-at needs a Neo4j started by this script (unset NEO4J_BOLT_URL)")
            with harness.app_hosts(args.run_name, neo.bolt_url, hosts=hosts, port=args.app_port, proxy=not args.direct,
                                   extra_env=app_env) as apps:
                app, urls = apps[0], [a.url for a in apps]
                harness.log("served as `make run` serves it: nginx in front of gunicorn" if not args.direct
                            else "clients talk to gunicorn directly (--direct)")
                if args.largest_bodies:
                    return {"code": run_largest_bodies(args, neo, app, prefix)}
                viewer = requests.Session()  # a signed-in dashboard user, for the page probes
                signed_in = harness.login(viewer, app.url)
                # Signed in on the first host, the same session cookie must work on every host.
                page_before = max(viewer.get(url + "/", timeout=30, allow_redirects=False).status_code
                                  for url in urls) if signed_in else None
                harness.log(f"dashboard user signed in: {signed_in}; GET / answers {page_before}")
                if args.warm_up or args.slow_clients:
                    warm = run_clients(urls, app.token, make_scripts(prefix + "w", 2, 20, 2, args.seed + 1),
                                       max_seconds=300)
                    harness.log(f"warmed up: {latency_summary(warm)}")
                attack = SlowClients(args.app_port, args.slow_clients, interval=args.slow_interval,
                                     mode=args.slow_mode, max_seconds=args.max_seconds + 60)
                if args.slow_clients:
                    attack.start()
                    time.sleep(2 * args.slow_interval + 1)  # let them take whatever they can
                    harness.log(f"{attack.max_open} slow sockets connected; starting the load")
                attack_probes: list[tuple[str, int, float]] = []
                probing = threading.Event()

                def probe_under_attack():
                    s = requests.Session()
                    while not probing.wait(1.0):
                        for name, url in (("healthz", "/healthz"), ("page /accounts/login/", "/accounts/login/")):
                            t = time.monotonic()
                            status = _probe(s, app.url + url)[0]
                            attack_probes.append((name, status, time.monotonic() - t))

                prober = threading.Thread(target=probe_under_attack, daemon=True)
                if args.slow_clients:
                    prober.start()
                # The ingest token may only write; the outage's API-read probe needs one that may read.
                read_token = harness.manage(app.env, "create_ingest_token", f"{prefix}-read", "--scope", "read").strip()
                began, cpu_began = time.monotonic(), time.process_time()
                with ThreadPoolExecutor(max_workers=1) as runner:
                    future = runner.submit(run_clients, urls, app.token, scripts,
                                           max_seconds=args.max_seconds, on_done=on_done)
                    if args.kill_neo4j_at is not None:
                        while not future.done() and done["n"] < args.kill_neo4j_at * total:
                            time.sleep(0.05)
                        if future.done():
                            failures.append("the load finished before the fault could be injected")
                        else:
                            harness.log(f"{done['n']}/{total} events acknowledged: stopping Neo4j (SIGTERM)")
                            outage["start"], outage["acknowledged"] = time.monotonic(), done["n"]
                            code = neo.stop()
                            outage["stopped"] = time.monotonic()
                            harness.log(f"Neo4j stopped (exit {code}) in {outage['stopped'] - outage['start']:.1f} s; "
                                        f"down for {args.down_seconds:.0f} s")
                            s = requests.Session()
                            s.headers["Authorization"] = f"Bearer {read_token}"
                            probe_eid = scripts[0][0].eid
                            while time.monotonic() < outage["stopped"] + args.down_seconds:
                                for base in urls:  # every host must say so
                                    for name, url in (("healthz", "/healthz"),
                                                      ("api-read", f"/api/v1/executions/{probe_eid}")):
                                        probes.append((name, *_probe(s, base + url)))
                                    for name, url in (("page /", "/"), ("page execution", f"/executions/{probe_eid}")):
                                        probes.append((name, *_probe(viewer, base + url)))
                                time.sleep(1.0)
                            harness.log("restarting Neo4j on the same data dir ...")
                            outage["restarting"] = time.monotonic()
                            startup = neo.restart()
                            outage["end"] = time.monotonic()
                            harness.log(f"Neo4j back after {startup:.1f} s start-up; outage "
                                        f"{outage['end'] - outage['start']:.1f} s in total")
                    clients = future.result()
                elapsed, cpu = time.monotonic() - began, time.process_time() - cpu_began
                load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                probing.set()
                attack.stop()
                drv = harness.driver(neo.bolt_url, max_pool=4)
                with drv.session() as session:
                    rows = session.run(VERIFY_QUERY, prefix=prefix + "-").data()
                drv.close()
                per_host = [count_statuses(a.log_path) for a in apps]
                server_statuses = collections.Counter()
                for counts in per_host:
                    server_statuses.update(counts)
    except KeyboardInterrupt:
        harness.log("interrupted; everything was stopped")
        return {"code": 130}

    expected, log_problems = expected_from_logs(clients)
    mismatches = compare(rows, expected)
    statuses = status_summary(clients)
    # 5xx accounting: 503s are expected only during the outage (plus a grace period for pools to reconnect).
    grace = 15.0
    in_outage = lambda t: outage and outage["start"] <= t <= outage["end"] + grace  # noqa: E731
    bad_5xx, outage_503, missing_retry_after = [], 0, 0
    for c in clients:
        for entry in c.log:
            ra = iter(entry.retry_after)
            for status, t in zip(entry.statuses, entry.times, strict=True):
                if status == 503:
                    header = next(ra, None)
                    if in_outage(t):
                        outage_503 += 1
                        missing_retry_after += header is None
                        continue
                if status >= 500 or status == 0:
                    bad_5xx.append((status, entry.event.kind, entry.event.eid, entry.body))
    sent_events = sum(len(c.log) for c in clients)
    requests_sent = sum(statuses.values())
    print(f"\n## load_faults summary: {hosts} app host(s)\n")
    print(f"- {len(clients)} clients, {args.executions} executions x {args.tasks} tasks; {sent_events}/{total} events sent "
          f"in {requests_sent} requests over {elapsed:.1f} s ({requests_sent / elapsed:.0f} requests/s, "
          f"{sent_events / elapsed:.0f} events/s; the clients' CPU {cpu:.0f} s; load average {load})")
    # The outage's length (Neo4j's stop and start-up) varies from run to run: the rate before it
    # compares runs better than the whole run's.
    before_fault = outage["acknowledged"] / (outage["start"] - began) if outage else None
    if before_fault is not None:
        print(f"- before the fault: {outage['acknowledged']} events acknowledged in {outage['start'] - began:.1f} s "
              f"({before_fault:.0f} events/s)")
    print(f"- answers seen by clients: {dict(sorted(statuses.items()))}  (0 = connection error)")
    print(f"- answers in gunicorn's access log: {dict(sorted(server_statuses.items()))}")
    if hosts > 1:
        print("- per host (access log): " + ", ".join(f"{a.url} {sum(c.values())}" for a, c in zip(apps, per_host, strict=True))
              + f"; replays sent to another host than their originals: {cross_host_replays(clients)}")
        if cross_host_replays(clients) == 0:
            failures.append("no replay went to another host")
    print(f"- latency of the load's requests: {latency_summary(clients)}")
    if args.slow_clients:
        print(f"- under attack: {attack.summary()}")
        by_name = collections.defaultdict(list)
        for name, status, seconds in attack_probes:
            by_name[name].append((status, seconds))
        for name, results in by_name.items():
            print(f"  - probe {name}: {dict(collections.Counter(s for s, _ in results))}, "
                  f"{_quantiles([x for _, x in results])} s")
            if any(status != 200 for status, _ in results):
                failures.append(f"probe {name} under attack: {[s for s, _ in results]}")
        if not by_name:
            failures.append("no probe answered under attack")
    if outage:
        by_probe = collections.defaultdict(collections.Counter)
        for name, status, ra, _body in probes:
            by_probe[name][(status, ra)] += 1
        print(f"- outage: Neo4j stopped {outage['stopped'] - outage['start']:.1f} s after SIGTERM, down "
              f"{outage['restarting'] - outage['stopped']:.1f} s, restart took {outage['end'] - outage['restarting']:.1f} s; "
              f"ingest 503s during it: {outage_503} (without Retry-After: {missing_retry_after})")
        for name, counts in by_probe.items():
            print(f"  - probe {name}: " + ", ".join(f"{s} (Retry-After {ra})" for (s, ra), n in counts.items() for _ in [n]))
        if outage_503 == 0:
            failures.append("no ingest request was answered 503 during the outage")
        if missing_retry_after:
            failures.append(f"{missing_retry_after} outage 503s had no Retry-After")
        hz = [p for p in probes if p[0] == "healthz"]
        if not hz or any(p[1] != 503 for p in hz):
            failures.append(f"/healthz during the outage: {[p[1] for p in hz]}")
        reads = [p for p in probes if p[0] == "api-read"]
        if any(p[1] != 503 or p[2] is None or '"unavailable"' not in p[3] for p in reads):
            failures.append(f"API read during the outage: {[(p[1], p[2]) for p in reads]}")
        pages = [p for p in probes if p[0].startswith("page")]
        if page_before == 200:  # the dashboard exists and we are signed in: its pages must say 503 kindly
            bad = [p[:3] for p in pages if p[1] != 503 or p[2] is None or "Database unavailable" not in p[3]
                   or "Traceback" in p[3]]
            if bad:
                failures.append(f"dashboard pages during the outage: {bad[:4]}")
        elif any(p[1] >= 500 and p[1] != 503 or "Traceback" in p[3] for p in pages):
            failures.append(f"pages during the outage: {[p[1] for p in pages]}")
        else:
            print(f"  - (no signed-in dashboard page to check: GET / answered {page_before} before the outage)")
    print(f"- executions verified: {len(rows)} in Neo4j, {len(expected)} in the clients' logs; "
          f"counter/FAILED_TASK mismatches: {len(mismatches)}; log problems: {len(log_problems)}; "
          f"unexpected 5xx/connection errors: {len(bad_5xx)}")
    committed_then_503 = sum(1 for c in clients for e in c.log
                             if not e.event.replay and e.statuses[:1] != [201] and e.final == 200
                             and isinstance(e.body, dict) and e.body.get("replayed"))
    if committed_then_503:
        print(f"- {committed_then_503} events were committed although their first answer was an error "
              "(the retry was answered `replayed: true`, and nothing was counted twice)")
    for p in (mismatches[:10] + log_problems[:10] + [str(b)[:300] for b in bad_5xx[:10]] + failures):
        print(f"  ! {p}")
    ok = not (mismatches or log_problems or bad_5xx or failures) and sent_events == total
    print(f"\nRESULT: {'PASS' if ok else 'FAIL'}")
    return {"code": 0 if ok else 1, "hosts": hosts, "requests": requests_sent, "seconds": elapsed, "cpu": cpu,
            "load": load, "requests_per_s": requests_sent / elapsed, "events_per_s": sent_events / elapsed,
            "before_fault_per_s": before_fault}


if __name__ == "__main__":
    sys.exit(main())
