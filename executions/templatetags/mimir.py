"""Human formatting for every page: counts, rates, durations, epoch-ms times (always UTC),
markdown, badges, bars and the failure report's task links. One filter per format: a number, a
rate or a moment reads the same on every page."""

from __future__ import annotations

import datetime
import functools
from urllib.parse import quote

from django import template
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.html import escape, format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from executions import clock
from executions.rendering import render_markdown

register = template.Library()

NOTHING = "—"  # what every filter shows for a missing value


def _missing(value) -> bool:
    return value is None or value == ""


def _one_decimal(number: float) -> str:
    """12.0 → "12", 12.34 → "12.3": a decimal only where it says something."""
    return f"{number:.1f}".rstrip("0").rstrip(".")


@register.filter
def compact(value) -> str:
    """A count for humans: 999 → "999", 1234 → "1.2k", 3_400_000 → "3.4M"; None → "—"."""
    if _missing(value):
        return NOTHING
    n = int(value)
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= limit:
            return _one_decimal(n / limit) + suffix
    return str(n)


@register.filter
def percent(value) -> str:
    """A rate (0..1) as a percentage: 0.3636 → "36.4%", 0.5 → "50%", 1 → "100%"; None (nothing to
    divide by) → "—"."""
    if _missing(value):
        return NOTHING
    return _one_decimal(float(value) * 100) + "%"


@register.filter
def duration(ms) -> str:
    """Milliseconds → "850 ms", "42s", "3m 05s", "2h 07m", "1d 01h" (negative counts as 0)."""
    if _missing(ms):
        return NOTHING
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
def utc(ms) -> SafeString | str:
    """A moment, epoch ms (or an aware datetime, as the alerts' SQL rows hold) → <time> showing
    "2025-11-13 02:13:20 UTC"; None → "—"."""
    if _missing(ms):
        return NOTHING
    moment = ms.astimezone(datetime.UTC) if isinstance(ms, datetime.datetime) else clock.utc_datetime(ms)
    return format_html(
        '<time datetime="{}">{} <span class="tz">UTC</span></time>',
        moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
    )


@register.filter
def utc_day(ms) -> str:
    """The UTC calendar day of epoch ms, as text: "2025-11-03"; None → "—"."""
    if _missing(ms):
        return NOTHING
    return clock.utc_datetime(ms).strftime("%Y-%m-%d")


@register.filter
def markdown(text) -> SafeString:
    """Untrusted markdown → sanitized HTML (see executions.rendering)."""
    return render_markdown(text)


@register.filter
def qc_score(value) -> str:
    """A QC score, or "—" when no QC ran (distinct from a score of 0)."""
    return NOTHING if value is None else str(value)


@register.simple_tag
def status_badge(status, stale=False) -> SafeString:
    """A badge per status (running, completed, failed, cancelled, success, failure) plus "stale"."""
    label = status or "unknown"
    html = format_html('<span class="badge badge-{}">{}</span>', label, label)
    if stale:
        html += mark_safe('<span class="badge badge-stale" title="Running, but no news for a long time">stale</span>')
    return html


@register.simple_tag
def cost(value, stat=False) -> SafeString:
    """A pricing.Cost: its amount and what no price covered ("unpriced", never $0), the models named
    in its title; `data-cost` (the exact amount) and `data-unpriced` for tools and tests. A tag, not
    an include: the execution page shows one per task row."""
    if value is None:
        return format_html("{}", NOTHING)
    n = value.unpricedAttempts
    classes = "cost" + (" stat-value" if stat else "") + (" unpriced" if n else "")
    amount = format(value.amount, "f") if value.amount is not None else ""
    if not n:
        return format_html('<span class="{}" data-cost="{}" data-unpriced="0">{}</span>', classes, amount,
                           value.describe())
    named = ", ".join(value.unpricedModels)
    if not named:
        why = "an attempt that names no model"
    elif n > len(value.unpricedModels):
        why = f"{named} (or no model named)"
    else:
        why = named
    return format_html('<span class="{}" data-cost="{}" data-unpriced="{}" title="No price in force for {}">{}</span>',
                       classes, amount, n, why, value.describe())


@register.simple_tag
def no_start_badge() -> SafeString:
    """On an execution only task results (or a finish) have arrived for: a stray post, or a late start."""
    return mark_safe(
        '<span class="badge badge-no-start" title="Only task results or a finish arrived for this id: '
        'a post with a mistyped id, or a start event still on its way">no start event received</span>'
    )


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


@functools.lru_cache(maxsize=1024)
def _task_url_prefix(script_prefix: str, execution_id: str) -> str:
    return reverse("executions:task", args=[execution_id, "x"])[:-1]  # reverse reads the script prefix itself


