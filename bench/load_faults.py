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
    compare,
    expected_from_logs,
    make_scripts,
    run_clients,
    status_summary,
)


def _probe(session, url: str) -> tuple[int, str | None, str]:
    import requests

    try:
        r = session.get(url, timeout=30, allow_redirects=False)
        return r.status_code, r.headers.get("Retry-After"), r.text[:3000]
    except requests.RequestException as exc:
        return 0, None, str(exc)


def main(argv=None) -> int:
    import requests

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
    args = ap.parse_args(argv)
    if args.clients < 1 or args.executions < 1:
        ap.error("need at least one client and one execution")
    harness.install_signal_handlers()

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
        with harness.neo4j_server("load", port=args.neo4j_port) as neo:
            if args.kill_neo4j_at is not None and neo.external:
                raise SystemExit("--kill-neo4j-at needs a Neo4j started by this script (unset NEO4J_BOLT_URL)")
            with harness.app_server("load", neo.bolt_url, port=args.app_port) as app:
                viewer = requests.Session()  # a signed-in dashboard user, for the page probes
                signed_in = harness.login(viewer, app.url)
                page_before = viewer.get(app.url + "/", timeout=30, allow_redirects=False).status_code if signed_in else None
                harness.log(f"dashboard user signed in: {signed_in}; GET / answers {page_before}")
                began = time.monotonic()
                with ThreadPoolExecutor(max_workers=1) as runner:
                    future = runner.submit(run_clients, app.url, app.token, scripts,
                                           max_seconds=args.max_seconds, on_done=on_done)
                    if args.kill_neo4j_at is not None:
                        while not future.done() and done["n"] < args.kill_neo4j_at * total:
                            time.sleep(0.05)
                        if future.done():
                            failures.append("the load finished before the fault could be injected")
                        else:
                            harness.log(f"{done['n']}/{total} events acknowledged: stopping Neo4j (SIGTERM)")
                            outage["start"] = time.monotonic()
                            code = neo.stop()
                            outage["stopped"] = time.monotonic()
                            harness.log(f"Neo4j stopped (exit {code}) in {outage['stopped'] - outage['start']:.1f} s; "
                                        f"down for {args.down_seconds:.0f} s")
                            s = requests.Session()
                            s.headers["Authorization"] = f"Bearer {app.token}"
                            probe_eid = scripts[0][0].eid
                            while time.monotonic() < outage["stopped"] + args.down_seconds:
                                for name, url in (("healthz", "/healthz"),
                                                  ("api-read", f"/api/v1/executions/{probe_eid}")):
                                    probes.append((name, *_probe(s, app.url + url)))
                                for name, url in (("page /", "/"), ("page execution", f"/executions/{probe_eid}")):
                                    probes.append((name, *_probe(viewer, app.url + url)))
                                time.sleep(1.0)
                            harness.log("restarting Neo4j on the same data dir ...")
                            outage["restarting"] = time.monotonic()
                            startup = neo.restart()
                            outage["end"] = time.monotonic()
                            harness.log(f"Neo4j back after {startup:.1f} s start-up; outage "
                                        f"{outage['end'] - outage['start']:.1f} s in total")
                    clients = future.result()
                elapsed = time.monotonic() - began
                drv = harness.driver(neo.bolt_url, max_pool=4)
                with drv.session() as session:
                    rows = session.run(VERIFY_QUERY, prefix=prefix + "-").data()
                drv.close()
                server_statuses = count_statuses(app.log_path)
    except KeyboardInterrupt:
        harness.log("interrupted; everything was stopped")
        return 130

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
    print("\n## load_faults summary\n")
    print(f"- {len(clients)} clients, {args.executions} executions x {args.tasks} tasks; {sent_events}/{total} events sent "
          f"in {requests_sent} requests over {elapsed:.1f} s ({requests_sent / elapsed:.0f} requests/s)")
    print(f"- answers seen by clients: {dict(sorted(statuses.items()))}  (0 = connection error)")
    print(f"- answers in gunicorn's access log: {dict(sorted(server_statuses.items()))}")
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
