"""Turning untrusted text (LLM output, prompts, errors) into safe HTML, and attempt diffs.

The one place where HTML produced from user data is marked safe: markdown is rendered with raw
HTML disabled, then sanitized by nh3 (an allow-list cleaner), so `<script>`, event-handler
attributes and `javascript:` links can never reach the page.
"""

from __future__ import annotations

import difflib
from typing import Any

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# Raw HTML in the source is shown as text, not interpreted; tables and strikethrough as in GFM.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

# No <img>: an LLM's image links would fetch from anywhere (tracking, mixed content).
_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def render_markdown(text: str | None) -> SafeString:
    """Markdown → sanitized HTML, safe to insert into a page."""
    if not text:
        return mark_safe("")
    return mark_safe(sanitize_html(_MARKDOWN.render(text)))  # noqa: S308 - sanitized by nh3 just above


def output_diff(previous: str | None, current: str | None, *, context: int = 3) -> dict[str, Any]:
    """A unified diff of two outputs, as lines tagged for styling (the template escapes the text).

    Returns {"lines": [{"kind": "add"|"del"|"ctx"|"hunk"|"meta", "text": str}], "added": n, "removed": n,
    "identical": bool}.
    """
    old = (previous or "").splitlines()
    new = (current or "").splitlines()
    lines: list[dict[str, str]] = []
    added = removed = 0
    diff = difflib.unified_diff(old, new, "previous attempt", "this attempt", n=context, lineterm="")
    for index, line in enumerate(diff):
        if index < 2:  # the ---/+++ file header
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind, added = "add", added + 1
        elif line.startswith("-"):
            kind, removed = "del", removed + 1
        else:
            kind = "ctx"
        lines.append({"kind": kind, "text": line})
    return {"lines": lines, "added": added, "removed": removed, "identical": not lines}


def with_output_diffs(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds `diff` to each attempt (newest first, as selectors.task_detail returns them): the diff of
    its output against attempt `previousAttemptNumber`, or None when there is none to compare with."""
    by_number = {a["attemptNumber"]: a for a in attempts}
    for attempt in attempts:
        previous = by_number.get(attempt.get("previousAttemptNumber"))
        attempt["diff"] = (
            output_diff(previous.get("output"), attempt.get("output"))
            if previous is not None and attempt.get("hasOutput")
            else None
        )
    return attempts
