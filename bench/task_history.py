"""How the task-history read (cypher/pages/task_history) finds a task's runs, against the other
way it could: many plans whose tasks share ids (`setup`, `t0`, ... as real plans do), seeded
through the batch API, then both reads PROFILEd by Neo4j (db hits, rows of the task-execution
lookup) and timed (median of --repeat runs).

    .venv/bin/python bench/task_history.py [--plans 20] [--runs 100] [--tasks 10] [--write docs/benchmarks.md]

- "plan's executions" (the app's): EXECUTES_PLAN to the plan's executions, sorted by firstKnownAt,
  each one's task execution sought by its (executionId, taskId) key, stopping after n found;
- "taskId index": every task execution with that id (any plan) by the TaskExecution.taskId index,
  then its execution and plan, filtered, sorted and cut to n.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.pages import write_section

SECTION = ("<!-- task-history:start -->", "<!-- task-history:end -->",
           "Task history: which read (bench/task_history.py)")
BY_TASK_ID = """
MATCH (t:TaskExecution {taskId: $taskId})
MATCH (e:OrchestrationExecution {executionId: t.executionId})-[:EXECUTES_PLAN]->(:Plan {planId: $pid})
WHERE (e)-[:HAS_TASK_EXECUTION]->(t)
WITH e, t ORDER BY e.firstKnownAt DESC, e.executionId DESC LIMIT $limit
RETURN collect({executionId: e.executionId, durationMs: t.durationMs}) AS runs
"""


def seed(app, plans: int, runs: int, tasks: int) -> None:
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"})
    t0 = 1_763_000_000_000
    for p in range(plans):
        events = [{"type": "plan", "planId": f"plan-{p}", "title": f"Plan {p}",
                   "tasks": [{"id": f"t{i}"} for i in range(tasks)]}]
        for r in range(runs):
            eid = f"p{p}-run-{r:04d}"
            start = t0 + (r * plans + p) * 60_000
            events.append({"type": "execution_started", "executionId": eid, "planId": f"plan-{p}",
                           "totalTasks": tasks, "startTime": start})
            events += [{"type": "task_result", "executionId": eid, "taskId": f"t{i}",
                        "result": {"status": "success", "duration": 1_000 + i, "timestamp": start + 2_000 + i}}
                       for i in range(tasks)]
        for chunk in range(0, len(events), 500):
            r = session.post(app.url + "/api/v1/events", data=json.dumps({"events": events[chunk:chunk + 500]}),
                             timeout=600)
            if r.status_code != 200:
                raise SystemExit(f"seeding: HTTP {r.status_code} {r.text[:300]}")
        harness.log(f"  plan-{p}: {runs} runs of {tasks} tasks")


def profile(drv, text: str, params: dict, repeat: int) -> dict:
    def walk(op):
        yield op
        for child in op.get("children", []):
            yield from walk(child)

    with drv.session() as session:
        result = session.run("PROFILE " + text, params)
        rows = list(result)
        plan = result.consume().profile
        ops = list(walk(plan))
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            session.run(text, params).consume()
            times.append((time.perf_counter() - t) * 1000)
    lookups = [op for op in ops if "TaskExecution" in op["args"].get("Details", "")
               and ("Seek" in op["operatorType"] or "Scan" in op["operatorType"])]
    return {"dbHits": sum(op.get("dbHits", 0) for op in ops), "lookupRows": sum(op.get("rows", 0) for op in lookups),
            "lookup": ", ".join(sorted({op["operatorType"] for op in lookups})), "ms": statistics.median(times),
            "runs": len(rows[0]["runs"]) if rows else 0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plans", type=int, default=20)
    ap.add_argument("--runs", type=int, default=100, help="executions per plan")
    ap.add_argument("--tasks", type=int, default=10, help="tasks per plan (ids t0.. shared by every plan)")
    ap.add_argument("--n", type=int, default=30, help="runs asked for")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--neo4j-port", type=int, default=8732)
    ap.add_argument("--app-port", type=int, default=8733)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args(argv)
    harness.install_signal_handlers()
    from executions import cypher

    started = time.strftime("%Y-%m-%d %H:%M")
    with harness.neo4j_server("task-history", port=args.neo4j_port, fresh=True) as neo:
        with harness.app_server("task-history", neo.bolt_url, port=args.app_port, workers=1, threads=4) as app:
            harness.log(f"seeding {args.plans} plans x {args.runs} runs x {args.tasks} tasks ...")
            seed(app, args.plans, args.runs, args.tasks)
        drv = harness.driver(neo.bolt_url, max_pool=2)
        try:
            params = {"pid": "plan-0", "taskId": "t0", "limit": args.n}
            rows = {"plan's executions (the app's)": profile(drv, cypher.statement("pages/task_history"), params,
                                                            args.repeat),
                    "taskId index": profile(drv, BY_TASK_ID, params, args.repeat)}
        finally:
            drv.close()
    lines = [
        f"Run {started} on {platform.node()} ({os.cpu_count()} cores, load average "
        f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())} after; shared with other sessions' tests). "
        f"{args.plans} plans of {args.tasks} tasks (ids t0..t{args.tasks - 1} in every plan), {args.runs} runs each: "
        f"{args.plans * args.runs * args.tasks:,} task executions, {args.plans * args.runs:,} of them `t0`. Asked: "
        f"plan-0's `t0`, n = {args.n}. db hits and the rows of the task-execution lookup from Neo4j's PROFILE; "
        f"time: median of {args.repeat} runs, client-observed.",
        "",
        "| read | runs answered | task-execution lookup | its rows | db hits | median ms |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, m in rows.items():
        lines.append(f"| {name} | {m['runs']} | {m['lookup']} | {m['lookupRows']:,} | {m['dbHits']:,} | {m['ms']:.1f} |")
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(args.write, body, "python bench/task_history.py " + " ".join(sys.argv[1:]), SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
