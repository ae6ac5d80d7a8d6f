"""Delivery: claim due deliveries atomically, send each, record the attempt and what follows
(delivered, retried later with backoff, failed for good, given up), and disable a channel that
keeps failing.

Claiming is a conditional UPDATE on a lease (`... WHERE id = ? AND state IN (pending, claimed) AND
(claimed_until IS NULL OR claimed_until < now)`): the database decides the one winner by the row
count, the same way on SQLite and PostgreSQL. A worker killed mid-send leaves its lease to expire;
the delivery is then claimed again and retried, not lost (a receiver may so see an event twice,
and deduplicates by X-Mimir-Event-Id).
"""

from __future__ import annotations

import random
import re
import smtplib
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q

from executions import clock, metrics

from .. import payloads
from ..models import AlertChannel, Delivery, DeliveryAttempt, now
from ..signing import signature_header

EXCERPT_CHARS = 1000
_CLAIMABLE = ("pending", "claimed")
# Control characters (but tab and newline) and lone surrogates: never stored from a receiver's answer.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_RETRIED_4XX = (408, 425, 429)


@dataclass
class SendResult:
    outcome: str  # success | retry | failed
    status_code: int | None = None
    latency_ms: int = 0
    excerpt: str = ""
    error: str = ""
    retry_after_s: float | None = None


