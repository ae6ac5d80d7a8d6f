"""Pages whose cost follows what they show, not what was stored (issue #12, "Pages that cost
seconds"): the task page renders bounded heads of long texts, once per process, links the whole
texts as plain text, and bounds its diffs. Real HTTP through Django, real Neo4j."""

import re

import pytest
from django.core.cache import cache

from executions import rendering
from executions.selectors.executions import TEXT_EXCERPT_CHARS
from tests.support.pages import T0, result

PATHOLOGICAL = "![" * 250_000  # 500 KB: markdown-it-py took 13 s of CPU per view on it


@pytest.fixture(autouse=True)
def empty_cache():
    """The render cache is per process: every test starts without one."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def renders(monkeypatch):
    """Counts real markdown renders (each still runs)."""
    calls = []
    real = rendering._render

    def counting(text):
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(rendering, "_render", counting)
    return calls


def _text(response) -> str:
    return response.content.decode()


def _main(response) -> str:
    """The page's content (the rest holds a fresh CSRF token each time)."""
    return re.search(r"<main.*</main>", _text(response), flags=re.S).group(0)


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+\.txt)"', html)


# ---------------------------------------------------------------- bounded heads


def test_it_renders_a_pathological_output_from_a_bounded_head_and_links_the_whole_text(signed_in, ingest):
    ingest.start("e", "p", 1, T0)
    assert ingest.task("e", "a", result(output=PATHOLOGICAL)).status_code == 201
    response = signed_in.get("/executions/e/tasks/a")
    html = _text(response)
    assert response.status_code == 200
    # The output is 500 KB; the page holds a bounded head of it (rendered, and raw), not the whole.
    assert len(response.content) < 3 * rendering.MARKDOWN_MAX_CHARS + 60_000, len(response.content)
    assert f"Rendered: the first {rendering.MARKDOWN_MAX_CHARS} of {len(PATHOLOGICAL)} characters" in html
    assert f"The first {TEXT_EXCERPT_CHARS} of {len(PATHOLOGICAL)} characters" in html
    links = set(_links(html))
    assert links == {"/executions/e/tasks/a/attempts/1/output.txt"}
    whole = signed_in.get(links.pop())
    assert whole.status_code == 200 and whole.content.decode() == PATHOLOGICAL


def test_it_keeps_the_task_page_the_same_size_whatever_the_size_of_its_texts(signed_in, ingest):
    ingest.start("e", "p", 2, T0)
    sizes = {}
    for task, chars in (("small", 200_000), ("large", 4_000_000)):
        line = "A line of a long **report**, with `code` and a [link](https://example.com).\n"
        text = (line * (chars // len(line) + 1))[:chars]
        body = result("failure", output=text, prompt=text, error=text)
        assert ingest.task("e", task, body).status_code == 201
        response = signed_in.get(f"/executions/e/tasks/{task}")
        assert response.status_code == 200
        sizes[task] = len(response.content)
        assert set(_links(_text(response))) == {
            f"/executions/e/tasks/{task}/attempts/1/{field}.txt" for field in ("output", "prompt", "error")}
    # 20x the text, the same page (before: the page held the output twice, the prompt and the error).
    assert sizes["large"] < sizes["small"] + 1_000, sizes
    assert sizes["large"] < 600_000, sizes


def test_it_shows_a_short_output_whole_with_no_link(signed_in, ingest):
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result(output="# Done\n\nAll **good**.", prompt="Do it"))
    html = _text(signed_in.get("/executions/e/tasks/a"))
    assert "<h1>Done</h1>" in html and "<strong>good</strong>" in html
    assert _links(html) == [] and "Rendered: the first" not in html


def test_it_shows_an_output_whose_rendered_form_would_be_too_large_as_plain_text(signed_in, ingest):
    # A table's implicit cells: 7 KB of markdown, megabytes of HTML.
    n = 1000
    table = "x|" * n + "\n" + "-|" * n + "\n" + "x|\n" * n
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result(output=table))
    response = signed_in.get("/executions/e/tasks/a")
    html = _text(response)
    assert "Shown as plain text" in html and "<table>" not in html
    assert len(response.content) < 100_000


# ---------------------------------------------------------------- rendered once


