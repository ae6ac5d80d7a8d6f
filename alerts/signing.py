"""Webhook signatures: `X-Mimir-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`,
one `v1=` per secret that signs (two during a rotation's grace period), comma-separated."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, previous_secret: str, previous_expires_at: datetime | None,
                     at: datetime, timestamp: int, body: bytes) -> str:
    signs = [secret]
    if previous_secret and previous_expires_at is not None and at < previous_expires_at:
        signs.append(previous_secret)
    return ",".join(f"v1={signature(s, timestamp, body)}" for s in signs)
