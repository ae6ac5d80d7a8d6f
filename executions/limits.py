"""What a limited API token may touch: executions of some plans (planId) and/or executions whose id
starts with some prefixes. None means "no limit of that kind"; with both kinds, an execution must
be within both. The rules for events whose execution or plan is not known yet are in
docs/design.md ("Limited tokens"); `services.ingest` applies them, `api.py` and the selectors read
within them."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden


@dataclass(frozen=True, slots=True)
class ExecutionLimits:
    plans: frozenset[str] | None = None
    prefixes: tuple[str, ...] | None = None

    @classmethod
    def from_stored(cls, plans: str, prefixes: str) -> ExecutionLimits:
        """From a token's columns: one id per line, empty for no limit of that kind."""
        plan_ids, id_prefixes = plans.split(), prefixes.split()
        return cls(frozenset(plan_ids) if plan_ids else None, tuple(id_prefixes) if id_prefixes else None)

    @property
    def limited(self) -> bool:
        return self.plans is not None or self.prefixes is not None

    def describe(self) -> str:
        parts = []
        if self.plans is not None:
            parts.append("plans " + ", ".join(map(repr, sorted(self.plans))))
        if self.prefixes is not None:
            parts.append("execution ids starting with " + ", ".join(map(repr, self.prefixes)))
        return " and ".join(parts) or "nothing"

    def id_allowed(self, execution_id: str) -> bool:
        return self.prefixes is None or any(execution_id.startswith(p) for p in self.prefixes)

    def execution_allowed(self, *, execution_id: str, plan_id: str | None) -> bool:
        """Whether an execution with this id and stored planId (None: no start event yet) is within."""
        return self.id_allowed(execution_id) and (self.plans is None or plan_id in self.plans)

    def read_refusal(self, *, execution_id: str, execution: dict | None) -> Forbidden | None:
        """Why this token may not read the execution (None: not found), or None if it may. A missing
        one is a 403 too unless the id alone shows it within (a prefix limit only): else the answer
        would tell another plan's execution from none."""
        if not self.limited:
            return None
        if execution is None and self.plans is None and self.id_allowed(execution_id):
            return None
        if execution is not None and self.execution_allowed(execution_id=execution_id, plan_id=execution["planId"]):
            return None
        return self.refuse("executionId", f"execution {execution_id!r} is not one this token may read")

    def plan_readable(self, plan_id: str | None) -> bool:
        """Plan reads and the failure report span every execution of a plan (or of all): within the
        limits only for a token limited to plans alone, and about one of its plans."""
        return not self.limited or (self.prefixes is None and self.plans is not None and plan_id in self.plans)

    def refuse(self, field: str, what: str) -> Forbidden:
        """The 403 for an event or read outside the limits, naming the body field at fault."""
        message = f"{what}: this token is limited to {self.describe()}"
        return Forbidden(message, errors=[{"field": field, "message": what}])


UNLIMITED = ExecutionLimits()
