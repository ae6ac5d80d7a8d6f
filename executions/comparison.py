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

from django.utils.safestring import SafeString, mark_safe

from .templatetags.mimir import NOTHING, compact, delta_html, duration, qc_score

TITLE_CHARS = 120


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
        output = (f'<a class="diff-link" href="{escape(link)}#output-diff" hx-get="{escape(link)}" '
                  'hx-target="#output-diff" hx-swap="outerHTML show:top">changed: diff</a>')
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
