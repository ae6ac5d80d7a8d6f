"""PostgreSQL, what production keeps Django's tables in (DATABASE_URL): the migrations apply, and
users, sign-in and API tokens work on it, in real manage.py and gunicorn processes against a private
cluster (tests/support/postgres.py)."""

from __future__ import annotations

import re

import psycopg
import pytest
import requests

from tests.support.pages import T0
from tests.support.servers import gunicorn, manage, production_env

pytestmark = pytest.mark.slow  # a PostgreSQL server, manage.py and gunicorn processes


def _rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_it_runs_the_product_on_postgresql(neo4j_url, postgres_database_url, tmp_path):
    url = postgres_database_url
    env = production_env(neo4j_url, database_url=url)

    manage(env, "migrate", "--noinput")
    # Every app's migrations are recorded as applied, on PostgreSQL itself.
    applied = {app for (app,) in _rows(url, "SELECT DISTINCT app FROM django_migrations")}
    assert {"auth", "sessions", "axes", "executions"} <= applied
    assert "unapplied" not in manage(env, "showmigrations", "--plan").lower()
    assert "[ ]" not in manage(env, "showmigrations")

    token = manage(env, "create_ingest_token", "orchestrator", "--scope", "read,write").strip()
    assert re.fullmatch(r"\S{20,}", token), token
    [(name, scopes, last_used)] = _rows(url, "SELECT name, scopes, last_used_at FROM executions_ingesttoken")
    assert (name, scopes, last_used) == ("orchestrator", "read,write", None)
    password = "a long enough password for ada"
    manage({**env, "DJANGO_SUPERUSER_PASSWORD": password}, "createsuperuser", "--noinput",
           "--username", "ada", "--email", "ada@example.com")

    manage(env, "collectstatic", "--noinput")  # as scripts/run.sh does: production pages need the manifest
    with gunicorn(env, tmp_path / "gunicorn.log") as base:
        auth = {"Authorization": f"Bearer {token}"}
        started = requests.post(f"{base}/api/v1/executions", headers=auth, timeout=30,
                                json={"executionId": "pg-1", "planId": "plan-pg", "totalTasks": 1, "startTime": T0})
        assert started.status_code == 201, started.text
        read = requests.get(f"{base}/api/v1/executions/pg-1", headers=auth, timeout=30)
        assert read.status_code == 200 and read.json()["executionId"] == "pg-1"
        refused = requests.get(f"{base}/api/v1/executions/pg-1", headers={"Authorization": "Bearer nope"}, timeout=30)
        assert refused.status_code == 401
        # The token check's raw SQL recorded its use, on PostgreSQL's timestamp type.
        [(last_used,)] = _rows(url, "SELECT last_used_at FROM executions_ingesttoken WHERE name = 'orchestrator'")
        assert last_used is not None

        # Sign-in through the real form (CSRF token from its cookie); a wrong password is refused
        # and counted by axes, in PostgreSQL.
        browser = requests.Session()
        login_page = browser.get(f"{base}/accounts/login/", timeout=30)
        assert login_page.status_code == 200, login_page.text
        form = {"username": "ada", "password": "wrong", "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
        wrong = browser.post(f"{base}/accounts/login/", data=form, allow_redirects=False, timeout=30)
        assert wrong.status_code == 200  # the form again, with its error
        assert _rows(url, "SELECT username, failures_since_start FROM axes_accessattempt") == [("ada", 1)]
        right = browser.post(f"{base}/accounts/login/", data={**form, "password": password},
                             allow_redirects=False, timeout=30)
        assert right.status_code == 302, right.text
        page = browser.get(f"{base}/", timeout=30)
        assert page.status_code == 200 and "pg-1" in page.text
        [(sessions,)] = _rows(url, "SELECT count(*) FROM django_session")
        assert sessions == 1
        # The successful sign-in cleared that user's failures from this address.
        assert _rows(url, "SELECT count(*) FROM axes_accessattempt") == [(0,)]
