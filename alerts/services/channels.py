"""Channels and rules: creating, removing, rotating secrets, re-enabling."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets as _secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction

from executions.errors import ConflictError, InvalidInput, NotFound

from ..models import (
    CHANNEL_KINDS,
    RULE_KINDS,
    TEST_KIND,
    THRESHOLD_KINDS,
    WINDOW_KINDS,
    AlertChannel,
    AlertEvent,
    AlertRule,
    Delivery,
    now,
)
from ..payloads import rule_json
from .delivery import SendResult, claimed_by, record, send
from .detection import subject_key

_URL = URLValidator(schemes=["http", "https"])
# The bounds of each threshold: what a value outside would mean is never what was meant.
_BOUNDS = {
    "qc_score_below": (0, 100, False),
    "attempts_above": (0, None, True),
    "failure_rate_above": (0, 1, False),
    "rework_tokens_above": (0, None, True),
}


@dataclass(frozen=True)
class RuleSpec:
    """One rule to create: its kind, and for kinds that need them its threshold and window."""

    kind: str
    threshold: float | None = None
    window_minutes: int | None = None


def secret_generate() -> str:
    # 32 random bytes: the receiver's HMAC key.
    return "whsec_" + _secrets.token_urlsafe(32)


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "message": message}])


def rule_spec_validate(spec: RuleSpec) -> RuleSpec:
    """The spec, or InvalidInput naming the field at fault (kind, threshold, window_minutes)."""
    if spec.kind not in RULE_KINDS:
        raise _invalid("kind", f"unknown kind {spec.kind!r}; one of {', '.join(RULE_KINDS)}")
    if spec.kind in THRESHOLD_KINDS:
        if spec.threshold is None:
            raise _invalid("threshold", f"{spec.kind} needs a threshold ({THRESHOLD_KINDS[spec.kind]})")
        low, high, integral = _BOUNDS[spec.kind]
        value = spec.threshold
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            raise _invalid("threshold", f"{spec.kind} threshold must be within {low}-{high or 'any'}, got {value}")
        if integral and value != int(value):
            raise _invalid("threshold", f"{spec.kind} threshold must be a whole number, got {value}")
    elif spec.threshold is not None:
        raise _invalid("threshold", f"{spec.kind} takes no threshold")
    if spec.kind in WINDOW_KINDS:
        if spec.window_minutes is None or not 1 <= spec.window_minutes <= 60 * 24 * 31:
            raise _invalid("window_minutes", f"{spec.kind} needs a window of 1 to {60 * 24 * 31} minutes")
    elif spec.window_minutes is not None:
        raise _invalid("window_minutes", f"{spec.kind} takes no window")
    return spec


def _plan_id_validate(plan_id: str | None) -> None:
    if plan_id is not None and not (0 < len(plan_id) <= 200):
        raise _invalid("plan_id", "a plan id of 1 to 200 characters is needed")


def _channel_target_validate(*, kind: str, url: str, email: str) -> None:
    if kind not in CHANNEL_KINDS:
        raise _invalid("kind", f"unknown channel kind {kind!r}; one of {', '.join(CHANNEL_KINDS)}")
    if kind == "email":
        try:
            EmailValidator()(email)
        except ValidationError:
            raise _invalid("email", f"not an email address: {email!r}") from None
        return
    try:
        _URL(url)
    except ValidationError:
        raise _invalid("url", f"not an http(s) URL: {url!r}") from None


def channel_create(*, name: str, kind: str, url: str = "", email: str = "", plan_id: str | None = None,
                   rules: list[RuleSpec] = ()) -> tuple[AlertChannel, str]:
    """A channel with its rules (for `plan_id`, or every plan when None), in one transaction; the
    dashboard creates one without rules and adds them after (`rule_create`). Answers the channel
    and its new secret (shown this once)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise _invalid("name", "a name of 1 to 100 characters is needed")
    _channel_target_validate(kind=kind, url=url, email=email)
    specs = [rule_spec_validate(spec) for spec in rules]
    _plan_id_validate(plan_id)
    secret = secret_generate()
    try:
        with transaction.atomic():
            channel = AlertChannel.objects.create(name=name, kind=kind, url=url, email=email, secret=secret)
            AlertRule.objects.bulk_create(
                AlertRule(channel=channel, kind=s.kind, plan_id=plan_id, threshold=s.threshold,
                          window_minutes=s.window_minutes)
                for s in specs
            )
    except IntegrityError:
        raise _invalid("name", f"a channel named {name!r} exists already") from None
    return channel, secret


def _channel(name: str) -> AlertChannel:
    try:
        return AlertChannel.objects.get(name=name)
    except AlertChannel.DoesNotExist:
        raise NotFound(f"no alert channel named {name!r}", errors=[{"field": "name", "message": "not found"}]) from None


