import logging
import os
import signal
import socket
import threading
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from alerts import services
from executions.errors import DatabaseUnavailable

log = logging.getLogger("alerts.worker")


class Command(BaseCommand):
    help = (
        "The alert worker: detects alerts in the graph (rules on what changed, executions gone stale) "
        "and delivers them, until SIGTERM/SIGINT (it finishes the send in progress). Several may run "
        "at once, on one database: each delivery is claimed by one of them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="one detection pass, then send everything due, then exit")
        parser.add_argument("--batch", type=int, default=20, help="deliveries claimed at a time (default 20)")

    def handle(self, *args, once, batch, **options):
        worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        self.stderr.write(f"deliver_alerts {worker}: started")
        totals = {"passes": 0, "alerts": 0, "delivered": 0, "retried": 0, "failed": 0}
        while not stop.is_set():
            close_old_connections()  # a long-lived process: drop connections the database closed
            try:
                found = services.detect(worker=worker)
            except DatabaseUnavailable as exc:
                log.warning("alert detection skipped, Neo4j unavailable: %s", exc)
                found = services.DetectReport()
            totals["passes"] += found.ran
            totals["alerts"] += found.created
            if found.created:
                self.stderr.write(f"detected {found.created} alert(s): {found.kinds}")
            # Send what is due, batch after batch, until nothing is (or we are asked to stop).
            sent_any = False
            while not stop.is_set():
                done = services.deliver_due(worker=worker, limit=batch, stopping=stop.is_set)
                totals["delivered"] += done.delivered
                totals["retried"] += done.retried
                totals["failed"] += done.failed
                if done.claimed:
                    sent_any = True
                    self.stderr.write(f"sent {done.claimed}: {done.delivered} delivered, {done.retried} to retry, "
                                      f"{done.failed} failed")
                if done.claimed < batch:
                    break
            if once:
                break
            if not sent_any and not found.created:
                stop.wait(settings.ALERT_POLL_SECONDS)
        summary = ", ".join(f"{v} {k}" for k, v in totals.items())
        self.stderr.write(f"deliver_alerts {worker}: stopped ({summary})")
