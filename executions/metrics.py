"""Prometheus metrics (prometheus-client), served by GET /metrics (executions.views.metrics).

Two modes, chosen when prometheus_client is first imported:
- under gunicorn, scripts/run.sh sets PROMETHEUS_MULTIPROC_DIR (a fresh folder under var/): every
  worker process writes its counters and histograms into memory-mapped files there, and a scrape,
  answered by whichever worker gets it, adds up every process's files (`MultiProcessCollector`);
  gunicorn's `child_exit` hook (mimir_dashboard/gunicorn_conf.py) marks a dead worker's files;
- otherwise (tests, runserver, manage.py) one process: the plain registry `REGISTRY` below.

What is not a per-process count (executions by status, the alert queue's depth) is read at scrape
time by `ScrapeTimeCollector`, registered only in the registry a scrape builds: so under gunicorn
it is read once per scrape, by the worker answering it, and never summed over workers.

Labels are bounded: `endpoint` is the route's name (never the path, which holds ids), `status`
an HTTP status, `kind` and `outcome` come from fixed lists here.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from . import clock
from .errors import DatabaseUnavailable
from .models import EXECUTION_STATUSES

logger = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Our metrics only: prometheus-client's default registry would add process and GC metrics of one
# worker, which mean nothing summed over workers.
REGISTRY = CollectorRegistry(auto_describe=True)

INGEST_REQUESTS = Counter(
    "mimir_ingest_requests", "API requests answered, by route name and HTTP status.",
    ["endpoint", "status"], registry=REGISTRY,
)
# Seconds from the request reaching Django to its answer, waits for the in-flight body budget
# and for a group commit's turn included.
INGEST_DURATION = Histogram(
    "mimir_ingest_request_duration_seconds", "API request latency in Django, by route name.",
    ["endpoint"], registry=REGISTRY,
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GROUP_COMMIT_SIZE = Histogram(
    "mimir_group_commit_group_size", "Task results written together by one group-commit statement.",
    registry=REGISTRY, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

# What went wrong talking to Neo4j (executions.graph): `unreachable` (connection refused, lost),
# `transient` (a deadlock or leader switch, retried), `busy` (still transient after every retry),
# `out_of_memory` (a transaction memory pool full), `timed_out` (past db.transaction.timeout).
NEO4J_ERROR_KINDS = ("unreachable", "transient", "busy", "out_of_memory", "timed_out")
NEO4J_ERRORS = Counter(
    "mimir_neo4j_errors", "Errors from Neo4j by kind (transient ones counted per retry).",
    ["kind"], registry=REGISTRY,
)
# Why an API request was answered 503: Neo4j `unreachable`, Neo4j `busy` (retries or memory), or
# the process's in-flight `body_budget` (executions.inflight) full for too long.
UNAVAILABLE_REASONS = ("unreachable", "busy", "body_budget")
INGEST_UNAVAILABLE = Counter(
    "mimir_ingest_unavailable", "API requests answered 503 (retry later), by reason.",
    ["reason"], registry=REGISTRY,
)

# Outcomes of an alert delivery attempt, as alerts.services.delivery records them: `success` (2xx),
# `retry` (5xx, 429 or unreachable: tried again later), `failed` (4xx, or a channel test that did
# not succeed: not retried), `dead` (still failing at the last attempt, ALERT_DELIVERY_MAX_ATTEMPTS).
ALERT_DELIVERY_OUTCOMES = ("success", "retry", "failed", "dead")
ALERT_DELIVERIES = Counter(
    "mimir_alert_deliveries", "Alert delivery attempts by outcome.", ["outcome"], registry=REGISTRY,
)

for _kind in NEO4J_ERROR_KINDS:
    NEO4J_ERRORS.labels(kind=_kind)  # every kind is exported from the start, at 0
for _reason in UNAVAILABLE_REASONS:
    INGEST_UNAVAILABLE.labels(reason=_reason)
for _outcome in ALERT_DELIVERY_OUTCOMES:
    ALERT_DELIVERIES.labels(outcome=_outcome)


def record_ingest_request(*, endpoint: str, status: int, seconds: float) -> None:
    INGEST_REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()
    INGEST_DURATION.labels(endpoint=endpoint).observe(seconds)


def record_group_size(*, results: int) -> None:
    GROUP_COMMIT_SIZE.observe(results)


def record_neo4j_error(*, kind: str) -> None:
    if kind not in NEO4J_ERROR_KINDS:
        raise ValueError(f"unknown Neo4j error kind {kind!r}; one of {', '.join(NEO4J_ERROR_KINDS)}")
    NEO4J_ERRORS.labels(kind=kind).inc()


def record_unavailable(*, reason: str) -> None:
    if reason not in UNAVAILABLE_REASONS:
        raise ValueError(f"unknown 503 reason {reason!r}; one of {', '.join(UNAVAILABLE_REASONS)}")
    INGEST_UNAVAILABLE.labels(reason=reason).inc()


def record_alert_delivery(*, outcome: str) -> None:
    """For the alert delivery worker (`manage.py deliver_alerts`): count one delivery attempt's
    `outcome`, one of ALERT_DELIVERY_OUTCOMES (anything else is a ValueError: labels stay bounded).
    The worker is a process of its own: for its counts to reach /metrics it must run with the same
    PROMETHEUS_MULTIPROC_DIR as gunicorn (scripts/run.sh exports it to both)."""
    if outcome not in ALERT_DELIVERY_OUTCOMES:
        raise ValueError(f"unknown alert delivery outcome {outcome!r}; one of {', '.join(ALERT_DELIVERY_OUTCOMES)}")
    ALERT_DELIVERIES.labels(outcome=outcome).inc()


# ---------------------------------------------------------------- read at scrape time

EXECUTIONS_CACHE_SECONDS = 5.0

_alert_queue_depth: Callable[[], int] | None = None


def set_alert_queue_depth(source: Callable[[], int] | None) -> None:
    """Have `mimir_alert_queue_depth` read from `source` (e.g. a COUNT of undelivered alerts) at
    every scrape; None removes it. Until the alerts app sets one (in its AppConfig.ready, so in
    every worker process), the gauge is not exported at all."""
    global _alert_queue_depth
    _alert_queue_depth = source


class _ExecutionsByStatus:
    """`executions/metrics/executions_by_status` (one read of the status index), kept for at most
    EXECUTIONS_CACHE_SECONDS so that scrapes from several Prometheus servers cost one read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] | None = None
        self._read_at = 0

    def counts(self) -> dict[str, int]:
        with self._lock:
            # The app's clock (tests move it); a clock set back also ends the period.
            age_ms = clock.now_ms() - self._read_at
            if self._counts is None or not 0 <= age_ms < EXECUTIONS_CACHE_SECONDS * 1000:
                from . import graph  # graph records its errors here: imported when first needed

                rows = graph.read("metrics/executions_by_status")
                counts = dict.fromkeys(EXECUTION_STATUSES, 0)
                counts.update({status: count for status, count in rows})
                self._counts, self._read_at = counts, clock.now_ms()
            return self._counts

    def forget(self) -> None:
        with self._lock:
            self._counts = None


