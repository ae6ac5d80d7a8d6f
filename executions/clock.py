"""The one clock of the app: epoch milliseconds, what the graph stores and orchestrators send.

Call it as `clock.now_ms()` (not imported by name), so that a test can move time by patching
this module instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone


def now_ms() -> int:
    return int(time.time() * 1000)


def day_start_ms(day: date) -> int:
    """00:00 UTC of a calendar day, in epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
