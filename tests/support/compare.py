"""Two runs of one plan that differ in every way the compare page reports, posted through the real
ingest API (`tests.support.api.Ingest` or the browser tests' `Page`: the same calls).

From run-1 (a) to run-2 (b):
- build: the same (status, QC, tokens, output);
- unit: newly failing (success → failure), QC 88 → 40, output changed, 20 s slower;
- e2e: fixed (failure → success), QC 30 → 85;
- lint: 1 → 2 attempts (the first failed QC), 1,250 → 1,300 tokens (under the 10 % that counts);
- perf: 1,250 → 5,000 tokens;
- docs: only in a; ship: only in b.
"""

from __future__ import annotations

from typing import Any

from tests.support.pages import T0, result

DAY = 86_400_000
MIN = 60_000
PLAN = {
    "title": "Release",
    "tasks": [{"id": t, "title": f"The {t} step"} for t in ("build", "unit", "e2e", "lint", "perf", "docs", "ship")],
}


def _qc(passed: bool, score: int) -> dict[str, Any]:
    return {"passed": passed, "score": score, "feedback": "ok" if passed else "not good", "issues": [],
            "requiredFixes": []}


def _ok(response) -> None:
    assert response.status_code in (200, 201), response.content


def _run(api, eid: str, start: int, tasks: list[tuple[str, dict]], *, plan_id: str = "release") -> None:
    _ok(api.start(eid, plan_id, len({t for t, _ in tasks}), start))
    for i, (task_id, body) in enumerate(tasks):
        body.setdefault("timestamp", start + (i + 1) * MIN)
        _ok(api.task(eid, task_id, body, {"id": task_id, "title": f"The {task_id} step"}))
    _ok(api.finish(eid, start + (len(tasks) + 2) * MIN))


def build(api, *, a: str = "run-1", b: str = "run-2", start: int = T0) -> None:
    """The plan and its two runs, a at `start` and b a day later."""
    _ok(api.plan("release", PLAN))
    _run(api, a, start, [
        ("build", result(output="built v1", qcVerification=_qc(True, 90))),
        ("unit", result(output="120 passed", qcVerification=_qc(True, 88))),
        ("e2e", result("failure", output="2 failed", error="timeout", qcVerification=_qc(False, 30))),
        ("lint", result(output="clean")),
        ("perf", result(output="p95 80 ms")),
        ("docs", result(output="docs written")),
    ])
    _run(api, b, start + DAY, [
        ("build", result(output="built v1", qcVerification=_qc(True, 90))),
        ("unit", result("failure", duration=80_000, output="117 passed\n3 failed <script>alert(1)</script>",
                        error="3 failed", qcVerification=_qc(False, 40))),
        ("e2e", result(output="all passed", qcVerification=_qc(True, 85))),
        ("lint", result("failure", output="2 warnings", tokens={"input": 600, "output": 50},
                        qcVerification=_qc(False, 50))),
        ("lint", result(attemptNumber=2, output="clean", tokens={"input": 1000, "output": 300})),
        ("perf", result(output="p95 85 ms", tokens={"input": 4000, "output": 1000})),
        ("ship", result(output="shipped")),
    ])
