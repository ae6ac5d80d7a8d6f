"""What Neo4j spends planning the product's statements (issues #10 and #15): every statement of
executions/cypher planned again and again (`CYPHER replan=force EXPLAIN`, so nothing runs), timed
from the client, on a fresh Neo4j with the app's schema.

    .venv/bin/python bench/plan_cost.py --neo4j-port 7817
    .venv/bin/python bench/plan_cost.py --neo4j-port 7817 --repo /path/to/an/older/checkout

Why it matters: Neo4j plans a statement the first time it meets it (after every start of the server,
on each server of a cluster, on each of the test servers) and again when the graph's statistics have
moved far enough, and the statement that meets a stale plan waits for the new one. The first round
here is a cold JVM (what the first writes after a start, and the first test run, pay); the later
rounds' minimum is a warm one. Then the task-results write is sent with parameters of other
sizes (as writes of 1, 3 or 200 results send them), to show what Neo4j plans again for them. `--repo` plans another checkout's statements on a server of its own
started the same way, for a before/after (run the two one after the other; the machine drifts).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="the checkout whose statements are planned (default: this one)")
    ap.add_argument("--neo4j-port", type=int, default=7817)
    ap.add_argument("--rounds", type=int, default=4, help="times every statement is planned (the first is cold)")
    ap.add_argument("--top", type=int, default=12, help="list this many statements, slowest first")
    args = ap.parse_args(argv)
    if args.rounds < 2:
        ap.error("--rounds must be at least 2 (the first is the cold one)")

    repo = args.repo.resolve()
    sys.path.insert(0, str(repo))
    os.chdir(repo)
    from bench import harness

    harness.install_signal_handlers()
    with harness.neo4j_server("plan-cost", port=args.neo4j_port) as neo:
        env, _token = harness.prepare_app("plan-cost", neo.bolt_url)
        os.environ.update(env)
        import django

        django.setup()
        import neo4j

        from executions import cypher

        names = cypher.statement_names()
        texts = {name: cypher.statement(name) for name in names}
        seconds: dict[str, list[float]] = {name: [] for name in names}
        harness.log(f"planning {len(names)} statements of {repo}, {args.rounds} rounds")
        with neo4j.GraphDatabase.driver(neo.uri, auth=neo4j.basic_auth("neo4j", "neo4j")) as driver, \
                driver.session() as session:
            for number in range(1, args.rounds + 1):
                started = time.perf_counter()
                for name in names:
                    before = time.perf_counter()
                    session.run("CYPHER replan=force EXPLAIN " + texts[name]).consume()
                    seconds[name].append(time.perf_counter() - before)
                harness.log(f"round {number}: {time.perf_counter() - started:.1f} s")
            shapes = _write_shapes(session, names)


    cold = sum(s[0] for s in seconds.values())
    warm = sum(min(s[1:]) for s in seconds.values())
    print(f"{repo.name} ({repo}): {len(names)} statements, {sum(len(t) for t in texts.values()):,} characters")
    print(f"planning all of them once: cold JVM {cold:.1f} s, warm {warm:.1f} s (the minimum of rounds 2-{args.rounds})")
    print()
    print("| statement | characters | cold ms | warm ms (min) | warm ms (median) |")
    print("|---|---:|---:|---:|---:|")
    ranked = sorted(names, key=lambda n: -min(seconds[n][1:]))
    for name in ranked[: args.top]:
        later = seconds[name][1:]
        print(f"| {name} | {len(texts[name]):,} | {seconds[name][0] * 1000:,.0f} | {min(later) * 1000:,.0f} | "
              f"{statistics.median(later) * 1000:,.0f} |")
    if shapes:
        print()
        print(f"{shapes[0]}, planned once by the rounds above, then run (EXPLAIN, no replan) with parameters")
        print("of other sizes, as writes of other sizes send them:")
        print()
        print("| results | QC history rows | executions | ms |")
        print("|---:|---:|---:|---:|")
        for rows, history, eids, took in shapes[1]:
            print(f"| {rows} | {history} | {eids} | {took * 1000:,.0f} |")
    return 0


def _write_shapes(session, names: list[str]):
    """(statement, [(results, history rows, executions, seconds)]): the task-results write EXPLAINed
    with lists of several sizes. Neo4j keys its caches by each list parameter's size rounded to a
    power of ten; the checkout's own parameter builder is used (one map since ingest/write)."""
    if "ingest/write" in names:
        from executions.services import write_params

        name = "ingest/write"

        def params(rows, history, eids):
            return write_params(now=1, eids=[f"e{i}" for i in range(eids)], rows=[{}] * rows,
                                history=[{}] * history, tasks=[{}] * rows)
    elif "ingest/task_results_write" in names:
        name = "ingest/task_results_write"

        def params(rows, history, eids):
            return {"now": 1, "nonce": "n", "eids": [f"e{i}" for i in range(eids)], "rows": [{}] * rows,
                    "history": [{}] * history, "tasks": [{}] * rows, "touched": {}, "allTasks": False}
    else:
        return None
    from executions import cypher

    text = "EXPLAIN " + cypher.statement(name)
    timed = []
    for rows, history, eids in ((1, 0, 1), (3, 0, 1), (3, 2, 2), (30, 0, 3), (30, 5, 12), (200, 20, 40)):
        before = time.perf_counter()
        session.run(text, params(rows, history, eids)).consume()
        timed.append((rows, history, eids, time.perf_counter() - before))
    return name, timed


if __name__ == "__main__":
    raise SystemExit(main())