def backoff_seconds(attempt: int) -> float:
    """Delay before the attempt after `attempt` (1-based): exponential from
    ALERT_RETRY_FIRST_SECONDS, capped at ALERT_RETRY_MAX_SECONDS, with "equal jitter" (half fixed,
    half random) so that retries after a receiver's outage spread out but never come at once."""
    ceiling = min(settings.ALERT_RETRY_MAX_SECONDS, settings.ALERT_RETRY_FIRST_SECONDS * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - clock.now_ms() / 1000
        except (TypeError, ValueError):
            return None
    return max(1.0, min(seconds, settings.ALERT_RETRY_MAX_SECONDS))


def excerpt(text: str) -> str:
    return _UNPRINTABLE.sub("\ufffd", text[:EXCERPT_CHARS])


def claim(*, worker: str, limit: int = 20) -> list[Delivery]:
    """Up to `limit` due deliveries of enabled channels, each claimed for this worker alone."""
    at = now()
    lease = at + timedelta(seconds=settings.ALERT_CLAIM_LEASE_SECONDS)
    due = Q(state__in=_CLAIMABLE, next_attempt_at__lte=at) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=at))
    ids = list(Delivery.objects.filter(due, channel__enabled=True)
               .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
    if ids:
        # One UPDATE for the batch, its condition checked again row by row under the write lock
        # (PostgreSQL re-reads each row it waited for): a row another worker claimed meanwhile is
        # left to it, and the rows this one changed are its own.
        Delivery.objects.filter(due, pk__in=ids).update(state="claimed", claimed_by=worker, claimed_until=lease)
    return claimed_by(worker=worker)


def claimed_by(*, worker: str) -> list[Delivery]:
    """The deliveries this worker holds (the row count of each claim decided who won it)."""
    return list(Delivery.objects.filter(claimed_by=worker, state="claimed").select_related("event__rule", "channel")
                .order_by("next_attempt_at", "id"))


def release(*, worker: str, ids: list[int]) -> None:
    """Gives back claims this worker will not send (it is stopping): due again at once."""
    Delivery.objects.filter(pk__in=ids, claimed_by=worker, state="claimed").update(
        state="pending", claimed_by="", claimed_until=None)


_local = threading.local()


def _session() -> requests.Session:
    """This thread's HTTP session: its connections to receivers are kept alive from one send to the
    next (a worker sends in one thread; a "send test" in gunicorn's threads each has its own)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # no proxy or .netrc from the environment: a signed body goes where the channel says
    return session


def _http(channel: AlertChannel, event) -> SendResult:
    body = payloads.slack_body(event) if channel.kind == "slack" else payloads.webhook_body(event)
    raw = payloads.encode(body)
    at = now()
    timestamp = clock.now_ms() // 1000
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Mimir-Dashboard-Alerts/1",
        "X-Mimir-Event-Id": str(event.event_id),
        "X-Mimir-Timestamp": str(timestamp),
        "X-Mimir-Signature": signature_header(
            secret=channel.secret, previous_secret=channel.previous_secret,
            previous_expires_at=channel.previous_secret_expires_at, at=at, timestamp=timestamp, body=raw),
    }
    timeout = settings.ALERT_SEND_TIMEOUT_SECONDS
    started = time.monotonic()
    try:
        # No redirects: a signed body goes only where the channel says.
        with _session().post(channel.url, data=raw, headers=headers, timeout=(timeout, timeout),
                             allow_redirects=False, stream=True) as response:
            head = response.raw.read(EXCERPT_CHARS * 4, decode_content=True) or b""
            code = response.status_code
            retry_after = response.headers.get("Retry-After")
    except requests.RequestException as exc:
        return SendResult("retry", latency_ms=round((time.monotonic() - started) * 1000),
                          error=excerpt(f"{type(exc).__name__}: {exc}"))
    latency = round((time.monotonic() - started) * 1000)
    text = excerpt(head.decode("utf-8", errors="replace"))
    if 200 <= code < 300:
        return SendResult("success", code, latency, text)
    if code >= 500 or code in _RETRIED_4XX:
        return SendResult("retry", code, latency, text, f"HTTP {code}", _retry_after(retry_after))
    return SendResult("failed", code, latency, text, f"HTTP {code}: not retried")


def _email(channel: AlertChannel, event) -> SendResult:
    subject, body = payloads.email_message(event)
    started = time.monotonic()
    try:
        send_mail(subject, body, None, [channel.email])
    except smtplib.SMTPRecipientsRefused as exc:
        return SendResult("failed", latency_ms=round((time.monotonic() - started) * 1000),
                          error=excerpt(f"recipient refused: {exc}"))
    except (smtplib.SMTPException, OSError) as exc:
        return SendResult("retry", latency_ms=round((time.monotonic() - started) * 1000),
                          error=excerpt(f"{type(exc).__name__}: {exc}"))
    return SendResult("success", latency_ms=round((time.monotonic() - started) * 1000))


def send(delivery: Delivery) -> SendResult:
    channel = delivery.channel
    return _email(channel, delivery.event) if channel.kind == "email" else _http(channel, delivery.event)


def record(*, worker: str, delivery: Delivery, result: SendResult) -> str:
    """Writes the attempt and the delivery's next state; counts the channel's failures in a row and
    disables it at ALERT_CHANNEL_MAX_FAILURES. Answers the new state."""
    at = now()
    number = delivery.attempts + 1
    changes: dict = {"attempts": F("attempts") + 1, "claimed_by": "", "claimed_until": None,
                     "last_error": result.error}
    outcome = result.outcome
    if outcome == "success":
        changes.update(state="delivered", delivered_at=at)
    elif outcome == "failed":
        changes.update(state="failed")
    elif number >= settings.ALERT_DELIVERY_MAX_ATTEMPTS:
        outcome = "dead"
        changes.update(state="dead")
    else:
        wait = result.retry_after_s if result.retry_after_s is not None else backoff_seconds(number)
        changes.update(state="pending", next_attempt_at=at + timedelta(seconds=wait))
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, at=at, outcome=outcome, status_code=result.status_code,
            latency_ms=result.latency_ms, response_excerpt=result.excerpt, error=result.error)
        # Only while the claim is still this worker's (a lease that ran out may have been taken).
        Delivery.objects.filter(pk=delivery.pk, claimed_by=worker, state="claimed").update(**changes)
        channels = AlertChannel.objects.filter(pk=delivery.channel_id)
        if outcome == "success":
            channels.update(consecutive_failures=0)
        else:
            channels.update(consecutive_failures=F("consecutive_failures") + 1)
            channels.filter(enabled=True, consecutive_failures__gte=settings.ALERT_CHANNEL_MAX_FAILURES).update(
                enabled=False, disabled_at=at,
                disabled_reason=f"{settings.ALERT_CHANNEL_MAX_FAILURES} failed deliveries in a row; last: "
                                f"{result.error or result.status_code}")
    metrics.record_alert_delivery(outcome=outcome)
    return changes.get("state", "pending")


@dataclass
class DeliverReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def deliver_due(*, worker: str, limit: int = 20, stopping=lambda: False) -> DeliverReport:
    """Claims up to `limit` due deliveries and sends them one by one; stops early (giving back
    the rest) when `stopping()` turns true."""
    report = DeliverReport()
    claimed = claim(worker=worker, limit=limit)
    report.claimed = len(claimed)
    for i, delivery in enumerate(claimed):
        if stopping():
            release(worker=worker, ids=[d.pk for d in claimed[i:]])
            break
        state = record(worker=worker, delivery=delivery, result=send(delivery))
        if state == "delivered":
            report.delivered += 1
        elif state == "pending":
            report.retried += 1
        else:
            report.failed += 1
    return report
