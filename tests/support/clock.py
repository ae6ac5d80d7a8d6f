"""The app's clock, stopped: a test moves time instead of sleeping.

Every part of the app reads the time as `clock.now_ms()` (executions/clock.py), so replacing that
one function moves time for the whole process: the test's own code, Django's test client and the
live server's threads alike. The `frozen_clock` fixture (tests/conftest.py) installs one.
"""

from __future__ import annotations

import threading


class FrozenClock:
    """Epoch milliseconds that change only when the test says so."""

    def __init__(self, start_ms: int):
        self._lock = threading.Lock()
        self._ms = int(start_ms)

    def now_ms(self) -> int:
        with self._lock:
            return self._ms

    def set(self, ms: int) -> int:
        """Jump to the epoch milliseconds `ms` (forward or back); answers the new time."""
        with self._lock:
            self._ms = int(ms)
            return self._ms

    def advance(self, *, seconds: float = 0, ms: int = 0) -> int:
        """Move time forward; answers the new time."""
        if seconds < 0 or ms < 0:
            raise ValueError("time only moves forward through advance(); use set() to go back")
        with self._lock:
            self._ms += round(seconds * 1000) + ms
            return self._ms