EXECUTIONS_BY_STATUS = _ExecutionsByStatus()


class ScrapeTimeCollector(Collector):
    """The gauges read when scraped: executions by status (left out, and logged, while Neo4j
    cannot answer: no stale or made-up numbers), and the alert queue's depth once it has a source."""

    def describe(self) -> Iterable[Metric]:
        # Without it, registering would call collect(), i.e. query Neo4j at import time.
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            counts = EXECUTIONS_BY_STATUS.counts()
        except DatabaseUnavailable as exc:
            logger.warning("metrics: executions by status not read: %s", exc)
        else:
            family = GaugeMetricFamily("mimir_executions", "Executions in the graph by status.", labels=["status"])
            for status, count in sorted(counts.items()):
                family.add_metric([status], count)
            yield family
        source = _alert_queue_depth
        if source is not None:
            from django.db import DatabaseError

            try:
                depth = source()
            except DatabaseError as exc:  # the scrape still answers the rest
                logger.warning("metrics: alert queue depth not read: %s", exc)
            else:
                yield GaugeMetricFamily("mimir_alert_queue_depth", "Alerts waiting to be delivered.", value=depth)


_SCRAPE_TIME = ScrapeTimeCollector()
REGISTRY.register(_SCRAPE_TIME)


def exposition() -> bytes:
    """The text exposition of every metric: this process's, or under gunicorn every process's."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(_SCRAPE_TIME)
    return generate_latest(registry)
