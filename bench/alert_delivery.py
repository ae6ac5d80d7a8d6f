"""What one alert delivery costs the worker (alerts/services/delivery.py): CPU time of this process
and wall time per delivery, and SQL statements per delivery, draining N due webhook deliveries
with `deliver_due` as `manage.py deliver_alerts` does, to a receiver in another process (so that
its CPU is not counted), on a fresh SQLite database configured as the app configures it.

    .venv/bin/python bench/alert_delivery.py                      # 1,000 deliveries, best of 3 rounds
    .venv/bin/python bench/alert_delivery.py --deliveries 200     # quicker

Run it from two checkouts one after the other to compare them (it needs no Neo4j).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# A receiver answering 204 with keep-alive, in its own process.
RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
print(server.server_port, flush=True)
server.serve_forever()
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deliveries", type=int, default=1000, help="deliveries per round")
    ap.add_argument("--rounds", type=int, default=3, help="the best round is reported")
    ap.add_argument("--batch", type=int, default=20, help="deliveries claimed at a time (deliver_alerts --batch)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-alert-delivery-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mimir_dashboard.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts import services
    from alerts.models import AlertEvent, Delivery, now

    call_command("migrate", verbosity=0)
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline())
        channel, _ = services.channel_create(name="bench", kind="webhook", url=f"http://127.0.0.1:{port}/hook")
        rule = services.rule_create(channel_id=channel.pk, spec=services.RuleSpec(kind="execution_failed"))
        best = None
        for rnd in range(args.rounds):
            at = now()
            AlertEvent.objects.bulk_create([
                AlertEvent(rule=rule, subject_key=services.subject_key(f"r{rnd}-e{i}"), created_at=at,
                           payload={"kind": "execution_failed", "execution": {"executionId": f"r{rnd}-e{i}",
                                                                              "planId": "bench", "status": "failed"}})
                for i in range(args.deliveries)])
            events = AlertEvent.objects.filter(rule=rule, subject_key__startswith=f'["r{rnd}-')
            Delivery.objects.bulk_create([Delivery(event=e, channel=channel, next_attempt_at=at) for e in events])
            delivered = 0
            cpu, wall = time.process_time(), time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                while True:
                    done = services.deliver_due(worker="bench", limit=args.batch)
                    delivered += done.delivered
                    if done.claimed < args.batch:
                        break
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if delivered != args.deliveries:
                print(f"round {rnd + 1}: only {delivered} of {args.deliveries} delivered", file=sys.stderr)
                return 1
            row = (cpu * 1000 / delivered, wall * 1000 / delivered, len(queries) / delivered)
            print(f"round {rnd + 1}: {delivered} delivered, {row[0]:.2f} ms CPU and {row[1]:.2f} ms wall per "
                  f"delivery, {row[2]:.1f} SQL statements per delivery", flush=True)
            best = row if best is None or row[0] < best[0] else best
        load = "/".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"best of {args.rounds}: {best[0]:.2f} ms CPU, {best[1]:.2f} ms wall, {best[2]:.1f} SQL statements per "
              f"delivery (batches of {args.batch}; load average {load})")
    finally:
        receiver.terminate()
        receiver.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
