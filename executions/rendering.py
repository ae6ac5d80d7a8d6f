"""Turning untrusted text (LLM output, prompts, errors) into safe HTML, and attempt diffs.

The one place where HTML produced from user data is marked safe: markdown is rendered by
pulldown-cmark (pyromark), with raw HTML turned into literal text first, then sanitized by nh3 (an
allow-list cleaner), so `<script>`, event-handler attributes and `javascript:` links can never
reach the page.

Bounded work whatever the text: pulldown-cmark parses in linear time (markdown-it-py, before it,
took seconds of CPU on a few kilobytes of `![`), at most `MARKDOWN_MAX_CHARS` of a text are rendered
as markdown (the page links the full text as plain text), a diff compares at most
`DIFF_MAX_LINES` lines of `DIFF_MAX_CHARS` of each side, and every result is kept in Django's cache
keyed by a hash of its input and of the renderer (`RENDERER_ID`), so a process renders a text once.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable
from typing import Any

import nh3
import pyromark
from django.core.cache import cache
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# Markdown is rendered from at most this many characters of a text (cut at a line end); the pages
# offer the whole text as plain text beside it.
MARKDOWN_MAX_CHARS = 64 * 1024
# Rendered HTML larger than this (a table's implicit cells can multiply a small text) is not shown:
# the text is shown as plain text instead.
MARKDOWN_MAX_HTML_CHARS = 8 * MARKDOWN_MAX_CHARS
# difflib's matching is superlinear in the number of lines: a diff compares bounded heads.
DIFF_MAX_CHARS = MARKDOWN_MAX_CHARS
DIFF_MAX_LINES = 1_000
CACHE_SECONDS = 24 * 3600

# Tables and strikethrough as in GFM; no raw HTML (see _raw_html_as_text), images are removed by nh3.
_MARKDOWN = pyromark.Markdown(options=pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH)

# No <img>: an LLM's image links would fetch from anywhere (tracking, mixed content).
_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_URL_SCHEMES = {"http", "https", "mailto"}

# Bump when the pipeline below changes what it produces; library versions and the allow-list are
# part of RENDERER_ID by themselves.
_PIPELINE = 1
RENDERER_ID = hashlib.sha256(repr((
    _PIPELINE, pyromark.__version__, nh3.__version__, sorted(_ALLOWED_TAGS),
    sorted((tag, sorted(names)) for tag, names in _ALLOWED_ATTRIBUTES.items()), sorted(_URL_SCHEMES),
    MARKDOWN_MAX_CHARS, MARKDOWN_MAX_HTML_CHARS, DIFF_MAX_CHARS, DIFF_MAX_LINES,
)).encode()).hexdigest()[:16]

_ASCII_PUNCTUATION = re.compile(rb"[!-/:-@\[-`{-~]")
_RAW_HTML_PASSES = 3
_MISSING = object()


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def _raw_html_as_text(text: str) -> str:
    """The markdown with its raw HTML (CommonMark's HTML blocks and inline HTML) made literal text:
    every ASCII punctuation character inside it is backslash-escaped, so parsing again reads it as
    text, shown as written (markdown-it's `html: False`). Escaping can merge a former HTML block with
    the lines around it into one paragraph, which may turn text that was read as code into HTML; a
    few passes settle that, and anything left is removed by nh3."""
    for _ in range(_RAW_HTML_PASSES):
        if "<" not in text:  # raw HTML starts with "<"
            return text
        spans = [r for event, r in _MARKDOWN.events_with_range(text) if "Html" in event or "InlineHtml" in event]
        if not spans:
            return text
        data, out, pos = text.encode(), bytearray(), 0
        for span in spans:  # UTF-8 byte offsets, in document order, never overlapping
            out += data[pos : span["start"]]
            out += _ASCII_PUNCTUATION.sub(rb"\\\g<0>", data[span["start"] : span["end"]])
            pos = span["end"]
        out += data[pos:]
        text = out.decode()
    return text


def _render(text: str) -> str | None:
    html = sanitize_html(_MARKDOWN.html(_raw_html_as_text(text)))
    return html if len(html) <= MARKDOWN_MAX_HTML_CHARS else None


def _cached(kind: str, texts: tuple[str, ...], compute: Callable[[], Any]) -> Any:
    """compute(), kept in the cache under a hash of `texts` and of the renderer."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode()
        digest.update(len(data).to_bytes(8, "big") + data)
    key = f"rendering:{kind}:{RENDERER_ID}:{digest.hexdigest()}"
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def head(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, cut at a line end when there is one in the second half."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut + 1] if cut >= limit // 2 else text[:limit]


def markdown_excerpt(text: str | None, total_chars: int | None = None) -> dict[str, Any]:
    """The rendered head of a text, for a page.

    `text` may itself be an excerpt of a longer stored text of `total_chars` characters. Returns
    {"html": SafeString, or None when the rendered form would be too large (show `text` as plain text
    then), "renderedChars": characters rendered, "totalChars", "truncated": whether some of the
    text is not rendered}."""
    text = text or ""
    total = max(total_chars or 0, len(text))
    part = head(text, MARKDOWN_MAX_CHARS)
    html = _cached("markdown", (part,), lambda: _render(part)) if part else ""
    return {
        "html": None if html is None else mark_safe(html),  # noqa: S308 - sanitized by nh3 in _render
        "renderedChars": len(part),
        "totalChars": total,
        "truncated": len(part) < total,
    }


def render_markdown(text: str | None) -> SafeString:
    """Markdown → sanitized HTML, safe to insert into a page: of at most MARKDOWN_MAX_CHARS of the
    text (see markdown_excerpt for the parts not shown); escaped plain text when the HTML would be
    too large."""
    excerpt = markdown_excerpt(text)
    if excerpt["html"] is None:
        return format_html('<pre class="pre-wrap">{}</pre>', head(text or "", MARKDOWN_MAX_CHARS))
    return excerpt["html"]


ATTEMPT_LABELS = ("previous attempt", "this attempt")


def _diff_lines(old: list[str], new: list[str], context: int, labels: tuple[str, str]) -> dict[str, Any]:
    lines: list[dict[str, str]] = []
    added = removed = 0
    diff = difflib.unified_diff(old, new, labels[0], labels[1], n=context, lineterm="")
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


def _diff_side(text: str | None, total_chars: int | None) -> tuple[list[str], bool]:
    text = text or ""
    part = head(text, DIFF_MAX_CHARS)
    lines = part.splitlines()
    limited = len(part) < max(total_chars or 0, len(text)) or len(lines) > DIFF_MAX_LINES
    return lines[:DIFF_MAX_LINES], limited


def output_diff(previous: str | None, current: str | None, *, context: int = 3,
                previous_chars: int | None = None, current_chars: int | None = None,
                labels: tuple[str, str] = ATTEMPT_LABELS) -> dict[str, Any]:
    """A unified diff of two outputs, as lines tagged for styling (the template escapes the text);
    `labels` name the two sides in its header lines.

    Each side is compared up to DIFF_MAX_LINES lines of its first DIFF_MAX_CHARS characters (an
    output may be an excerpt of `*_chars` characters). Returns {"lines": [{"kind":
    "add"|"del"|"ctx"|"hunk"|"meta", "text": str}], "added": n, "removed": n, "identical": bool
    (within what was compared), "limited": bool (some of either output was not compared),
    "maxLines", "maxChars"}.
    """
    old, old_limited = _diff_side(previous, previous_chars)
    new, new_limited = _diff_side(current, current_chars)
    key = ("\n".join(old), "\n".join(new), str(context), *labels)
    result = _cached("diff", key, lambda: _diff_lines(old, new, context, labels))
    return {**result, "limited": old_limited or new_limited, "maxLines": DIFF_MAX_LINES, "maxChars": DIFF_MAX_CHARS}


def with_output_diffs(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds `diff` to each attempt (newest first, as selectors.task_detail returns them): the diff of
    its output against attempt `previousAttemptNumber`, or None when there is none to compare with."""
    by_number = {a["attemptNumber"]: a for a in attempts}
    for attempt in attempts:
        previous = by_number.get(attempt.get("previousAttemptNumber"))
        attempt["diff"] = (
            output_diff(previous.get("output"), attempt.get("output"),
                        previous_chars=previous.get("outputChars"), current_chars=attempt.get("outputChars"))
            if previous is not None and attempt.get("hasOutput")
            else None
        )
    return attempts


def runs_output_diff(outputs: dict[str, Any] | None, *, a_id: str, b_id: str) -> dict[str, Any] | None:
    """The diff of one task's output from execution `a_id` to `b_id` (`outputs` as
    selectors.execution_compare reads them), or None when the task did not run in both."""
    if not outputs or outputs.get("a") is None or outputs.get("b") is None:
        return None
    a, b = outputs["a"], outputs["b"]
    diff = output_diff(a.get("output"), b.get("output"), previous_chars=a.get("outputChars"),
                       current_chars=b.get("outputChars"), labels=(a_id, b_id))
    return {**diff, "taskId": outputs["taskId"]}
