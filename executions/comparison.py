"""The compare page's task table as HTML, one row per task, written here rather than by a template.

A Django template of the same rows (seven cells, four deltas, two badges each) took about 330 ms
for 200 tasks on the shared 2-core machine, most of it in template node and escaping overhead; this
writes the same markup in a few milliseconds (docs/benchmarks.md, "Compare two executions"). Every
value that comes from the graph goes through html.escape (quotes too), as depgraph's SVG does.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from .templatetags.mimir import NOTHING, compact, delta_html, duration, qc_score

TITLE_CHARS = 120
# What the summary lists of each section at most (the table below has every task).
SUMMARY_TASKS = 20
# Characters reverse() leaves unquoted in a path argument (django.urls.resolvers, RFC 3986).
_PATH_SAFE = "!$&'()*+,;=/~:@"
_PLACEHOLDER = "task-id-placeholder"


def task_urls(execution_id: str):
    """url(task_id) of the task pages of one execution, as reverse() makes them, reversed once (a
    reverse per task was a fifth of the page's time)."""
    head, tail = reverse("executions:task", args=[execution_id, _PLACEHOLDER]).split(_PLACEHOLDER)
    return lambda task_id: head + quote(task_id, safe=_PATH_SAFE) + tail


def label(task: dict[str, Any]) -> str:
    """A task's title (else its id), cut to TITLE_CHARS: the task's own page has it whole."""
    title = task.get("taskTitle") or task["taskId"]
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def _badge(side: dict[str, Any] | None) -> str:
    if side is None:
        return f'<span class="muted">{NOTHING}</span>'
    status = escape(side.get("status") or "unknown")
    return f'<span class="badge badge-{status}">{status}</span>'


def _pair(task: dict[str, Any], field: str, shown) -> str:
    a, b = task["a"], task["b"]
    left = shown(a.get(field)) if a is not None else NOTHING
    right = shown(b.get(field)) if b is not None else NOTHING
    return f"{escape(left)} → {escape(right)}"


def _count(value: Any) -> str:
    return NOTHING if value is None else str(value)


def task_row(task: dict[str, Any], *, diff_query: str) -> SafeString:
    """The table row of one task (selectors.execution_compare's, with `url`, `key` and `label`
    added by the view). `diff_query`: the page's `?a=...&b=...`, to which the diff link adds the
    task."""
    task_id = task["taskId"]
    presence = task["presence"]
    name = f'<a href="{escape(task["url"])}">{escape(task["label"])}</a>'
    if task.get("taskTitle") and task["taskTitle"] != task_id:
        name += f' <span class="mono small muted">{escape(task_id)}</span>'
    if presence != "both":
        name += f' <span class="badge badge-neutral">only in {presence}</span>'
    status = f"{_badge(task['a'])} → {_badge(task['b'])}"
    if task["newlyFailing"]:
        status += ' <span class="delta delta-worse"><span aria-hidden="true">⚠</span> newly failing</span>'
    elif task["fixed"]:
        status += ' <span class="delta delta-better"><span aria-hidden="true">✓</span> fixed</span>'
    delta = task["delta"]
    if presence != "both":
        output = f'<span class="muted">{NOTHING}</span>'
    elif task["outputChanged"]:
        link = f"{diff_query}&task={quote(task_id, safe='')}"
        # hx-target and hx-swap are inherited from the table's <tbody>.
        output = f'<a class="diff-link" href="{escape(link)}#output-diff" hx-get="{escape(link)}">changed: diff</a>'
    else:
        output = '<span class="muted">same</span>'
    cells = [
        f"<td>{name}</td>",
        f'<td class="nowrap" data-col="status">{status}</td>',
        f'<td class="num nowrap" data-col="attempts">{_pair(task, "attemptCount", _count)}<br>'
        f'{delta_html(delta["attemptCount"], "attempts")}</td>',
        f'<td class="num nowrap" data-col="qc">{_pair(task, "qcScore", qc_score)}<br>'
        f'{delta_html(delta["qcScore"], "qc")}</td>',
        f'<td class="num nowrap" data-col="duration">{_pair(task, "durationMs", duration)}<br>'
        f'{delta_html(delta["durationMs"], "duration")}</td>',
        f'<td class="num nowrap" data-col="tokens">{_pair(task, "tokensTotal", compact)}<br>'
        f'{delta_html(delta["tokensTotal"], "tokens")}</td>',
        f'<td data-col="output">{output}</td>',
    ]
    css = "compare-row task-failure" if task["newlyFailing"] else "compare-row"
    return mark_safe(  # noqa: S308 - every value above is escaped
        f'<tr class="{css}" id="compare-{task["key"]}" data-task-id="{escape(task_id)}" '
        f'data-presence="{presence}">{"".join(cells)}</tr>'
    )


def summary_item(key: str, task: dict[str, Any]) -> dict[str, str]:
    """One task in the summary's section `key`: its link, label and what moved."""
    a, b = task["a"] or {}, task["b"] or {}
    if key in ("qcDown", "qcUp"):
        detail = f"QC {qc_score(a.get('qcScore'))} → {qc_score(b.get('qcScore'))}"
    elif key in ("moreAttempts", "fewerAttempts"):
        detail = f"attempts {a.get('attemptCount')} → {b.get('attemptCount')}"
    elif key in ("tokensUp", "tokensDown"):
        detail = f"tokens {compact(a.get('tokensTotal'))} → {compact(b.get('tokensTotal'))}"
    elif key in ("newlyFailing", "fixed"):
        detail = f"{a.get('status')} → {b.get('status')}"
    else:
        detail = ""
    return {"taskId": task["taskId"], "url": task["url"], "label": task["label"], "detail": detail}
