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


# The calendar days a filter may name: the years that epoch-ms timestamps are accepted for
# (schemas.EpochMs). Beyond them a date would only overflow the day arithmetic of a range.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)
