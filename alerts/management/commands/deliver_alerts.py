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
        memo = services.DetectionMemo()  # what this worker evaluated: the overlap is not evaluated again
        totals = {"passes": 0, "alerts": 0, "delivered": 0, "retried": 0, "failed": 0}
        # A round every ALERT_POLL_SECONDS, however much it found: rounds back to back while alerts
        # keep firing would make detection's reads compete with ingest for Neo4j. Only a backlog (a
        # pass that stopped at its limit) is read on at once.
        while not stop.is_set():
            close_old_connections()  # a long-lived process: drop connections the database closed
            try:
                backlog = self._round(worker, memo, batch, stop, totals)
            except Exception:  # a database hiccup must not end the worker (`make run` would stop with it)
                if once:
                    raise
                # What it held stays claimed until its lease runs out, then is sent again.
                log.exception("alert worker: this round failed; trying again in %s s", settings.ALERT_POLL_SECONDS)
                backlog = False
            if once:
                break
            if not backlog:
                stop.wait(settings.ALERT_POLL_SECONDS)
        summary = ", ".join(f"{v} {k}" for k, v in totals.items())
        self.stderr.write(f"deliver_alerts {worker}: stopped ({summary})")

    def _round(self, worker: str, memo: services.DetectionMemo, batch: int, stop: threading.Event,
               totals: dict[str, int]) -> bool:
        """One detection pass, then what is due, batch after batch. Answers whether detection has a
        backlog left to read."""
        try:
            found = services.detect(worker=worker, memo=memo)
        except DatabaseUnavailable as exc:  # deliveries already detected go out all the same
            log.warning("alert detection skipped, Neo4j unavailable: %s", exc)
            found = services.DetectReport()
        totals["passes"] += found.ran
        totals["alerts"] += found.created
        if found.created:
            self.stderr.write(f"detected {found.created} alert(s): {found.kinds}")
        while not stop.is_set():
            done = services.deliver_due(worker=worker, limit=batch, stopping=stop.is_set)
            totals["delivered"] += done.delivered
            totals["retried"] += done.retried
            totals["failed"] += done.failed
            if done.claimed:
                self.stderr.write(f"sent {done.claimed}: {done.delivered} delivered, {done.retried} to retry, "
                                  f"{done.failed} failed")
            if done.claimed < batch:
                break
        return found.backlog
