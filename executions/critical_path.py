"""The critical path of an execution from its tasks' actual times: the chain of dependencies that
set its duration, and per task the dependency it waited on last.

Pure functions on plain data (no Django, no Neo4j): the pages pass each reported task's start
(`timestamp - durationMs`) and end (`timestamp`) and the plan's declared dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Wait:
    """A task's slowest dependency (`on`, the one that finished last) and how long the task waited
    on it alone: from when it was otherwise ready (the run's start, or the end of its other
    dependencies, whichever came last) to that dependency's end."""

    on: str
    ms: int


@dataclass(frozen=True)
class CriticalPath:
    chain: list[str] = field(default_factory=list)  # first task to last
    waits: dict[str, Wait] = field(default_factory=dict)  # every task with a dependency that ran


def _ends_first(spans: Mapping[str, Span], task_id: str) -> tuple[int, str]:
    return spans[task_id].end, task_id


def critical_path(*, spans: Mapping[str, Span], dependencies: Mapping[str, Sequence[str]],
                  run_start: int | None = None) -> CriticalPath:
    """The chain ends with the task that ended last (ties: the greatest id, so the answer is
    stable); each step back goes to that task's slowest dependency, until a task with none that
    ran. Dependencies without a span (not reported yet) are ignored."""
    waits: dict[str, Wait] = {}
    first_start = min((s.start for s in spans.values()), default=None)
    origin = run_start if run_start is not None else first_start
    for task_id in spans:
        ran = sorted((d for d in dependencies.get(task_id, ()) if d in spans and d != task_id),
                     key=lambda d: _ends_first(spans, d))
        if not ran:
            continue
        slowest = ran[-1]
        ready = max([spans[d].end for d in ran[:-1]] + ([origin] if origin is not None else []))
        waits[task_id] = Wait(on=slowest, ms=max(0, spans[slowest].end - ready))
    if not spans:
        return CriticalPath()
    last = max(spans, key=lambda t: _ends_first(spans, t))
    chain = [last]
    seen = {last}
    while chain[-1] in waits and waits[chain[-1]].on not in seen:  # `seen`: a declared cycle ends the walk
        chain.append(waits[chain[-1]].on)
        seen.add(chain[-1])
    chain.reverse()
    return CriticalPath(chain=chain, waits=waits)
