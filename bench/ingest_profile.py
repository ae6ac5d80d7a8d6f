"""Where the app's CPU goes for one task result posted on its own (issue #15): the WSGI application
called in this process, request after request, against a real Neo4j, under cProfile.

    .venv/bin/python bench/ingest_profile.py --neo4j-port 7850 --requests 3000
    .venv/bin/python bench/ingest_profile.py --before executions.middleware.CachedPolicyCSPMiddleware=csp.middleware.CSPMiddleware

With `--before NEW=OLD` (repeatable) it measures a change side by side: a second application whose
MIDDLEWARE has OLD in NEW's place, the two taking turns in chunks of requests, each one's CPU per
request reported.

It starts a fresh Neo4j (or uses NEO4J_BOLT_URL), prepares the app as the throughput benchmark does
(migrate, schema, a token; production settings, Prometheus in multi-process mode as under gunicorn),
then posts the benchmark's one-result bodies straight to `mimir_dashboard.wsgi.application` (no
sockets, no gunicorn): the CPU per request without the profiler (time.process_time), then the same
loop under cProfile (timing CPU, not wall time), summed by package and listed by function. What gunicorn adds (HTTP parsing,
its access log, thread handoff) is outside this figure; the throughput benchmark's app column has it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from bench.ingest_throughput import make_workload


def _environ(path: str, body: bytes, token: str) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def _post_all(application, requests: list[tuple[str, bytes]], token: str) -> None:
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    for path, body in requests:
        statuses.clear()
        response = application(_environ(path, body, token), start_response)
        b"".join(response)
        response.close()
        if not statuses[0].startswith("201"):
            raise SystemExit(f"{path}: {statuses[0]}")


def _area(filename: str) -> str:
    """The package a profiled function belongs to (site-packages' top level, the app's module)."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if str(harness.REPO) in filename:
        return filename.removeprefix(str(harness.REPO) + "/")
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    return "stdlib: " + Path(filename).stem


def _application_with(replacements: dict[str, str]):
    """A second WSGI application whose middleware has each key's class replaced by its value's."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    missing = set(replacements) - set(settings.MIDDLEWARE)
    if missing:
        raise SystemExit(f"not in MIDDLEWARE: {sorted(missing)}")
    with override_settings(MIDDLEWARE=[replacements.get(m, m) for m in settings.MIDDLEWARE]):
        return WSGIHandler()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neo4j-port", type=int, default=7695)
    ap.add_argument("--requests", type=int, default=3000, help="measured requests (and as many under cProfile)")
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--before", action="append", default=[], metavar="NEW=OLD",
                    help="also measure an application with middleware OLD in place of NEW, side by side")
    ap.add_argument("--chunk", type=int, default=250, help="requests per turn in a side-by-side measurement")
    args = ap.parse_args(argv)
    harness.install_signal_handlers()
    with harness.neo4j_server("profile", port=args.neo4j_port) as neo:
        env, token = harness.prepare_app("profile", neo.bolt_url)
        os.environ.update(env)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="mimir-profile-prometheus-"))
        import django

        django.setup()
        from mimir_dashboard.wsgi import application

        def requests(tag: str, count: int) -> list[tuple[str, bytes]]:
            wl = make_workload(f"{tag}{uuid.uuid4().hex[:6]}", max(1, count // 50), 50, 1)
            return [(f"/api/v1/executions/{eid}/tasks", json.dumps(body).encode()) for eid, body in wl.items]

        apps = {"as is": application}
        if args.before:
            apps["before"] = _application_with(dict(pair.split("=", 1) for pair in args.before))
        for name, app in apps.items():
            harness.log(f"warm-up ({name}): {args.warmup} requests")
            _post_all(app, requests("w", args.warmup), token)
        measured = requests("m", args.requests)
        cpu_by = dict.fromkeys(apps, 0.0)
        count_by = dict.fromkeys(apps, 0)
        # Turns in chunks, so that both see the same machine (its load drifts within minutes).
        for start in range(0, len(measured), args.chunk):
            for name, app in apps.items():
                chunk = requests("m", args.chunk) if name != "as is" else measured[start : start + args.chunk]
                cpu0 = time.process_time()
                _post_all(app, chunk, token)
                cpu_by[name] += time.process_time() - cpu0
                count_by[name] += len(chunk)
        for name in apps:
            harness.log(f"{name}: {count_by[name]} requests, {cpu_by[name] / count_by[name] * 1000:.3f} ms CPU per "
                        f"request (no profiler; load average {os.getloadavg()[0]:.2f})")
        profiled = requests("p", args.requests)
        # CPU time, not wall time: the waits for Neo4j's answers are not the app's cost.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        _post_all(application, profiled, token)
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())
    by_area: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_area[_area(filename)] += tottime
    n = len(profiled)
    for name in cpu_by:
        print(f"CPU per request without the profiler, {name}: {cpu_by[name] / count_by[name] * 1000:.3f} ms "
              f"({count_by[name]} requests)")
    print(f"Under cProfile: {total / n * 1000:.3f} ms per request (profiler overhead included)\n")
    print("| where (own time, by package or app module) | ms per request | share |\n|---|---:|---:|")
    for area, seconds in sorted(by_area.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"| {area} | {seconds / n * 1000:.3f} | {seconds / total:.0%} |")
    print("\nBy cumulative time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print("By own time:\n" + out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
