"""Waiting for something real (a thread, a socket, a log line) by polling it with a deadline."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], *, timeout: float, what: Callable[[], str] = lambda: "",
               alive: subprocess.Popen | None = None, interval: float = 0.05) -> None:
    """Poll `condition` until it is true; fail after `timeout` seconds, or as soon as the process
    `alive` has exited, saying `what()` (e.g. the process's log)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"the process exited with {alive.returncode}: {what()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {what()}")
        time.sleep(interval)
