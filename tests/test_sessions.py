"""The session store (mimir_dashboard/sessions.py): Django's database sessions read by one fixed SQL
statement. Signed-in pages, sign-out, expiry and unknown keys behave as with Django's own store,
and sessions written by either store are read by the other."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends import db as django_db_sessions
from django.contrib.sessions.models import Session
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mimir_dashboard.sessions import SessionStore

LOGIN = "/accounts/login/"
PASSWORD = "a long and correct password"


@pytest.fixture
def ada(db):
    return get_user_model().objects.create_user("ada", password=PASSWORD)


def sign_in(client) -> str:
    response = client.post(LOGIN, {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_it_is_the_session_engine(settings):
    assert settings.SESSION_ENGINE == "mimir_dashboard.sessions"


def test_it_keeps_a_signed_in_user_signed_in_and_reads_the_session_with_one_query(client, ada):
    sign_in(client)
    assert client.get("/").status_code == 200
    store = SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        data = store.load()
    assert data["_auth_user_id"] == str(ada.pk)
    assert len(queries) == 1 and "django_session" in queries[0]["sql"]


def test_it_signs_out_for_good(client, ada):
    key = sign_in(client)
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = key  # the old cookie, kept by someone
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_it_treats_an_expired_session_as_none_and_never_reuses_its_key(client, ada):
    key = sign_in(client)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    store["x"] = 1
    store.save()
    assert store.session_key != key


@pytest.mark.parametrize("key", ["no-such-key-0123456789abcdefghij", "' OR 1=1 --", "x" * 40])
def test_it_reads_an_unknown_or_hostile_key_as_no_session(client, ada, key):
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert SessionStore(key).load() == {}


def test_it_reads_what_django_s_store_wrote_and_the_other_way_round(db):
    theirs = django_db_sessions.SessionStore()
    theirs["answer"] = 42
    theirs.save()
    assert SessionStore(theirs.session_key).load() == {"answer": 42}

    ours = SessionStore()
    ours["plans"] = ["p1", "p 2"]
    ours.save()
    assert django_db_sessions.SessionStore(ours.session_key).load() == {"plans": ["p1", "p 2"]}
