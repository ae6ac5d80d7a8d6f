"""Formatting for the failure report: percentages, compact token counts, UTC days, task links."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.3636 → "36.4%", 1 → "100%", None (nothing to divide by) → "—"."""
    if value is None or value == "":
        return "—"
    text = f"{float(value) * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def compact(value) -> str:
    """1234 → "1.2k", 3_400_000 → "3.4M"; None → "—"."""
    if value is None or value == "":
        return "—"
    n = int(value)
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(n)


@register.filter
def utc_day(ms) -> str:
    """Epoch ms → "2025-11-03"."""
    if ms is None or ms == "":
        return "—"
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


@register.filter
def utc_time(ms) -> str:
    """Epoch ms → "2025-11-03 10:05"."""
    if ms is None or ms == "":
        return "—"
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


@register.simple_tag
def task_url(execution_id: str, task_id: str) -> str:
    """The task drill-down page of one task execution."""
    try:
        return reverse("executions:task", args=[execution_id, task_id])
    except NoReverseMatch:
        return f"/executions/{quote(execution_id, safe='')}/tasks/{quote(task_id, safe='')}"
