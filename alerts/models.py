"""Alert channels and rules, the outbox of alert events, and their deliveries (Django ORM: SQLite
by default, PostgreSQL in production). Times come from `executions.clock`, so tests move them."""

from __future__ import annotations

import uuid

from django.db import models

from executions import clock

CHANNEL_KINDS = ("webhook", "slack", "email")
RULE_KINDS = (
    "execution_failed",
    "execution_cancelled",
    "execution_stale",
    "qc_score_below",
    "attempts_above",
    "failure_rate_above",
    "rework_tokens_above",
)
# The kinds that need a threshold (and what it counts), and the one that needs a window too.
THRESHOLD_KINDS = {
    "qc_score_below": "a QC score (0-100)",
    "attempts_above": "a number of attempts",
    "failure_rate_above": "a failure rate (0-1)",
    "rework_tokens_above": "a number of tokens",
}
WINDOW_KINDS = ("failure_rate_above",)
# The hidden rule (never enabled, so never detected) that a channel's "send test" sends through,
# so that a test goes the same way as an alert and shows in the channel's delivery log.
TEST_KIND = "channel_test"
DELIVERY_STATES = ("pending", "claimed", "delivered", "failed", "dead")


def now():
    return clock.utc_datetime(clock.now_ms())


def _choices(values):
    return [(v, v) for v in values]


class AlertChannel(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=_choices(CHANNEL_KINDS))
    url = models.URLField(max_length=2000, blank=True)
    email = models.EmailField(blank=True)
    # HMAC keys. Kept as they are: signing needs the key itself (a hash would not do). During a
    # rotation's grace period the previous one signs too, until previous_secret_expires_at.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # Failed attempts in a row; at ALERT_CHANNEL_MAX_FAILURES the channel is disabled.
    consecutive_failures = models.IntegerField(default=0)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self):
        return f"{self.name} ({self.kind})"


class AlertRule(models.Model):
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=30, choices=_choices((*RULE_KINDS, TEST_KIND)))
    # None: every plan.
    plan_id = models.CharField(max_length=200, null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    window_minutes = models.IntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    last_fired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.kind} → {self.channel.name}"


class FailureRateState(models.Model):
    """Where a failure-rate rule stands for one plan: above its threshold or not, and how often it
    crossed it (the crossing's number is its alert's subject, so each crossing alerts once)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="rate_states")
    plan_id = models.CharField(max_length=200)
    above = models.BooleanField(default=False)
    crossings = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "plan_id"], name="failure_rate_state_key")]


class AlertEvent(models.Model):
    """The outbox: one row per rule and subject, however often the fact that fired it is read."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    # JSON of a list (e.g. ["exec-1", "task-a"]): ids may hold any separator a join would use.
    subject_key = models.CharField(max_length=1000)
    # What receivers deduplicate by (X-Mimir-Event-Id): fixed when the row is written.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "subject_key"], name="alert_event_key")]


class Delivery(models.Model):
    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=_choices(DELIVERY_STATES), default="pending")
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=now)
    # The worker holding it, until when: a claim whose lease ran out may be taken by another.
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "channel"], name="delivery_key")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.IntegerField()
    at = models.DateTimeField(default=now)
    # success | retry | failed (permanent) | dead (given up)
    outcome = models.CharField(max_length=10)
    status_code = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField()
    # The receiver's answer, cut and stripped of control characters (it is shown on a page).
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivery", "number"], name="delivery_attempt_order")]


class DetectorState(models.Model):
    """One row: how far detection has read the graph, as a position (lastEventAt epoch ms,
    executionId) per query, and which worker holds the detection lease (one pass at a time, so
    that a failure-rate rule's state is never moved by two reads of different moments)."""

    changed_since_ms = models.BigIntegerField(null=True)
    changed_after_id = models.CharField(max_length=200, blank=True)
    stale_since_ms = models.BigIntegerField(null=True)
    stale_after_id = models.CharField(max_length=200, blank=True)
    leased_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True)
    last_pass_at = models.DateTimeField(null=True)
