"""A realistic failure-report dataset, written through the real ingest API (see `build`).

Days are counted from D0 = Monday 2025-11-03 00:00 UTC. In [day 0, day 4):

exec   plan  start        finish     tasks (latest attempt; tokens are input+output per attempt)
e1     etl   d0 10:00     failed     extract ok 150 | load FAIL "Connection to db-17 refused after 3 retries" 30
e2     etl   d1 10:00     failed     extract #1 FAIL QC 100 → #2 ok 100 | load FAIL "...db-42... 5 retries" 30
e3     docs  d1 12:00     failed     write #1 (QC history) + #2 FAIL 'QC rejected output for "intro.md" (score 40)' 300
                                     | review ok 20
e4     docs  d2 09:00     completed  write #1 FAIL 100, #2 (QC history), #3 ok 100 | review ok 20
e5     ops   d2 15:00     running    deploy FAIL "Timeout after 30s waiting for pod api-7f9c" 10
e6     etl   d3 10:00     completed  extract ok 150 | load ok 30

Outside it: e0 (ops, day -1, deploy FAIL) and e7 (etl, day 10, load FAIL "...db-9... 1 retries").
"""

from __future__ import annotations

from datetime import UTC, datetime

D0 = int(datetime(2025, 11, 3, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
DAY = 24 * HOUR


def at(day: int, hour: int = 0, minute: int = 0) -> int:
    return D0 + day * DAY + hour * HOUR + minute * 60_000


def _result(status: str, tokens_in: int, tokens_out: int, *, when: int, attempt: int = 1, **extra) -> dict:
    return {
        "status": status,
        "duration": 60_000,
        "tokens": {"input": tokens_in, "output": tokens_out},
        "toolCalls": 1,
        "attemptNumber": attempt,
        "timestamp": when,
        **extra,
    }


def _qc(passed: bool, score: int, issues: list[str] = (), fixes: list[str] = ()) -> dict:
    return {"passed": passed, "score": score, "feedback": "", "issues": list(issues), "requiredFixes": list(fixes)}


TITLES = {"extract": "Extract sources", "load": "Load warehouse", "write": "Write guide", "review": "Review guide", "deploy": "Deploy API"}


def _task(ingest, eid: str, task_id: str, result: dict) -> None:
    response = ingest.task(eid, task_id, result, task={"id": task_id, "title": TITLES[task_id]})
    assert response.status_code in (200, 201), response.content


def _start(ingest, eid: str, plan: str, tasks: int, start: int) -> None:
    assert ingest.start(eid, plan, tasks, start).status_code == 201


def _finish(ingest, eid: str, end: int) -> None:
    assert ingest.finish(eid, end).status_code == 201


def build(ingest) -> None:
    assert ingest.plan("etl", {"title": "Nightly ETL", "tasks": [{"id": "extract"}, {"id": "load"}]}).status_code == 200
    assert ingest.plan("docs", {"title": "Docs writer", "tasks": [{"id": "write"}, {"id": "review"}]}).status_code == 200

    _start(ingest, "e0", "ops", 1, at(-1, 12))
    _task(ingest, "e0", "deploy", _result("failure", 7, 0, when=at(-1, 12, 5), error="Timeout after 60s waiting for pod api-1a2b"))
    _finish(ingest, "e0", at(-1, 13))

    _start(ingest, "e1", "etl", 2, at(0, 10))
    _task(ingest, "e1", "extract", _result("success", 100, 50, when=at(0, 10, 5)))
    _task(ingest, "e1", "load", _result("failure", 20, 10, when=at(0, 10, 10), error="Connection to db-17 refused after 3 retries"))
    _finish(ingest, "e1", at(0, 11))

    _start(ingest, "e2", "etl", 2, at(1, 10))
    _task(ingest, "e2", "extract", _result("failure", 60, 40, when=at(1, 10, 5), error="Bad CSV",
                                           qcVerification=_qc(False, 30, ["Missing header row"], ["Add header row"])))
    _task(ingest, "e2", "extract", _result("success", 70, 30, when=at(1, 10, 8), attempt=2, qcVerification=_qc(True, 90)))
    _task(ingest, "e2", "load", _result("failure", 20, 10, when=at(1, 10, 10), error="Connection to db-42 refused after 5 retries"))
    _finish(ingest, "e2", at(1, 11))

    _start(ingest, "e3", "docs", 2, at(1, 12))
    history = [_qc(False, 20, ["No examples", "Too short"], ["Add examples"]),
               _qc(False, 40, ["No examples"], ["Add examples", "Cite sources"])]
    _task(ingest, "e3", "write", _result("failure", 200, 100, when=at(1, 12, 30), attempt=2,
                                         error='QC rejected output for "intro.md" (score 40)',
                                         qcVerification=history[1], qcVerificationHistory=history))
    _task(ingest, "e3", "review", _result("success", 10, 10, when=at(1, 12, 40)))
    _finish(ingest, "e3", at(1, 13))

    _start(ingest, "e4", "docs", 2, at(2, 9))
    _task(ingest, "e4", "write", _result("failure", 80, 20, when=at(2, 9, 10), error='QC rejected output for "guide.md" (score 35)',
                                         qcVerification=_qc(False, 35, ["No examples"], ["Add examples"])))
    history = [_qc(False, 35, ["No examples"], ["Add examples"]), _qc(False, 55, ["Too short"], ["Expand intro"]), _qc(True, 85)]
    _task(ingest, "e4", "write", _result("success", 50, 50, when=at(2, 9, 30), attempt=3,
                                         qcVerification=history[2], qcVerificationHistory=history))
    _task(ingest, "e4", "review", _result("success", 10, 10, when=at(2, 9, 40)))
    _finish(ingest, "e4", at(2, 10))

    _start(ingest, "e5", "ops", 1, at(2, 15))
    _task(ingest, "e5", "deploy", _result("failure", 5, 5, when=at(2, 15, 5), error="Timeout after 30s waiting for pod api-7f9c"))

    _start(ingest, "e6", "etl", 2, at(3, 10))
    _task(ingest, "e6", "extract", _result("success", 100, 50, when=at(3, 10, 5)))
    _task(ingest, "e6", "load", _result("success", 20, 10, when=at(3, 10, 10)))
    _finish(ingest, "e6", at(3, 11))

    _start(ingest, "e7", "etl", 1, at(10, 10))
    _task(ingest, "e7", "load", _result("failure", 20, 10, when=at(10, 10, 10), error="Connection to db-9 refused after 1 retries"))
    _finish(ingest, "e7", at(10, 11))
