"""Where the execution page with its dependency graph spends its time: cProfile of the view in
this process (Django's test client: the whole middleware stack, no HTTP or gunicorn), on the
200-task execution of `bench/pages.py --graph` (same plan and seed), after the layout is cached.

    .venv/bin/python bench/graph_page_profile.py [--tasks 200] [--views 30] [--neo4j-port 7731] [--app-port 8731]

Prints the wall time per view (median, p95), the time per phase (the selector's Neo4j read, the
view's Python, the template's render) and cProfile's top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench import pages as pages_bench


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=200, choices=pages_bench.GRAPH_SIZES)
    ap.add_argument("--views", type=int, default=30)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--neo4j-port", type=int, default=7731)
    ap.add_argument("--app-port", type=int, default=8731)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    harness.install_signal_handlers()
    with harness.neo4j_server("graph-profile", port=args.neo4j_port, fresh=True) as neo:
        with harness.app_server("graph-profile", neo.bolt_url, port=args.app_port, workers=1, threads=2) as app:
            harness.log("seeding (as bench/pages.py --graph) ...")
            runs = pages_bench.graph_seed(app, random.Random(args.seed))
            os.environ.update(app.env)
            import django

            django.setup()
            from django.contrib.auth.models import User
            from django.test import Client

            from executions import selectors, views

            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(User.objects.get(username=harness.DASHBOARD_USER))
            url = f"/executions/{runs[args.tasks]}"
            for _ in range(3):  # the layout (dot) and the caches, once
                if (status := client.get(url).status_code) != 200:
                    raise SystemExit(f"{url}: HTTP {status}")
            walls = []
            for _ in range(args.views):
                t = time.perf_counter()
                client.get(url)
                walls.append((time.perf_counter() - t) * 1000)
            # The phases, one after the other, as the view runs them.
            phases: dict[str, list[float]] = {"selector (Neo4j read)": [], "view's Python (graph, timeline)": [],
                                              "template render": []}
            from django.template.loader import render_to_string

            eid = runs[args.tasks]
            for _ in range(args.views):
                t0 = time.perf_counter()
                data = selectors.execution_detail(execution_id=eid)
                t1 = time.perf_counter()
                context = views._live_context(data)
                t2 = time.perf_counter()
                render_to_string("executions/detail.html", context)
                t3 = time.perf_counter()
                for name, ms in zip(phases, ((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000), strict=True):
                    phases[name].append(ms)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.views):
                client.get(url)
            profiler.disable()
    print(f"\n{args.tasks} tasks, {args.views} views, load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    walls.sort()
    print(f"whole view: median {statistics.median(walls):.1f} ms, p95 {walls[int(0.95 * (len(walls) - 1))]:.1f} ms")
    for name, values in phases.items():
        print(f"  {name}: median {statistics.median(values):.1f} ms")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    # And the app's own functions by their cumulative time: which step holds the rest.
    stats.sort_stats("cumulative").print_stats(r"executions/", args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
