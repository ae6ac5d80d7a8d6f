"""DJANGO_ENV: development finds `make run`'s defaults in var/ by itself, production needs them given.

Each test runs manage.py in a fresh process with none of our variables set, as a second shell would.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a manage.py process each

REPO = Path(__file__).resolve().parent.parent
SHOW = ("from django.conf import settings as s; import json; "
        "print(json.dumps([s.ENVIRONMENT, s.SECRET_KEY, s.ALLOWED_HOSTS, s.NEO4J_BOLT_URL]))")


def _manage(var: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "PYTEST", "NEO4J_", "DATABASE_URL", "MIMIR_"))}
    clean.update(MIMIR_VAR_DIR=str(var), **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=clean,
                          capture_output=True, text=True, timeout=120)


def _settings(var: Path, **env: str) -> list:
    result = _manage(var, "shell", "--no-imports", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_finds_the_development_defaults_without_any_exports(tmp_path):
    environment, key, hosts, neo4j = _settings(tmp_path)
    assert (environment, hosts, neo4j) == ("development", ["127.0.0.1", "localhost"],
                                           "bolt://neo4j:neo4j@127.0.0.1:7687")
    key_file = tmp_path / "dev-secret-key"
    assert key_file.read_text().strip() == key and len(key) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["dev-secret-key"]  # no draft left behind
    # The next process (a second shell, a gunicorn worker) gets the same key.
    assert _settings(tmp_path)[1] == key


def test_it_uses_the_neo4j_that_make_run_started(tmp_path):
    (tmp_path / "dev-neo4j-url").write_text("bolt://127.0.0.1:7697\n")
    assert _settings(tmp_path)[3] == "bolt://neo4j:neo4j@127.0.0.1:7697"
    # A variable still wins.
    assert _settings(tmp_path, NEO4J_BOLT_URL="bolt://db.internal:7687")[3] == "bolt://neo4j:neo4j@db.internal:7687"


def test_it_runs_user_commands_in_a_shell_with_no_exports(tmp_path):
    assert _manage(tmp_path, "migrate", "--noinput", "-v", "0").returncode == 0
    result = _manage(tmp_path, "createsuperuser", "--noinput", "--username", "x", "--email", "x@example.com",
                     DJANGO_SUPERUSER_PASSWORD="a long and correct password")
    assert result.returncode == 0, result.stderr
    assert "Superuser created successfully." in result.stdout


def test_it_requires_the_secret_key_and_allowed_hosts_in_production_and_reads_nothing_from_var(tmp_path):
    (tmp_path / "dev-secret-key").write_text("a-development-key-that-production-must-not-use-0123456789\n")
    (tmp_path / "dev-neo4j-url").write_text("bolt://127.0.0.1:7697\n")
    missing_key = _manage(tmp_path, "check", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="dash.example.com")
    assert missing_key.returncode != 0
    assert "DJANGO_SECRET_KEY is not set (required with DJANGO_ENV=production)" in missing_key.stderr
    missing_hosts = _manage(tmp_path, "check", DJANGO_ENV="production", DJANGO_SECRET_KEY="k" * 60)
    assert missing_hosts.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is empty (required with DJANGO_ENV=production)" in missing_hosts.stderr
    given = _settings(tmp_path, DJANGO_ENV="production", DJANGO_SECRET_KEY="k" * 60,
                      DJANGO_ALLOWED_HOSTS="dash.example.com")
    assert given == ["production", "k" * 60, ["dash.example.com"], "bolt://neo4j:neo4j@127.0.0.1:7687"]


def test_it_refuses_an_unknown_environment(tmp_path):
    for wrong in ("prod", "Production"):
        result = _manage(tmp_path, "check", DJANGO_ENV=wrong)
        assert result.returncode != 0
        assert f"DJANGO_ENV must be one of development, production, got {wrong!r}" in result.stderr
    assert not (tmp_path / "dev-secret-key").exists()


def test_it_warns_in_check_deploy_when_not_in_production(tmp_path):
    result = _manage(tmp_path, "check", "--deploy")
    assert "mimir.W001" in result.stderr and "DJANGO_ENV=production" in result.stderr


def test_it_reads_the_metrics_allow_list_and_refuses_what_is_not_an_address(tmp_path):
    show = "from django.conf import settings as s; print(','.join(map(str, s.METRICS_ALLOWED_IPS)))"
    result = _manage(tmp_path, "shell", "--no-imports", "-c", show, METRICS_ALLOWED_IPS=" 10.1.0.0/16, ::1 ,127.0.0.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10.1.0.0/16,::1/128,127.0.0.1/32"
    refused = _manage(tmp_path, "check", METRICS_ALLOWED_IPS="10.0.0.0/8,localhost")
    assert refused.returncode != 0
    assert "METRICS_ALLOWED_IPS must list IP addresses or networks (CIDR), got 'localhost'" in refused.stderr


def test_it_reads_the_retention_settings_and_refuses_a_bad_value(tmp_path):
    show = ("from django.conf import settings as s; import json; "
            "print(json.dumps([s.PRUNE_OLDER_THAN_DAYS, s.PRUNE_KEEP_FAILED, s.PRUNE_BATCH_NODES]))")
    off = _manage(tmp_path, "shell", "--no-imports", "-c", show)
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout) == [None, False, 5000]
    on = _manage(tmp_path, "shell", "--no-imports", "-c", show, PRUNE_OLDER_THAN_DAYS="90", PRUNE_KEEP_FAILED="1",
                 PRUNE_BATCH_NODES="200")
    assert json.loads(on.stdout) == [90, True, 200]
    for name, wrong, message in (("PRUNE_OLDER_THAN_DAYS", "90d", "must be an integer, got '90d'"),
                                 ("PRUNE_OLDER_THAN_DAYS", "0", "must be >= 1, got 0"),
                                 ("PRUNE_BATCH_NODES", "0", "must be >= 1, got 0"),
                                 ("PRUNE_KEEP_FAILED", "maybe", "must be a boolean")):
        refused = _manage(tmp_path, "check", **{name: wrong})
        assert refused.returncode != 0 and f"{name} {message}" in refused.stderr, (name, wrong)
