"""Two executions side by side, task by task: the compare page and its read API twin.

Neo4j lines the two runs' task executions up by task id and computes each task's deltas (b minus
a), what changed and the summary's counts (`pages/execution_compare`); no output leaves it but the
two of the one task whose diff is asked for. Python only derives the executions' elapsed times
and sorts the summary's lists.
"""

from __future__ import annotations

from typing import Any

from .. import clock, graph
from .executions import TEXT_EXCERPT_CHARS, with_derived

# A task's tokens count as up (down) when they moved by at least this share of run a's: LLM token
# counts move a little on every run, and a list of every task that used 3 more tokens says nothing.
TOKENS_CHANGE_SHARE = 0.10

# What a task can have done between the two runs, as the summary lists it: (key, better or worse).
CHANGES = (
    ("newlyFailing", "worse"),
    ("fixed", "better"),
    ("qcDown", "worse"),
    ("qcUp", "better"),
    ("moreAttempts", "worse"),
    ("fewerAttempts", "better"),
    ("tokensUp", "worse"),
    ("tokensDown", "better"),
)
# Each list's order: the largest move first (by this delta), then by task id.
_ORDER_BY = {"qcDown": "qcScore", "qcUp": "qcScore", "moreAttempts": "attemptCount", "fewerAttempts": "attemptCount",
             "tokensUp": "tokensTotal", "tokensDown": "tokensTotal"}
# The executions' own numbers the page and the API set side by side.
EXECUTION_DELTAS = ("elapsedMs", "tokensTotal", "tasksSuccessful", "tasksFailed", "toolCalls")


def _minus(b: Any, a: Any) -> int | None:
    return None if a is None or b is None else b - a


def _ordered(key: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    field = _ORDER_BY.get(key)
    if field is None:
        return tasks  # already by task id
    return sorted(tasks, key=lambda t: (-abs(t["delta"][field] or 0), t["taskId"]))


def execution_compare(
    *, a_id: str, b_id: str, task_id: str | None = None, text_chars: int = TEXT_EXCERPT_CHARS
) -> dict[str, Any]:
    """Execution `a_id` against `b_id`. Returns {"a", "b": each execution (its counters, stale,
    elapsedMs, tasksPending), or None when there is no such execution; "deltas": b minus a of
    EXECUTION_DELTAS (None unless both exist); "tasks": every task id either ran, by task id, each
    {taskId, taskTitle, parallelGroup, presence ("both", "a", "b"), a, b (its status, attempts,
    QC, duration, tokens, outputChars; None where it did not run), delta (b minus a of attemptCount,
    qcScore, durationMs, tokensTotal: None where either is missing), and a flag per CHANGES key plus
    outputChanged}; "counts" (per CHANGES key, outputChanged, inBoth, onlyInA, onlyInB); "changes":
    {key: the tasks with that flag, the largest move first}; "only_a", "only_b"; "outputs": with
    `task_id`, that task's output in each run, at most `text_chars` of each with its size (a side
    None where it did not run; rendering.runs_output_diff diffs them), else None}. One Cypher
    statement."""
    ((a, b, tasks, counts, outputs),) = graph.read("pages/execution_compare", {
        "a": a_id, "b": b_id, "task": task_id, "chars": text_chars, "tokensShare": TOKENS_CHANGE_SHARE})
    now = clock.now_ms()
    a = with_derived(a, now) if a is not None else None
    b = with_derived(b, now) if b is not None else None
    return {
        "a": a,
        "b": b,
        "deltas": {k: _minus(b.get(k), a.get(k)) for k in EXECUTION_DELTAS} if a and b else None,
        "tasks": tasks,
        "counts": counts,
        "changes": {key: _ordered(key, [t for t in tasks if t[key]]) for key, _ in CHANGES},
        "only_a": [t for t in tasks if t["presence"] == "a"],
        "only_b": [t for t in tasks if t["presence"] == "b"],
        "outputs": outputs,
    }


def compare_outputs(*, a_id: str, b_id: str, task_id: str, text_chars: int = TEXT_EXCERPT_CHARS) -> dict[str, Any]:
    """One task's output in both runs, on its own (the compare page's diff, loaded when asked for):
    {"a_found", "b_found": whether each execution exists, "outputs": as execution_compare has them}.
    One Cypher statement."""
    ((a_found, b_found, outputs),) = graph.read("pages/compare_outputs", {
        "a": a_id, "b": b_id, "task": task_id, "chars": text_chars})
    return {"a_found": a_found, "b_found": b_found, "outputs": outputs}
