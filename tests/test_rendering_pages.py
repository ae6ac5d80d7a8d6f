"""Untrusted text to HTML (markdown + nh3), attempt diffs and the human formatting filters."""

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from executions import clock
from executions.rendering import output_diff, render_markdown
from executions.templatetags import mimir


@pytest.mark.parametrize("hostile", [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    "[click](javascript:window.__xss=1)",
    '<a href="javascript:alert(1)">x</a>',
    "[x](JaVaScRiPt:alert(1))",
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "![pixel](https://tracker.example/p.png)",
])
def test_it_never_lets_markup_from_llm_output_become_active(hostile):
    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Tags()
    parser.feed(str(render_markdown(hostile)))
    assert parser.tags, "rendered to something"
    for tag, attrs in parser.tags:
        assert tag in {"p", "a"}, tag
        assert not [name for name in attrs if name.startswith("on")]
        assert not (attrs.get("href") or "").strip().lower().startswith("javascript")
        assert "src" not in attrs


def test_it_renders_ordinary_markdown_and_keeps_safe_links():
    html = str(render_markdown("# Title\n\n**bold** and `code`\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                               "[docs](https://example.com/x)"))
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<li>one</li>" in html and "<td>1</td>" in html
    assert '<a href="https://example.com/x" rel="noopener noreferrer nofollow">docs</a>' in html
    assert render_markdown(None) == "" and render_markdown("") == ""


def test_it_applies_the_markdown_filter_only_to_sanitized_html_and_escapes_everything_else():
    out = Template("{% load mimir %}{{ text|markdown }}|{{ text }}").render(Context({"text": "<b>x</b> **y**"}))
    rendered, escaped = out.split("|")
    assert "<strong>y</strong>" in rendered and "<b>" not in rendered
    assert escaped == "&lt;b&gt;x&lt;/b&gt; **y**"


def test_it_diffs_outputs_line_by_line():
    diff = output_diff("a\nb\nc", "a\nB\nc\nd")
    kinds = [(line["kind"], line["text"]) for line in diff["lines"]]
    assert kinds[:3] == [("meta", "--- previous attempt"), ("meta", "+++ this attempt"), ("hunk", "@@ -1,3 +1,4 @@")]
    assert [k for k in kinds if k[0] in ("add", "del")] == [("del", "-b"), ("add", "+B"), ("add", "+d")]
    assert (diff["added"], diff["removed"], diff["identical"]) == (2, 1, False)
    # A removed line that itself starts with "--" is still a removal, not a header.
    assert [line["kind"] for line in output_diff("-- x\ny", "y")["lines"]][3] == "del"
    assert output_diff(None, None)["identical"] is True


@pytest.mark.parametrize("value, text", [(None, "—"), (0, "0"), (999, "999"), (1000, "1k"), (1234, "1.2k"),
                                         (12_345, "12.3k"), (3_400_000, "3.4M"), (2_000_000_000, "2B")])
def test_it_formats_token_counts_for_humans(value, text):
    assert mimir.compact(value) == text


@pytest.mark.parametrize("ms, text", [(None, "—"), (850, "850 ms"), (42_000, "42s"), (185_000, "3m 05s"),
                                      (7_620_000, "2h 07m"), (90_000_000, "1d 01h"), (-5, "0 ms")])
def test_it_formats_durations_for_humans(ms, text):
    assert mimir.duration(ms) == text


def test_it_shows_epoch_milliseconds_as_labelled_utc_times():
    assert clock.utc_datetime(1_763_000_000_000) == datetime(2025, 11, 13, 2, 13, 20, tzinfo=UTC)
    assert str(mimir.utc(1_763_000_000_000)) == (
        '<time datetime="2025-11-13T02:13:20Z">2025-11-13 02:13:20 <span class="tz">UTC</span></time>')
    assert mimir.utc(None) == "—"
    assert (mimir.utc_day(1_763_000_000_000), mimir.utc_day(None)) == ("2025-11-13", "—")


def test_it_tells_no_qc_from_a_zero_score_and_formats_rates():
    assert (mimir.qc_score(None), mimir.qc_score(0), mimir.qc_score(87)) == ("—", "0", "87")
    # One format on every page: a decimal only where it says something.
    assert (mimir.percent(None), mimir.percent(0.8333), mimir.percent(0.5), mimir.percent(1)) == (
        "—", "83.3%", "50%", "100%")


def test_it_escapes_status_values_in_badges():
    assert str(mimir.status_badge("<x>")) == '<span class="badge badge-&lt;x&gt;">&lt;x&gt;</span>'
    assert "badge-stale" in str(mimir.status_badge("running", True))


def test_it_lists_a_report_groups_examples_escaped_and_linked_like_the_task_page():
    from django.urls import reverse

    examples = [
        {"executionId": "exec-7", "taskId": "t.1", "taskTitle": '<img src=x onerror="alert(1)">', "timestamp": 0,
         "attempts": 3},
        {"executionId": "e 1ü", "taskId": "a#b?", "taskTitle": None, "timestamp": None},
        {"executionId": "e/1", "taskId": "t", "taskTitle": "T", "timestamp": None},
    ]
    html = str(mimir.task_examples(examples))

    class Parts(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

        def handle_data(self, data):
            self.text.append(data)

    parts = Parts()
    parts.feed(html)
    assert [tag for tag, _ in parts.tags if tag not in {"span", "time"}] == ["details", "summary", "ul"] + ["li", "a"] * 3
    links = [attrs["href"] for tag, attrs in parts.tags if tag == "a"]
    # Each link is what reverse() builds; one that no URL pattern takes is quoted whole.
    assert links == [reverse("executions:task", args=["exec-7", "t.1"]), reverse("executions:task", args=["e 1ü", "a#b?"]),
                     "/executions/e%2F1/tasks/t"]
    text = "".join(parts.text)
    assert "3 examples" in text and '<img src=x onerror="alert(1)">' in text  # shown as text, not markup
    assert "1970-01-01 00:00:00" in text and "· 3 attempts" in text and text.count("attempts") == 1
    assert "· a#b?" in text  # no title: the task id
    assert mimir.task_examples([]) == "" and mimir.task_examples(None) == ""
    assert "1 example<" in str(mimir.task_examples(examples[:1]))
