"""Human formatting for the pages: token counts, durations, epoch-ms times (always UTC), markdown."""

from __future__ import annotations

from datetime import datetime, timezone

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from executions.rendering import render_markdown

register = template.Library()


@register.filter
def tokens(value) -> str:
    """1234 → "1.2k", 3_400_000 → "3.4M"; None → "—"."""
    if value is None or value == "":
        return "—"
    n = int(value)
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= limit:
            text = f"{n / limit:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(n)


def format_duration(ms) -> str:
    if ms is None or ms == "":
        return "—"
    ms = int(ms)
    if ms < 0:
        ms = 0
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


@register.filter
def duration(ms) -> str:
    """Milliseconds → "850 ms", "42s", "3m 05s", "2h 07m"."""
    return format_duration(ms)


@register.filter
def ms_datetime(value) -> datetime | None:
    """Epoch milliseconds → an aware UTC datetime."""
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


@register.filter
def utc(value) -> SafeString | str:
    """Epoch ms (or a datetime) → <time> showing "2025-11-13 02:13:20 UTC"."""
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else ms_datetime(value)
    moment = moment.astimezone(timezone.utc)
    return format_html(
        '<time datetime="{}">{} <span class="tz">UTC</span></time>',
        moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
    )


@register.filter
def percent(value) -> str:
    """0.8333 → "83%"; None → "—"."""
    if value is None:
        return "—"
    return f"{round(float(value) * 100)}%"


@register.filter
def markdown(text) -> SafeString:
    """Untrusted markdown → sanitized HTML (see executions.rendering)."""
    return render_markdown(text)


@register.filter
def qc_score(value) -> str:
    """A QC score, or "—" when no QC ran (distinct from a score of 0)."""
    return "—" if value is None else str(value)


@register.simple_tag
def status_badge(status, stale=False) -> SafeString:
    """A badge per status (running, completed, failed, cancelled, success, failure) plus "stale"."""
    label = status or "unknown"
    html = format_html('<span class="badge badge-{}">{}</span>', label, label)
    if stale:
        html += mark_safe('<span class="badge badge-stale" title="Running, but no news for a long time">stale</span>')
    return html


@register.simple_tag
def progress_bar(successful, failed, total, size="sm") -> SafeString:
    """An SVG bar: successful (green), failed (red), pending (grey) out of total."""
    successful, failed = int(successful or 0), int(failed or 0)
    total = max(int(total or 0), successful + failed)
    ok = successful / total * 100 if total else 0
    bad = failed / total * 100 if total else 0
    pending = total - successful - failed
    return format_html(
        '<svg class="progress progress-{}" role="img" aria-label="{} successful, {} failed, {} pending of {}" '
        'width="100%" height="100%" preserveAspectRatio="none">'
        '<rect class="p-pending" x="0" y="0" width="100%" height="100%"/>'
        '<rect class="p-ok" x="0" y="0" width="{}%" height="100%"/>'
        '<rect class="p-bad" x="{}%" y="0" width="{}%" height="100%"/></svg>',
        size, successful, failed, pending, total, f"{ok:.2f}", f"{ok:.2f}", f"{bad:.2f}",
    )