def channel_remove(*, name: str) -> None:
    """Removes the channel, its rules, events and delivery log."""
    _channel(name).delete()


def channel_delete(*, channel_id: int) -> str:
    """`channel_remove` by id (the pages'); answers the name it had."""
    channel = _channel_by_id(channel_id)
    channel.delete()
    return channel.name


def secret_fingerprint(secret: str) -> str:
    """Names a secret without telling it: what a page that offers to rotate it carries, so that a
    rotation asked from a page shown before someone else rotated is refused rather than replacing
    the secret they were just given."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def channel_secret_rotate(*, name: str, grace_hours: float = 24, expected: str | None = None) -> str:
    """A new secret signs from now on; the current one keeps signing beside it for `grace_hours`
    (0: at once no more), so receivers can switch without losing a delivery. `expected`: the
    `secret_fingerprint` of the secret the caller means to replace (None: whichever is current)."""
    if not math.isfinite(grace_hours) or not 0 <= grace_hours <= 24 * 31:
        raise _invalid("grace_hours", "the grace period must be 0 to 744 hours")
    channel = _channel(name)
    rotated_meanwhile = ConflictError(
        "the secret was rotated by someone else meanwhile, and the new one was shown to them: it is in force; "
        "rotate again only if you need yet another",
        errors=[{"field": "current", "message": "rotated meanwhile"}])
    if expected is not None and expected != secret_fingerprint(channel.secret):
        raise rotated_meanwhile
    new = secret_generate()
    expires = now() + timedelta(hours=grace_hours) if grace_hours > 0 else None
    # Conditional on the secret read: two rotations at once cannot both keep "their" previous one.
    updated = AlertChannel.objects.filter(pk=channel.pk, secret=channel.secret).update(
        secret=new, previous_secret=channel.secret if expires else "", previous_secret_expires_at=expires
    )
    if updated != 1:
        raise rotated_meanwhile
    return new


def channel_test_send(*, channel_id: int) -> SendResult:
    """Sends a test alert to the channel now, the way alerts go (signed, recorded in its delivery
    log, counted in its failures in a row), and answers how it went."""
    channel = AlertChannel.objects.get(pk=channel_id)
    rule, _ = AlertRule.objects.get_or_create(channel=channel, kind=TEST_KIND, defaults={"enabled": False})
    event = AlertEvent.objects.create(rule=rule, subject_key=subject_key("test", uuid.uuid4().hex),
                                      payload={"kind": TEST_KIND, "rule": rule_json(rule),
                                               "url": settings.ALERT_DASHBOARD_URL})
    worker = f"send-test:{uuid.uuid4().hex[:8]}"
    Delivery.objects.create(event=event, channel=channel, state="claimed", claimed_by=worker,
                            claimed_until=now() + timedelta(seconds=settings.ALERT_CLAIM_LEASE_SECONDS))
    (delivery,) = claimed_by(worker=worker)
    outcome = send(delivery)
    # Recorded as tried once: a failed test is not retried (the button is pressed again).
    record(worker=worker, delivery=delivery,
           result=dataclasses.replace(outcome, outcome="success" if outcome.outcome == "success" else "failed"))
    return outcome


def channel_enable(*, channel_id: int) -> None:
    """Re-enables a channel (after it was disabled for failing): its failures count from zero, and
    what waited for it is sent."""
    AlertChannel.objects.filter(pk=channel_id).update(
        enabled=True, consecutive_failures=0, disabled_reason="", disabled_at=None
    )


def rule_create(*, channel_id: int, spec: RuleSpec, plan_id: str | None = None) -> AlertRule:
    """A rule on an existing channel (for `plan_id`, or every plan when None), validated as
    `channel_create` validates its rules. It fires on what happens from now on."""
    rule_spec_validate(spec)
    _plan_id_validate(plan_id)
    channel = _channel_by_id(channel_id)
    return AlertRule.objects.create(channel=channel, kind=spec.kind, plan_id=plan_id, threshold=spec.threshold,
                                    window_minutes=spec.window_minutes)


def rule_delete(*, rule_id: int) -> int:
    """Removes a rule with its alerts and their deliveries (the hidden test rule is not a rule to
    delete). Answers the id of the channel it was on."""
    rule = AlertRule.objects.filter(pk=rule_id).exclude(kind=TEST_KIND).only("pk", "channel_id").first()
    if rule is None:
        raise NotFound(f"no alert rule {rule_id}", errors=[{"field": "rule", "message": "not found"}])
    rule.delete()
    return rule.channel_id


def _channel_by_id(channel_id: int) -> AlertChannel:
    try:
        return AlertChannel.objects.get(pk=channel_id)
    except AlertChannel.DoesNotExist:
        raise NotFound(f"no alert channel {channel_id}",
                       errors=[{"field": "channel", "message": "not found"}]) from None
