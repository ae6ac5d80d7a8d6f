"""Retention: what `prune_executions` costs per node deleted, and what one batch costs Neo4j.

Starts its own Neo4j, seeds --executions old executions of --tasks tasks (a quarter retried once)
through the app's ingest service (no HTTP), then:

- PROFILEs one batch of --batch nodes (rolled back): Neo4j's db hits, and those of the count;
- runs the prune as the command does (services.executions_prune), batch by batch: app CPU,
  Neo4j CPU (its process's user + system time), wall time, and the slowest batch.

    .venv/bin/python bench/prune.py                       # 1,000 x 20 tasks, batches of 5,000
    .venv/bin/python bench/prune.py --executions 3000 --batch 2000

Neo4j on 127.0.0.1:--neo4j-port (default 7821, data in var/bench-prune-neo4j).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.ingest_throughput import _tree_cpu

DAY = 86_400_000


def _events(eid: str, ntasks: int, start: int, rng: random.Random) -> list[dict]:
    events = [{"type": "execution_started", "executionId": eid, "planId": "bench", "totalTasks": ntasks,
               "startTime": start}]
    for i in range(ntasks):
        attempts = 2 if rng.random() < 0.25 else 1
        for n in range(1, attempts + 1):
            events.append({"type": "task_result", "executionId": eid, "taskId": f"t{i}", "result": {
                "status": "failure" if n < attempts else "success", "duration": 1000, "attemptNumber": n,
                "tokens": {"input": 100, "output": 50}, "timestamp": start + (i + n) * 1000,
                "output": "x" * 200}})
    events.append({"type": "execution_finished", "executionId": eid, "endTime": start + ntasks * 2000 + 5000})
    return events


def _db_hits(plan) -> int:
    return plan.get("dbHits", 0) + sum(_db_hits(child) for child in plan.get("children", []))


def _profiled(driver, name: str, params: dict) -> int:
    from executions.cypher import statement

    with driver.session() as session, session.begin_transaction() as tx:
        summary = tx.run("PROFILE " + statement(name), params).consume()
        tx.rollback()
    return _db_hits(summary.profile)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--executions", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--batch", type=int, default=5000, help="nodes per transaction")
    ap.add_argument("--neo4j-port", type=int, default=7821)
    args = ap.parse_args(argv)
    harness.install_signal_handlers()
    with harness.neo4j_server("prune", port=args.neo4j_port, heap="1g") as neo:
        os.environ.update(harness.app_env("prune", neo.bolt_url))
        import django

        django.setup()
        from django.core.management import call_command

        from executions import services

        call_command("install_schema", verbosity=0)
        rng = random.Random(15)
        old = int(time.time() * 1000) - 200 * DAY
        for done in range(0, args.executions, 20):
            chunk = [e for k in range(done, min(done + 20, args.executions))
                     for e in _events(f"old-{k}", args.tasks, old + k * 60_000, rng)]
            services.events_apply(events=chunk)
            if (done + 20) % 200 == 0 or done + 20 >= args.executions:
                harness.log(f"seeded {min(done + 20, args.executions)}/{args.executions} executions")

        before = services.prune_cutoff(older_than_days=90)
        counts = services.prune_count(before=before, keep_failed=False)
        harness.log(f"graph: {counts.executions} executions, {counts.task_executions} task executions, "
                    f"{counts.attempts} attempts ({counts.nodes} nodes to prune)")
        driver = harness.driver(neo.bolt_url)
        params = {"before": before, "keepFailed": False}
        count_hits = _profiled(driver, "retention/prune_count", params)
        run_id = services.prune_run_start(before=before, keep_failed=False)
        batch_hits = _profiled(driver, "retention/prune_batch", {**params, "runId": run_id, "limit": args.batch})
        driver.close()

        neo_pid = neo.server.proc.pid
        batches: list[float] = []
        last = time.perf_counter()

        def progress(done):
            nonlocal last
            now = time.perf_counter()
            batches.append(now - last)
            last = now

        cpu, neo_cpu, wall = time.process_time(), _tree_cpu(neo_pid), time.perf_counter()
        last = wall
        result = services.executions_prune(older_than_days=90, keep_failed=False, dry_run=False,
                                           batch_size=args.batch, on_progress=progress)
        cpu, neo_cpu, wall = time.process_time() - cpu, _tree_cpu(neo_pid) - neo_cpu, time.perf_counter() - wall
        nodes = result.deleted.nodes
        load = os.getloadavg()
        print(f"pruned {nodes} nodes ({result.deleted.executions} executions) in {result.transactions} "
              f"transactions of at most {args.batch} nodes")
        print(f"wall {wall:.1f} s ({nodes / wall:.0f} nodes/s), slowest batch {max(batches):.2f} s, "
              f"median {sorted(batches)[len(batches) // 2]:.2f} s")
        print(f"CPU: app {cpu:.2f} s, Neo4j {neo_cpu:.1f} s = {neo_cpu / nodes * 1e6:.0f} us per node")
        print(f"db hits: one batch {batch_hits} ({batch_hits / args.batch:.1f} per node), the count {count_hits}")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
