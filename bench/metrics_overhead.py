"""CPU time the Prometheus metrics add to one API request (executions/metrics.py), in the mode
gunicorn runs them (multi-process: memory-mapped files) and in the plain one.

Per request, ApiMetricsMiddleware names the route (`api.endpoint_name`) and records a counter and a
histogram (`metrics.record_ingest_request`); a task result posted alone adds one group-size
observation (`metrics.record_group_size`). This times exactly those calls on a resolved request of
the busiest route (POST /api/v1/executions/<id>/tasks), CPU time (`time.process_time`), best of
--rounds, so that other load on the machine does not count.

    .venv/bin/python bench/metrics_overhead.py                 # both modes, 200,000 calls a round
    .venv/bin/python bench/metrics_overhead.py --calls 20000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(calls: int, rounds: int) -> dict:
    """In this process (its mode fixed by PROMETHEUS_MULTIPROC_DIR at import): µs of CPU per request."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mimir_dashboard.settings")
    os.environ["PYTEST_VERSION"] = "bench"  # the settings' test mode: no var/ files, no secrets needed
    import django

    django.setup()
    from django.test import RequestFactory
    from django.urls import resolve

    from executions import metrics
    from executions.api import endpoint_name

    request = RequestFactory().post("/api/v1/executions/e-1/tasks", data="{}", content_type="application/json")
    request.resolver_match = resolve(request.path_info)
    if endpoint_name(request) != "task_result":
        raise SystemExit(f"the route resolved to {endpoint_name(request)!r}, not task_result")
    best = float("inf")
    for r in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            metrics.record_ingest_request(endpoint=endpoint_name(request), status=201, seconds=0.004)
            metrics.record_group_size(results=1)
        best = min(best, time.process_time() - started)
        print(f"  round {r + 1}/{rounds}: {1e6 * (time.process_time() - started) / calls:.2f} µs per request",
              file=sys.stderr, flush=True)
    return {"multiprocess": metrics.MULTIPROCESS, "us_per_request": 1e6 * best / calls, "calls": calls}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.calls, args.rounds)))
        return 0
    results = []
    for mode in ("multiprocess", "plain"):
        print(f"{mode} mode, {args.rounds} rounds of {args.calls:,} requests ...", file=sys.stderr, flush=True)
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        with tempfile.TemporaryDirectory(prefix="mimir-bench-prometheus-") as folder:
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = folder
            out = subprocess.run([sys.executable, __file__, "--child", "--calls", str(args.calls),
                                  "--rounds", str(args.rounds)], env=env, check=True, capture_output=False,
                                 stdout=subprocess.PIPE, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    print("\nmode | CPU per API request (route name, counter, histogram, group size)")
    for result in results:
        mode = "multiprocess (gunicorn)" if result["multiprocess"] else "plain"
        print(f"{mode} | {result['us_per_request']:.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
