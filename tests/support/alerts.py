"""What the alerts tests share: one run of the worker, and the receiver recipe of docs/alerts.md."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core.management import call_command

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def work() -> str:
    """One run of the worker, as a fresh process would start it (nothing kept in memory between)."""
    err = io.StringIO()
    call_command("deliver_alerts", "--once", stderr=err)
    return err.getvalue()


def documented_verify():
    """The receiver recipe of docs/alerts.md, exactly as printed there."""
    text = DOCS.read_text()
    block = re.search(r"A receiver verifying it.*?```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102  (our own documentation, tested as written)
    return namespace["verify"]
