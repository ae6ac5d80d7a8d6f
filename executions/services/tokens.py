"""API tokens (Django's database): created and revoked by management commands, checked on every
API request. Only a token's SHA-256 is stored. A token has scopes: `write` for ingest, `read` for
the read API, or both; and it may be limited to some plans and/or execution-id prefixes
(`executions.limits`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import OperationalError, connection
from django.utils import timezone
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .. import schemas
from ..errors import ConflictError, InvalidInput, NotFound
from ..limits import ExecutionLimits
from ..models import TOKEN_SCOPES, IngestToken

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = IngestToken._meta.get_field("name").max_length


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """Who an authenticated request is: the token's id and what it may do."""

    id: int
    scopes: frozenset[str]
    limits: ExecutionLimits = ExecutionLimits()


def token_scopes_parse(text: str) -> tuple[str, ...]:
    """"read,write" (any order, spaces allowed) → ("read", "write"); refuses unknown or no scopes."""
    return _valid_scopes(text.split(","))


def _valid_scopes(names: Iterable[str]) -> tuple[str, ...]:
    scopes = {name.strip() for name in names if name.strip()}
    unknown = sorted(scopes - set(TOKEN_SCOPES))
    if unknown or not scopes:
        what = f"unknown scope {', '.join(map(repr, unknown))}" if unknown else "no scope given"
        message = f"{what}; scopes are {', '.join(TOKEN_SCOPES)}, comma-separated"
        raise InvalidInput(message, errors=[{"field": "scope", "message": message}])
    return tuple(sorted(scopes))


_ID = TypeAdapter(schemas.Identifier)


def token_limits_parse(text: str, *, field: str) -> tuple[str, ...]:
    """"a,b" (spaces allowed) → ("a", "b"): plan ids or execution-id prefixes, each written as the
    API takes an id; refuses an invalid one, naming `field`, or none at all."""
    return _valid_ids(text.split(","), field=field)


def _valid_ids(values: Iterable[str], *, field: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(value.strip() for value in values if value.strip()))
    bad = []
    for value in ids:
        try:
            _ID.validate_python(value)
        except PydanticValidationError:
            bad.append(value)
    if bad or not ids:
        what = f"invalid id {', '.join(map(repr, bad))}" if bad else "no id given"
        message = f"{what}; give ids as the API takes them (no white space, '/' or '\\'), comma-separated"
        raise InvalidInput(message, errors=[{"field": field, "message": message}])
    return ids


def ingest_token_create(
    *,
    name: str,
    scopes: Iterable[str] = ("write",),
    plans: Iterable[str] | None = None,
    execution_prefixes: Iterable[str] | None = None,
) -> str:
    """Create a token with `scopes`, limited to `plans` and/or `execution_prefixes` when given (None:
    no limit of that kind), and return it; only its hash is kept."""
    name = name.strip()
    if not name:
        raise InvalidInput("token name must not be empty", errors=[{"field": "name", "message": "is empty"}])
    if len(name) > NAME_MAX_LENGTH:
        message = f"is longer than {NAME_MAX_LENGTH} characters"
        raise InvalidInput(f"token name {message}", errors=[{"field": "name", "message": message}])
    canonical = ",".join(_valid_scopes(scopes))
    if IngestToken.objects.filter(name=name).exists():
        raise ConflictError(f"a token named {name!r} exists", errors=[{"field": "name", "message": "already used"}])
    # One id per line: ids hold no white space.
    limits = {
        "plans": "\n".join(sorted(_valid_ids(plans, field="plans"))) if plans is not None else "",
        "execution_prefixes": "\n".join(_valid_ids(execution_prefixes, field="execution_prefixes"))
        if execution_prefixes is not None else "",
    }
    raw = IngestToken.generate()
    IngestToken.objects.create(
        name=name, token_hash=IngestToken.hash(raw), prefix=raw[:12], scopes=canonical, **limits
    )
    return raw


def ingest_token_revoke(*, name: str) -> IngestToken:
    token = IngestToken.objects.filter(name=name).first()
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def ingest_token_authenticate(*, raw: str) -> TokenIdentity | None:
    """The active token `raw` (its id, scopes and limits), or None."""
    # Every ingest request runs this: one fixed SQL statement on the unique hash index, because
    # compiling the equivalent ORM query each time cost a third of the request's Python time.
    now = timezone.now()
    # At most one write a minute per token: last-use is informative, not an audit log.
    minute_ago = now - timedelta(seconds=60)
    table = connection.ops.quote_name(IngestToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, scopes, plans, execution_prefixes, last_used_at IS NULL OR last_used_at < %s FROM {table} "  # noqa: S608 - the quoted table name
            "WHERE token_hash = %s AND revoked_at IS NULL",
            [connection.ops.adapt_datetimefield_value(minute_ago), IngestToken.hash(raw)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, scopes, plans, prefixes, stale = row
    if stale:
        # Every request of a token arriving together sees the same stale value and would write it;
        # the condition lets one of them do it. Last-use is bookkeeping: a write that loses to a
        # concurrent one (SQLite answers "table is locked") must not refuse an authenticated request.
        try:
            IngestToken.objects.filter(pk=token_id).exclude(last_used_at__gte=minute_ago).update(last_used_at=now)
        except OperationalError as exc:
            logger.info("last use of ingest token %s not recorded: %s", token_id, exc)
    return TokenIdentity(
        id=token_id, scopes=frozenset(scopes.split(",")), limits=ExecutionLimits.from_stored(plans, prefixes)
    )
