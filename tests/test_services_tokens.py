"""Ingest token authentication: the active token's id, and last use recorded at most once a minute,
never at the cost of the request."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from executions import services
from executions.models import IngestToken


@pytest.fixture
def token(transactional_db) -> tuple[int, str]:
    raw = services.ingest_token_create(name="tokens-test")
    return IngestToken.objects.get(name="tokens-test").pk, raw


def _last_used(token_id: int):
    return IngestToken.objects.get(pk=token_id).last_used_at


def test_it_records_last_use_at_most_once_a_minute(token):
    token_id, raw = token
    assert services.ingest_token_authenticate(raw=raw) == token_id
    first = _last_used(token_id)
    assert first is not None

    half_a_minute_ago = timezone.now() - timedelta(seconds=30)
    IngestToken.objects.filter(pk=token_id).update(last_used_at=half_a_minute_ago)
    services.ingest_token_authenticate(raw=raw)
    assert _last_used(token_id) == half_a_minute_ago

    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    IngestToken.objects.filter(pk=token_id).update(last_used_at=two_minutes_ago)
    services.ingest_token_authenticate(raw=raw)
    assert _last_used(token_id) > two_minutes_ago


def test_it_authenticates_while_another_transaction_holds_the_token_table(token):
    token_id, raw = token
    holding, release = threading.Event(), threading.Event()

    def hold_the_table():
        # A reader in an open transaction: SQLite then refuses writes to the table ("table is
        # locked") until it ends, as concurrent requests of one token did to each other.
        try:
            with transaction.atomic():
                list(IngestToken.objects.all())
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    try:
        assert holding.wait(10)
        assert services.ingest_token_authenticate(raw=raw) == token_id
    finally:
        release.set()
        holder.join()
    # Once the table is free, the next request records the use it could not record before.
    assert services.ingest_token_authenticate(raw=raw) == token_id
    assert _last_used(token_id) is not None


def test_it_refuses_a_revoked_or_unknown_token(token):
    token_id, raw = token
    assert services.ingest_token_authenticate(raw=raw + "x") is None
    services.ingest_token_revoke(name="tokens-test")
    assert services.ingest_token_authenticate(raw=raw) is None
