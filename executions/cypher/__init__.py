"""The Cypher statements, one `.cypher` file each, loaded once.

Statements are assembled in exactly one way, at load time and from the files alone:
- `//@include folder/_fragment` on a line of its own is replaced by that fragment file (fragments
  start with `_`, and their first comment says which variables they need and which they bind);
- `@project(var, fields)` becomes the map projection `var {.a, .b, ...}` of a field list derived
  from the neomodel classes and response schemas (`FIELD_LISTS`), so no list of properties is kept
  by hand in a statement.
Every value a user sends travels as a parameter; nothing user-supplied ever reaches this text.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent

_INCLUDE = re.compile(r"^[ \t]*//@include[ \t]+([\w/]+)[ \t]*$", re.MULTILINE)
_PROJECT = re.compile(r"@project\((\w+),\s*(\w+)\)")
# Whole-line comments are for readers of the files; Neo4j is sent the statement without them.
_COMMENT_LINE = re.compile(r"^[ \t]*//(?!@include).*\n?", re.MULTILINE)


@cache
def field_lists() -> dict[str, tuple[str, ...]]:
    from .. import models, schemas

    return {
        "execution": models.OrchestrationExecution.SHOWN_FIELDS,
        "execution_counters": tuple(schemas.ExecutionCounters.model_fields),
        "task_execution": models.TaskExecution.SHOWN_FIELDS,
        # The list and the live page need no outputs or prompts (they can be megabytes).
        "task_row": tuple(f for f in models.TaskExecution.SHOWN_FIELDS if f not in ("output", "prompt")),
        "attempt": models.TaskAttempt.SHOWN_FIELDS,
        # What a task execution mirrors of its latest attempt.
        "attempt_content": models.ATTEMPT_CONTENT_FIELDS,
        "plan": models.Plan.SHOWN_FIELDS,
    }


def _source(name: str, seen: tuple[str, ...] = ()) -> str:
    if name in seen:
        raise ValueError(f"Cypher include cycle: {' -> '.join((*seen, name))}")
    text = (ROOT / f"{name}.cypher").read_text()
    return _INCLUDE.sub(lambda m: _source(m.group(1), (*seen, name)).rstrip("\n"), text)


def _projection(match: re.Match[str]) -> str:
    var, fields = match.group(1), field_lists()[match.group(2)]
    return var + " {" + ", ".join(f".{f}" for f in fields) + "}"


@cache
def statement(name: str) -> str:
    """The statement in `<name>.cypher` (e.g. "ingest/task_results_write"), includes and projections
    expanded."""
    if Path(name).name.startswith("_"):
        raise ValueError(f"{name} is a fragment, not a statement")
    return _COMMENT_LINE.sub("", _PROJECT.sub(_projection, _source(name)))


def statement_names() -> list[str]:
    """Every statement (not fragment) there is, for the test that EXPLAINs them all."""
    return sorted(
        str(p.relative_to(ROOT).with_suffix(""))
        for p in ROOT.rglob("*.cypher")
        if not p.name.startswith("_")
    )
