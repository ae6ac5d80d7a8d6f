"""The live page's task rows and timeline bars as markup, written here rather than by a template
loop: at 200 tasks the two loops were most of the page's render time (docs/benchmarks.md,
"Execution page with the dependency graph"). The page and its poll's out-of-band swaps both take
them from here (templates/executions/detail.html), so a row has one markup. Every text goes through
`escape` (attributes are quoted); a row's markup depends only on its fields, so it is kept per
process for rows that come again unchanged, as most do from one view to the next.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape  # quotes " and ' too, as Django's own does
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from .templatetags.mimir import compact, duration, qc_score, status_badge
from .templatetags.mimir import cost as cost_html

ROW_FIELDS = ("taskId", "status", "key", "url", "label", "taskTitle", "error", "errorChars", "attemptCount",
              "qcPassed", "qcScore", "durationMs", "tokensTotal", "cost")
# Rows kept per process: a few pages' worth of 1,000-task executions.
ROW_CACHE_SIZE = 4_096


def task_row(t: dict[str, Any]) -> SafeString:
    """A task's `<tr>` of the live page's table (t: a task row with `url`, `key` and `label`)."""
    return _task_row(tuple(t.get(f) for f in ROW_FIELDS))


@lru_cache(maxsize=ROW_CACHE_SIZE)
def _task_row(values: tuple) -> SafeString:
    (task_id, status, key, url, label, title, error, error_chars, attempts, qc_passed, qc, duration_ms,
     tokens, cost) = values
    badge = status_badge(status)
    parts = [
        f'<tr class="task-row task-{escape(str(status))}" id="task-{escape(task_id)}" data-row="{key}">',
        f'<td class="hide-sm">{badge}</td>',
        f'<td><span class="show-sm">{badge}</span> <a href="{escape(url)}">{escape(label)}</a>',
    ]
    if title and title != task_id:
        parts.append(f' <span class="mono small muted">{escape(task_id)}</span>')
    if status == "failure" and error:
        parts.append(f'<details class="inline-error" id="error-{escape(task_id)}"><summary>Error</summary>'
                     f'<pre class="pre-wrap">{escape(error)}</pre>')
        if (error_chars or 0) > len(error):
            parts.append(f'<p class="text-cut small muted">The first {len(error)} of {error_chars} characters: '
                         f"<a href=\"{escape(url)}\">the whole error on the task's page</a></p>")
        parts.append("</details>")
    parts.append("</td>")
    parts.append(f'<td class="num hide-sm">{attempts or 1}</td>')
    if qc_passed is None:
        parts.append('<td class="num"><span class="muted" title="No QC ran">—</span></td>')
    else:
        verdict = "passed" if qc_passed else "failed"
        parts.append(f'<td class="num"><span class="{"ok" if qc_passed else "bad"}" title="QC {verdict}">'
                     f"{qc_score(qc)}</span></td>")
    parts.append(f'<td class="num nowrap">{duration(duration_ms)}</td>')
    parts.append(f'<td class="num hide-sm" title="{"" if tokens is None else tokens}">{compact(tokens)}</td>')
    parts.append(f'<td class="num hide-sm nowrap">{cost_html(cost)}</td></tr>')  # a pricing.Cost, escaped there
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped; numbers and keys are ours


def timeline_row(r: dict[str, Any]) -> SafeString:
    """A task's bar of the live page's timeline (charts.execution_timeline's row, with `url`, `key`,
    `label` and `critical`). Not kept: its place is a share of the run, which grows while it runs."""
    label = escape(r["label"])
    took = duration(r["durationMs"])
    failed = r["status"] == "failure"
    group = r["parallelGroup"]
    chip = (f' <span class="chip pg pg-{int(r["colorIndex"])}">group {escape(str(group))}</span>'
            if group is not None else "")
    return mark_safe(  # noqa: S308 -- label and group escaped, the rest numbers and our keys
        f'<div class="tl-row" role="listitem" data-bar="{r["key"]}">'
        f'<div class="tl-label"><a href="{escape(r["url"])}">{label}</a>{chip}</div>'
        f'<svg class="tl-track" width="100%" height="18" aria-label="{label}: {took}">'
        f'<rect class="tl-bar pg-{int(r["colorIndex"])}{" tl-failed" if failed else ""}'
        f'{" tl-critical" if r.get("critical") else ""}" x="{r["left"]}%" y="2" width="{r["width"]}%" height="14"'
        f' rx="3" data-start-ms="{int(r["startMs"])}" data-end-ms="{int(r["endMs"])}">'
        f'<title>{label} — {took}{" (failed)" if failed else ""}</title></rect></svg>'
        f'<div class="tl-dur small muted num">{took}</div></div>')
