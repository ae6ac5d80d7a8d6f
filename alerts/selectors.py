"""Reads of the alerts app, shaped for the pages and commands that show them."""

from __future__ import annotations

from django.db.models import Count, Max, Q

from .models import TEST_KIND, AlertChannel, AlertRule, DeliveryAttempt


def rules_list() -> list[AlertRule]:
    """Every rule with its channel, its last firing and how many alerts it made (counted by SQL)."""
    return list(
        AlertRule.objects.exclude(kind=TEST_KIND).select_related("channel")
        .annotate(fired=Count("events"), last_fired=Max("events__created_at"))
        .order_by("channel__name", "kind", "plan_id", "pk")
    )


def channels_list() -> list[AlertChannel]:
    """Every channel with its delivery counts by state (SQL aggregates), disabled ones first."""
    return list(
        AlertChannel.objects.annotate(
            pending=Count("deliveries", filter=Q(deliveries__state__in=("pending", "claimed"))),
            delivered=Count("deliveries", filter=Q(deliveries__state="delivered")),
            undelivered=Count("deliveries", filter=Q(deliveries__state__in=("failed", "dead"))),
        ).order_by("enabled", "name")
    )


def channel_delivery_log(*, channel_id: int, limit: int = 100) -> list[DeliveryAttempt]:
    """A channel's latest attempts, newest first, with their event and rule."""
    return list(
        DeliveryAttempt.objects.filter(delivery__channel_id=channel_id)
        .select_related("delivery__event__rule")
        .order_by("-at", "-pk")[:limit]
    )
