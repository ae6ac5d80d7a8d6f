"""Reads of the alerts app, shaped for the pages and commands that show them."""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from .models import TEST_KIND, AlertChannel, AlertRule, Delivery, DeliveryAttempt


def rules_list(*, channel_id: int | None = None) -> list[AlertRule]:
    """Every rule (or a channel's) with its channel, its last firing and how many alerts it made
    (counted by SQL)."""
    rules = AlertRule.objects.exclude(kind=TEST_KIND)
    if channel_id is not None:
        rules = rules.filter(channel_id=channel_id)
    return list(
        rules.select_related("channel")
        .annotate(fired=Count("events"), last_fired=Max("events__created_at"))
        .order_by("channel__name", "kind", "plan_id", "pk")
    )


def _with_queue_counts(channels: QuerySet[AlertChannel]) -> QuerySet[AlertChannel]:
    return channels.annotate(
        pending=Count("deliveries", filter=Q(deliveries__state__in=("pending", "claimed"))),
        delivered=Count("deliveries", filter=Q(deliveries__state="delivered")),
        undelivered=Count("deliveries", filter=Q(deliveries__state__in=("failed", "dead"))),
    )


def channels_list() -> list[AlertChannel]:
    """Every channel with its delivery counts by state (SQL aggregates), disabled ones first."""
    return list(_with_queue_counts(AlertChannel.objects.all()).order_by("enabled", "name"))


def channel_detail(*, channel_id: int) -> AlertChannel | None:
    """One channel with its delivery counts, or None."""
    return _with_queue_counts(AlertChannel.objects.filter(pk=channel_id)).first()


def channel_delivery_log(*, channel_id: int, limit: int = 100) -> list[DeliveryAttempt]:
    """A channel's latest attempts, newest first, with their event and rule."""
    return list(
        DeliveryAttempt.objects.filter(delivery__channel_id=channel_id)
        .select_related("delivery__event__rule")
        .order_by("-at", "-pk")[:limit]
    )


def channel_deliveries(*, channel_id: int, page: int = 1, per_page: int = 25) -> dict:
    """One page of a channel's deliveries, newest first, each with its event, rule and every
    attempt (newest first; at most ALERT_DELIVERY_MAX_ATTEMPTS each), and how many there are in
    all: three queries whatever the page holds."""
    deliveries = Delivery.objects.filter(channel_id=channel_id)
    total = deliveries.count()
    start = (page - 1) * per_page
    rows = list(
        deliveries.select_related("event__rule")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-number", "-pk")))
        .order_by("-created_at", "-pk")[start:start + per_page]
    )
    return {
        "deliveries": rows,
        "total": total,
        "first": start + 1 if rows else 0,
        "last": start + len(rows),
        "page": page,
        "has_previous": page > 1,
        "has_next": start + len(rows) < total,
    }


def queue_depth() -> int:
    """Deliveries not done yet (waiting or being sent): `mimir_alert_queue_depth` on /metrics."""
    return Delivery.objects.filter(state__in=("pending", "claimed")).count()
