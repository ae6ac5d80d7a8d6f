"""The one clock of the app: epoch milliseconds, what the graph stores and orchestrators send.

Call it as `clock.now_ms()` (not imported by name), so that a test can move time by patching
this module instead of sleeping; `today()` follows it. The conversions between epoch
milliseconds and UTC calendar time are here too, so that no other module builds its own.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime


def now_ms() -> int:
    return int(time.time() * 1000)


def today() -> date:
    """The UTC calendar day of `now_ms()`."""
    return utc_datetime(now_ms()).date()


def utc_datetime(ms: int) -> datetime:
    """Epoch milliseconds → an aware UTC datetime."""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def day_start_ms(day: date) -> int:
    """00:00 UTC of a calendar day, in epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


# The calendar days a filter may name: the years that epoch-ms timestamps are accepted for
# (schemas.EpochMs). Beyond them a date would only overflow the day arithmetic of a range.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)
