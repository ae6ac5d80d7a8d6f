"""API tokens: authentication answers the active token's id and scopes, last use is recorded at most
once a minute, never at the cost of the request; scopes are validated, and tokens from before scopes
existed keep writing (and only writing)."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from executions import services
from executions.errors import InvalidInput
from executions.limits import ExecutionLimits
from executions.management.commands.create_ingest_token import Command as CreateToken
from executions.models import IngestToken


@pytest.fixture
def token(transactional_db) -> tuple[int, str]:
    raw = services.ingest_token_create(name="tokens-test")
    return IngestToken.objects.get(name="tokens-test").pk, raw


def _last_used(token_id: int):
    return IngestToken.objects.get(pk=token_id).last_used_at


def test_it_records_last_use_at_most_once_a_minute(token):
    token_id, raw = token
    assert services.ingest_token_authenticate(raw=raw).id == token_id
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
        assert services.ingest_token_authenticate(raw=raw).id == token_id
    finally:
        release.set()
        holder.join()
    # Once the table is free, the next request records the use it could not record before.
    assert services.ingest_token_authenticate(raw=raw).id == token_id
    assert _last_used(token_id) is not None


def test_it_refuses_a_revoked_or_unknown_token(token):
    token_id, raw = token
    assert services.ingest_token_authenticate(raw=raw + "x") is None
    services.ingest_token_revoke(name="tokens-test")
    assert services.ingest_token_authenticate(raw=raw) is None


def test_it_answers_the_scopes_of_the_token_write_only_by_default(transactional_db):
    ingest_only = services.ingest_token_create(name="orchestrator")
    both = services.ingest_token_create(name="tool", scopes=["write", "read", "read"])
    reader = services.ingest_token_create(name="reader", scopes=("read",))
    assert services.ingest_token_authenticate(raw=ingest_only).scopes == {"write"}
    assert services.ingest_token_authenticate(raw=both).scopes == {"read", "write"}
    assert services.ingest_token_authenticate(raw=reader).scopes == {"read"}
    assert IngestToken.objects.get(name="tool").scopes == "read,write"


@pytest.mark.parametrize(("text", "expected"), [("write", ("write",)), ("read, write", ("read", "write")),
                                                ("write,read,", ("read", "write")), (" read ", ("read",))])
def test_it_parses_a_comma_separated_scope_list(text, expected):
    assert services.token_scopes_parse(text) == expected


@pytest.mark.parametrize(("text", "words"), [("admin", "unknown scope 'admin'"), ("read,Write", "unknown scope 'Write'"),
                                             ("", "no scope given"), (" , ", "no scope given")])
def test_it_refuses_unknown_or_missing_scopes_naming_the_field(text, words):
    with pytest.raises(InvalidInput) as refused:
        services.token_scopes_parse(text)
    assert words in refused.value.detail and "read, write" in refused.value.detail
    assert [e["field"] for e in refused.value.errors] == ["scope"]


def test_it_refuses_a_token_name_longer_than_its_column(transactional_db):
    with pytest.raises(InvalidInput, match="longer than 100"):
        services.ingest_token_create(name="x" * 101)
    assert not IngestToken.objects.exists()


def test_the_commands_create_a_token_with_scopes_and_list_them(transactional_db):
    out = io.StringIO()
    call_command("create_ingest_token", "dashboard-tool", "--scope", "read,write", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("mimir_") and "\n" not in raw
    assert services.ingest_token_authenticate(raw=raw).scopes == {"read", "write"}
    call_command("create_ingest_token", "orchestrator", stdout=io.StringIO())
    listing = io.StringIO()
    call_command("list_ingest_tokens", stdout=listing)
    rows = [line.split("\t") for line in listing.getvalue().splitlines()]
    assert [(r[0], r[2], r[3]) for r in rows] == [("dashboard-tool", "read,write", "active"), ("orchestrator", "write", "active")]


def test_the_command_refuses_a_bad_scope_with_a_clear_error(transactional_db):
    with pytest.raises(CommandError, match="unknown scope 'admin'; scopes are read, write"):
        call_command("create_ingest_token", "x", "--scope", "read,admin", stdout=io.StringIO())
    assert not IngestToken.objects.exists()


def test_the_migration_gives_tokens_from_before_scopes_the_write_scope_only(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([("executions", "0001_initial")])
    try:
        old = executor.loader.project_state([("executions", "0001_initial")]).apps.get_model("executions", "IngestToken")
        old.objects.create(name="legacy", token_hash=IngestToken.hash("mimir_legacy"), prefix="mimir_legacy")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert IngestToken.objects.get(name="legacy").scopes == "write"
    assert services.ingest_token_authenticate(raw="mimir_legacy").scopes == {"write"}
    assert services.ingest_token_authenticate(raw="mimir_legacy").limits == ExecutionLimits()


# ---------------------------------------------------------------- limits (plans, execution-id prefixes)


def test_it_answers_the_limits_of_a_token_none_by_default(transactional_db):
    plain = services.ingest_token_create(name="plain")
    etl = services.ingest_token_create(name="etl", plans=["etl", "billing", "etl"])
    team = services.ingest_token_create(name="team", scopes=("read",), execution_prefixes=["team-a-", "run#"])
    assert services.ingest_token_authenticate(raw=plain).limits == ExecutionLimits()
    assert not services.ingest_token_authenticate(raw=plain).limits.limited
    assert services.ingest_token_authenticate(raw=etl).limits == ExecutionLimits(plans=frozenset({"etl", "billing"}))
    assert services.ingest_token_authenticate(raw=team).limits == ExecutionLimits(prefixes=("team-a-", "run#"))
    # One id per line: ids hold no white space.
    assert IngestToken.objects.get(name="etl").plans == "billing\netl"


@pytest.mark.parametrize(("text", "words"), [("a b", "invalid id 'a b'"), ("ok,a/b", "invalid id 'a/b'"),
                                             ("..", "invalid id '..'"), ("", "no id given"), (" , ", "no id given")])
def test_it_refuses_an_invalid_or_missing_limit_naming_the_field(text, words):
    with pytest.raises(InvalidInput) as refused:
        services.token_limits_parse(text, field="plans")
    assert words in refused.value.detail
    assert [e["field"] for e in refused.value.errors] == ["plans"]


def test_the_commands_create_a_limited_token_and_list_its_limits(transactional_db):
    out = io.StringIO()
    call_command("create_ingest_token", "etl-orchestrator", "--plans", "etl, billing", "--execution-prefixes", "etl-",
                 stdout=out)
    limits = services.ingest_token_authenticate(raw=out.getvalue().strip()).limits
    assert limits == ExecutionLimits(plans=frozenset({"etl", "billing"}), prefixes=("etl-",))
    # The brief's spelling of the option works too (argparse takes an unambiguous abbreviation).
    call_command("create_ingest_token", "team", "--execution-prefix", "a-,b-", stdout=io.StringIO())
    listing = io.StringIO()
    call_command("list_ingest_tokens", stdout=listing)
    rows = [line.split("\t") for line in listing.getvalue().splitlines()]
    assert [(r[0], r[-1]) for r in rows] == [
        ("etl-orchestrator", "limited to plans 'billing', 'etl' and execution ids starting with 'etl-'"),
        ("team", "limited to execution ids starting with 'a-', 'b-'")]
    help_text = CreateToken().create_parser("manage.py", "create_ingest_token").format_help()
    assert "--plans PLAN,..." in help_text and "--execution-prefixes PREFIX,..." in help_text


def test_the_command_refuses_a_bad_limit_with_a_clear_error(transactional_db):
    with pytest.raises(CommandError, match="invalid id 'a/b'"):
        call_command("create_ingest_token", "x", "--plans", "a/b", stdout=io.StringIO())
    assert not IngestToken.objects.exists()


def test_the_admin_shows_each_tokens_limits_and_changes_none(admin_client):
    services.ingest_token_create(name="etl", plans=["etl"])
    services.ingest_token_create(name="plain")
    listing = admin_client.get("/admin/executions/ingesttoken/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "only plans &#x27;etl&#x27;" in html and "none (every execution)" in html
    token = IngestToken.objects.get(name="etl")
    page = admin_client.get(f"/admin/executions/ingesttoken/{token.pk}/change/")
    assert page.status_code == 200 and "only plans &#x27;etl&#x27;" in page.content.decode()
    assert 'name="plans"' not in page.content.decode()  # shown, not editable
    assert admin_client.get("/admin/executions/ingesttoken/add/").status_code == 403