@register.simple_tag
def task_url(execution_id: str, task_id: str) -> str:
    """The task drill-down page of one task execution: reverse("executions:task", ...), with the
    execution's part reversed once per execution (a reverse per link was a tenth of a 200-task
    page's time, and most of the failure report's examples). The task id, the URL's last segment,
    is quoted as reverse quotes it. Ids that no URL pattern takes (empty, or holding `/`) are
    quoted whole instead."""
    if execution_id and task_id and "/" not in task_id:
        try:
            return _task_url_prefix(get_script_prefix(), execution_id) + quote(task_id, safe=RFC3986_SUBDELIMS + "/~:@")
        except NoReverseMatch:
            pass
    return f"/executions/{quote(execution_id, safe='')}/tasks/{quote(task_id, safe='')}"


@register.simple_tag
def task_examples(examples) -> SafeString | str:
    """A failure report group's example task executions: a closed <details> listing each one's link
    (execution id, task title) with when it finished and, for a retried one, its attempts; nothing
    for none. In Python rather than a template loop, because a report shows up to a thousand of
    them and the loop cost several times the rest of the page."""
    if not examples:
        return ""
    items = []
    for x in examples:
        execution_id, task_id = x["executionId"], x["taskId"]
        attempts = x.get("attempts")
        items.append(
            f'<li><a href="{escape(task_url(execution_id, task_id))}"><span class="mono">{escape(execution_id)}</span>'
            f' · {escape(x.get("taskTitle") or task_id)}</a>\n      <span class="muted small nowrap">'
            f'{utc(x.get("timestamp"))}{f" · {int(attempts)} attempts" if attempts else ""}</span></li>'
        )
    count = len(examples)
    return mark_safe(  # noqa: S308 - every value above is escaped or already safe (utc)
        f'<details class="examples">\n  <summary>{count} example{"" if count == 1 else "s"}</summary>\n  <ul>\n    '
        + "\n    ".join(items)
        + "\n  </ul>\n</details>"
    )


# Which way a change is better, per kind of number: fewer tokens, attempts and failures, less time,
# more QC score and more successes.
HIGHER_IS_BETTER = {"tokens": False, "duration": False, "attempts": False, "failures": False, "qc": True,
                    "successes": True}
_SAME = '<span class="delta delta-same"><span aria-hidden="true">=</span> same</span>'


def _amount(value: int, kind: str) -> str:
    if kind == "tokens":
        return compact(value)
    if kind == "duration":
        return duration(value)
    return str(value)


def delta_html(value: int | None, kind: str) -> str:
    """A change (b minus a) as HTML that reads without colour: an arrow (which way the number
    moved), a sign, the amount, and "better" or "worse" in words; the colour only repeats it. None
    (nothing to compare) → "—", 0 → "= same". Only numbers and fixed words: nothing to escape."""
    if _missing(value):
        return NOTHING
    value = int(value)
    if value == 0:
        return _SAME
    word = "better" if (value > 0) == HIGHER_IS_BETTER[kind] else "worse"
    return (f'<span class="delta delta-{word}"><span aria-hidden="true">{"▲" if value > 0 else "▼"}</span> '
            f'{"+" if value > 0 else "−"}{_amount(abs(value), kind)} <span class="delta-word">{word}</span></span>')


@register.simple_tag
def delta(value, kind: str) -> SafeString:
    """{% delta value "tokens" %}: delta_html in a template."""
    return mark_safe(delta_html(value, kind))  # noqa: S308 - numbers and fixed words only

@register.filter
def task_row(row) -> SafeString:
    """A task's row of the live page's table (executions.live_rows.task_row)."""
    from ..live_rows import task_row as markup  # live_rows formats with this module's filters

    return markup(row)


@register.filter
def timeline_row(row) -> SafeString:
    """A task's bar of the live page's timeline (executions.live_rows.timeline_row)."""
    from ..live_rows import timeline_row as markup

    return markup(row)


@register.filter
def task_rows(rows) -> SafeString:
    """Every row of the live page's table, in one piece (a partial per row cost more than the row)."""
    from ..live_rows import task_row as markup

    return mark_safe("\n".join(markup(r) for r in rows))  # noqa: S308 -- each row is escaped markup


@register.filter
def timeline_rows(rows) -> SafeString:
    """Every bar of the live page's timeline, in one piece."""
    from ..live_rows import timeline_row as markup

    return mark_safe("\n".join(markup(r) for r in rows))  # noqa: S308 -- each bar is escaped markup
