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
from executions import services as execution_services
from executions.errors import DatabaseUnavailable

log = logging.getLogger("alerts.worker")


class Command(BaseCommand):
    help = (
        "The alert worker: detects alerts in the graph (rules on what changed, executions gone stale) "
        "and delivers them, until SIGTERM/SIGINT (it finishes the send in progress). Several may run "
        "at once, on one database: each delivery is claimed by one of them. With PRUNE_OLDER_THAN_DAYS "
        "set it also prunes old executions once a day, a batch between rounds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="one detection pass, then send everything due (and the day's prune, if due), "
                                 "then exit")
        parser.add_argument("--batch", type=int, default=20, help="deliveries claimed at a time (default 20)")

    def handle(self, *args, once, batch, **options):
        worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        self.stderr.write(f"deliver_alerts {worker}: started")
        memo = services.DetectionMemo()  # what this worker evaluated: the overlap is not evaluated again
        totals = {"passes": 0, "alerts": 0, "delivered": 0, "retried": 0, "failed": 0, "pruned": 0}
        daily = None
        if settings.PRUNE_OLDER_THAN_DAYS:
            daily = execution_services.DailyPrune(older_than_days=settings.PRUNE_OLDER_THAN_DAYS,
                                                  keep_failed=settings.PRUNE_KEEP_FAILED,
                                                  batch_size=settings.PRUNE_BATCH_NODES)
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
            if daily is not None:
                # One batch per round, so that a large prune never holds alerts up; --once finishes it.
                more = self._prune_step(daily, totals, once)
                while once and more:
                    more = self._prune_step(daily, totals, once)
            if once:
                break
            if not backlog:
                stop.wait(settings.ALERT_POLL_SECONDS)
        summary = ", ".join(f"{v} {k}" for k, v in totals.items())
        self.stderr.write(f"deliver_alerts {worker}: stopped ({summary})")

    def _prune_step(self, daily: execution_services.DailyPrune, totals: dict[str, int], once: bool) -> bool:
        """One batch of the day's prune (the first claims the day). Answers whether more remain."""
        try:
            step = daily.step()
        except Exception:  # a failed batch must not end the worker; the next round tries again
            if once:
                raise
            log.exception("daily prune: this batch failed; trying again next round")
            return False
        if step is None:
            return False
        totals["pruned"] += step.batch.executions
        if step.finished is None:
            return True
        done = step.finished
        self.stderr.write(f"daily prune {step.run_id}: deleted {done.executions} executions, "
                          f"{done.task_executions} task executions, {done.attempts} attempts")
        return False

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
