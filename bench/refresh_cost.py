"""What Neo4j does to refresh one execution after a write (issue #15): PROFILE database hits and the
time of `ingest/write` with only executions to refresh (the part every writer ends with: counters,
then the failure report's rollups; an older checkout's `ingest/refresh_executions`), for
executions of the throughput benchmark's workload: with one task execution of each refreshed (a
one-result write) and with all of them (rederive_graph, or a late start that moves the execution's
rollup row).

    .venv/bin/python bench/refresh_cost.py --neo4j-port 7816
    .venv/bin/python bench/refresh_cost.py --neo4j-port 7816 --repo /path/to/an/older/checkout

It starts a fresh Neo4j, prepares the app (migrate, schema, a token), posts the workload through
the batch endpoint in process (the WSGI application, no sockets), then runs the statement on
executions whose facts did not change (no row moves, so the figures are what every write pays
before its deltas). `--repo` runs another checkout's code and statements against the same
workload, for a before/after: database hits do not depend on the machine's load; times do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path


def _db_hits(plan) -> int:
    return plan.get("dbHits", 0) + sum(_db_hits(child) for child in plan.get("children", []))


def _operators(plan, depth=0):
    """(depth, operator, details, rows, db hits) of every operator of a PROFILE plan, depth first."""
    args = plan.get("args", {})
    yield depth, plan.get("operatorType", "?"), str(args.get("Details", "")), plan.get("rows", 0), plan.get("dbHits", 0)
    for child in plan.get("children", []):
        yield from _operators(child, depth + 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="the checkout whose code and statements run (default: this one)")
    ap.add_argument("--neo4j-port", type=int, default=7816)
    ap.add_argument("--executions", type=int, default=20)
    ap.add_argument("--tasks", type=int, default=50, help="task results per execution")
    ap.add_argument("--runs", type=int, default=15, help="timed runs per case (the median is shown)")
    ap.add_argument("--operators", type=int, default=0, metavar="N",
                    help="also list the N operators with most db hits of the one-execution case")
    args = ap.parse_args(argv)

    repo = args.repo.resolve()
    sys.path.insert(0, str(repo))
    os.chdir(repo)
    from bench import harness
    from bench.ingest_profile import _environ
    from bench.ingest_throughput import make_workload

    harness.install_signal_handlers()
    with harness.neo4j_server("refresh-cost", port=args.neo4j_port) as neo:
        env, token = harness.prepare_app("refresh-cost", neo.bolt_url)
        os.environ.update(env)
        import django

        django.setup()
        from neomodel import db

        from executions.cypher import statement
        from mimir_dashboard.wsgi import application

        workload = make_workload("rc", args.executions, args.tasks, seed=1)
        events = [{"type": "task_result", "executionId": eid, **body} for eid, body in workload.items]
        harness.log(f"posting {len(events):,} task results of {args.executions} executions")
        statuses: list[str] = []

        def start_response(status, headers, exc_info=None):
            statuses.append(status)

        for i in range(0, len(events), 200):
            statuses.clear()
            body = json.dumps({"events": events[i:i + 200]}).encode()
            b"".join(application(_environ("/api/v1/events", body, token), start_response))
            if not statuses[0].startswith("200"):
                raise SystemExit(f"the batch was refused: {statuses[0]}")
        eids = sorted({e["executionId"] for e in events})
        # The refresh is a part of ingest/write now; an older checkout had it as a statement of its own.
        name = "ingest/write" if (repo / "executions/cypher/ingest/write.cypher").is_file() else "ingest/refresh_executions"
        query = statement(name)
        print(f"{repo.name} ({repo}): {name} refreshing, executions of {args.tasks} tasks")
        print("| executions refreshed | task executions rolled up | db hits | median ms |")
        print("|---:|---|---:|---:|")
        # What a one-result write pays (one task execution of each refreshed, the first: a passing one
        # in this workload) and what rederive_graph or a row move pays (every task execution). A
        # checkout from before task executions kept their values ignores both parameters.
        task_id = workload.items[0][1]["taskId"]
        cases = [(ids, every) for ids in (eids[:1], eids) for every in (False, True)]
        for ids, every in cases:
            params = {"eids": ids, "changed": [], "now": 1, "allTasks": every,
                      "touched": {} if every else {eid: [task_id] for eid in ids},
                      "rows": [], "history": [], "tasks": [], "nonce": "refresh-cost"}
            if name == "ingest/write":  # one map parameter (its header says why)
                params = {"write": params}
            with db.driver.session() as session:
                result = session.run("PROFILE " + query, params)
                list(result)
                plan = result.consume().profile
                hits = _db_hits(plan)
                if args.operators and len(ids) == 1 and not every:
                    top = sorted(_operators(plan), key=lambda op: -op[4])[: args.operators]
                    print("| operator | details | rows | db hits |")
                    print("|---|---|---:|---:|")
                    for _depth, operator, details, rows, op_hits in top:
                        print(f"| {operator} | {details[:110]} | {rows:,} | {op_hits:,} |")
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    list(session.run(query, params))
                    times.append((time.perf_counter() - started) * 1000)
            rolled = "all" if every else "one each"
            print(f"| {len(ids)} | {rolled} | {hits:,} | {statistics.median(times):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
