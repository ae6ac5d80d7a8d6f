"""Ingest API tokens (Django's database): created and revoked by management commands, checked on
every ingest request. Only a token's SHA-256 is stored."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import OperationalError, connection
from django.utils import timezone

from ..errors import ConflictError, InvalidInput, NotFound
from ..models import IngestToken

logger = logging.getLogger(__name__)


def ingest_token_create(*, name: str) -> str:
    """Create a token and return it; only its hash is kept."""
    name = name.strip()
    if not name:
        raise InvalidInput("token name must not be empty", errors=[{"field": "name", "message": "is empty"}])
    if IngestToken.objects.filter(name=name).exists():
        raise ConflictError(f"a token named {name!r} exists", errors=[{"field": "name", "message": "already used"}])
    raw = IngestToken.generate()
    IngestToken.objects.create(name=name, token_hash=IngestToken.hash(raw), prefix=raw[:12])
    return raw


def ingest_token_revoke(*, name: str) -> IngestToken:
    token = IngestToken.objects.filter(name=name).first()
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def ingest_token_authenticate(*, raw: str) -> int | None:
    """The id of the active token `raw`, or None."""
    # Every ingest request runs this: one fixed SQL statement on the unique hash index, because
    # compiling the equivalent ORM query each time cost a third of the request's Python time.
    now = timezone.now()
    # At most one write a minute per token: last-use is informative, not an audit log.
    minute_ago = now - timedelta(seconds=60)
    table = connection.ops.quote_name(IngestToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, last_used_at IS NULL OR last_used_at < %s FROM {table} "  # noqa: S608 - the quoted table name
            "WHERE token_hash = %s AND revoked_at IS NULL",
            [connection.ops.adapt_datetimefield_value(minute_ago), IngestToken.hash(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, stale = row
    if stale:
        # Every request of a token arriving together sees the same stale value and would write it;
        # the condition lets one of them do it. Last-use is bookkeeping: a write that loses to a
        # concurrent one (SQLite answers "table is locked") must not refuse an authenticated request.
        try:
            IngestToken.objects.filter(pk=token_id).exclude(last_used_at__gte=minute_ago).update(last_used_at=now)
        except OperationalError as exc:
            logger.info("last use of ingest token %s not recorded: %s", token_id, exc)
    return token_id
