"""What retention left: the pruned watermark (services.retention records it)."""

from __future__ import annotations

from datetime import date

from .. import clock, graph


def pruned_before() -> int | None:
    """The pruned watermark (epoch ms, a UTC midnight): executions first known before it may have
    lost their details (task executions, attempts) to a prune. None when nothing was ever pruned."""
    ((before,),) = graph.read("retention/pruned_before")
    return before


def details_pruned_before(*, started_from: int) -> date | None:
    """The UTC day before which a report starting at `started_from` (epoch ms) has lost task-level
    details (examples, CSV rows) to a prune, its figures then coming from the rollups; None when its
    range starts at or after the watermark."""
    before = pruned_before()
    if before is None or started_from >= before:
        return None
    return clock.utc_datetime(before).date()
