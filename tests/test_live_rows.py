"""The live page's row and bar markup (executions/live_rows.py): escaped, and never a stale copy."""

from executions import live_rows


def _row(**extra):
    row = {"taskId": "t<1>", "status": "success", "key": "kabc", "url": "/executions/e/tasks/t%3C1%3E",
           "label": "Build <b>it</b>", "taskTitle": "Build <b>it</b>", "error": None, "errorChars": None,
           "attemptCount": 1, "qcPassed": True, "qcScore": 90, "durationMs": 61_000, "tokensTotal": 1_250}
    row.update(extra)
    return row


def test_it_escapes_every_text_of_a_row():
    html = live_rows.task_row(_row(status="failure", error='<script>alert("x")</script>', errorChars=40))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and 'id="task-t&lt;1&gt;"' in html and "Build &lt;b&gt;it&lt;/b&gt;" in html


def test_it_writes_the_rows_numbers_and_says_when_an_error_was_cut():
    html = live_rows.task_row(_row(status="failure", error="boom", errorChars=5_000, qcPassed=False, qcScore=20))
    assert "1m 01s" in html and "1.2k" in html and 'title="QC failed">20<' in html
    assert "The first 4 of 5000 characters" in html


def test_it_never_answers_a_kept_row_for_changed_fields():
    first = live_rows.task_row(_row())
    assert live_rows.task_row(_row()) is first  # unchanged: the kept markup
    changed = live_rows.task_row(_row(status="failure", attemptCount=2))
    assert 'class="task-row task-failure"' in changed and '<td class="num hide-sm">2</td>' in changed


def test_it_places_a_bar_by_its_share_of_the_run_and_marks_it_critical():
    bar = {"taskId": "t1", "key": "kabc", "url": "/x", "label": "A <b>", "status": "failure", "parallelGroup": 3,
           "colorIndex": 3, "startMs": 1_000, "endMs": 61_000, "durationMs": 60_000, "left": 12.5, "width": 40.25,
           "critical": True}
    html = live_rows.timeline_row(bar)
    assert 'x="12.5%"' in html and 'width="40.25%"' in html and "tl-failed tl-critical" in html
    assert "A &lt;b&gt;" in html and "group 3" in html and 'data-end-ms="61000"' in html