def test_it_renders_each_output_once_per_process_however_often_the_page_is_viewed(signed_in, ingest, renders):
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result("failure", attemptNumber=1, output="# First\n\ntry"))
    ingest.task("e", "a", result("failure", attemptNumber=2, output="# Second\n\ntry"))
    ingest.task("e", "a", result(attemptNumber=3, output="# Third\n\ntry"))
    first = _main(signed_in.get("/executions/e/tasks/a"))
    assert "<h1>First</h1>" in first and "<h1>Second</h1>" in first and "<h1>Third</h1>" in first
    assert len(renders) == 3  # one per attempt
    for _ in range(3):
        assert _main(signed_in.get("/executions/e/tasks/a")) == first
    assert len(renders) == 3  # from the cache since


def test_it_keys_the_render_cache_by_the_text_and_the_renderer():
    html = rendering.render_markdown("**a**")
    assert "<strong>a</strong>" in html
    keys = [k for k in cache._cache if rendering.RENDERER_ID in k]  # LocMemCache, the default
    assert len(keys) == 1
    rendering.render_markdown("**b**")
    assert len([k for k in cache._cache if rendering.RENDERER_ID in k]) == 2


def test_it_renders_at_most_the_cap_of_a_text_as_markdown():
    text = "".join(f"- item {i}\n" for i in range(20_000))  # ~230 KB
    excerpt = rendering.markdown_excerpt(text)
    assert excerpt["truncated"] and excerpt["totalChars"] == len(text)
    assert excerpt["renderedChars"] <= rendering.MARKDOWN_MAX_CHARS
    assert text[: excerpt["renderedChars"]].endswith("\n")  # cut at a line end
    assert str(excerpt["html"]).count("<li>") == text[: excerpt["renderedChars"]].count("\n")
    assert "item 19999" not in str(rendering.render_markdown(text))


# ---------------------------------------------------------------- the whole text


def test_it_serves_an_attempts_whole_texts_as_plain_text_that_is_never_sniffed(signed_in, ingest):
    hostile = "<script>window.__xss=1</script>\n<html><body onload=alert(1)>"
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a;b", result("failure", attemptNumber=1, output=hostile, prompt="the prompt", error="the error"))
    for field, text in (("output", hostile), ("prompt", "the prompt"), ("error", "the error")):
        response = signed_in.get(f"/executions/e/tasks/a;b/attempts/1/{field}.txt")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == f'inline; filename="a;b-attempt-1-{field}.txt"'
        assert response.content.decode() == text


@pytest.mark.parametrize("path", ["/executions/e/tasks/a/attempts/2/output.txt",  # no such attempt
                                  "/executions/e/tasks/a/attempts/1/qcFeedback.txt",  # not a text we serve
                                  "/executions/e/tasks/nope/attempts/1/output.txt",
                                  "/executions/nope/tasks/a/attempts/1/output.txt",
                                  "/executions/e/tasks/a/attempts/1/prompt.txt"])  # none was sent
def test_it_answers_404_for_a_text_that_is_not_there(signed_in, ingest, path):
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result(output="x"))
    assert signed_in.get(path).status_code == 404


def test_it_asks_for_sign_in_before_serving_a_text(client, ingest):
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result(output="secret"))
    response = client.get("/executions/e/tasks/a/attempts/1/output.txt")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


# ---------------------------------------------------------------- bounded diffs


def test_it_bounds_the_diff_of_two_long_outputs_and_says_so(signed_in, ingest):
    old = "".join(f"line {i}\n" for i in range(5_000))
    new = "".join(f"line {i}{' changed' if i % 2 else ''}\n" for i in range(5_000))
    ingest.start("e", "p", 1, T0)
    ingest.task("e", "a", result("failure", attemptNumber=1, output=old))
    ingest.task("e", "a", result(attemptNumber=2, output=new))
    html = _text(signed_in.get("/executions/e/tasks/a"))
    assert f"Compared: the first {rendering.DIFF_MAX_LINES} lines" in html
    diff = re.search(r'<pre class="diff">(.*?)</pre>', html, flags=re.S).group(1)
    assert diff.count('class="d d-add"') == rendering.DIFF_MAX_LINES // 2  # every other line compared
    assert "line 999 changed" in diff and "line 1001 changed" not in diff


def test_it_says_nothing_about_limits_for_a_diff_it_compared_whole():
    diff = rendering.output_diff("a\nb", "a\nc")
    assert diff["limited"] is False and (diff["added"], diff["removed"]) == (1, 1)
    limited = rendering.output_diff("a", "a", previous_chars=10**6)  # an excerpt of a longer output
    assert limited["limited"] is True and limited["identical"] is True
