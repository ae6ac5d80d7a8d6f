"""Sign-in throttling (django-axes), through Django's whole stack: a username and an address are
paused after SIGNIN_FAILURE_LIMIT wrong passwords, the right one included, until the cool-off has
passed; /admin/login/ shares the counters; the pause is a product page with status 429."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F
from django.test import RequestFactory

from mimir_dashboard.accounts import client_ip
from tests.production_settings import refused, shown

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "a long and correct password"
HOME, OFFICE = "198.51.100.7", "203.0.113.20"


@pytest.fixture
def users(db):
    model = get_user_model()
    model.objects.create_user("ada", password=PASSWORD)
    model.objects.create_user("bob", password=PASSWORD)
    model.objects.create_superuser("root", "root@example.com", PASSWORD)


def limit() -> int:
    return settings.AXES_FAILURE_LIMIT


def sign_in(client, username: str, password: str = PASSWORD, *, address: str = HOME, path: str = LOGIN,
            next: str = "", **extra):
    return client.post(path, {"username": username, "password": password, "next": next}, REMOTE_ADDR=address, **extra)


def assert_signed_in(response, client) -> None:
    assert response.status_code == 302, response.content[:500]
    assert "_auth_user_id" in client.session
    client.logout()


def assert_wrong_password(response) -> None:
    assert response.status_code == 200
    assert b"didn't match" in response.content or b"correct username and password" in response.content


def assert_paused(response) -> None:
    assert response.status_code == 429, response.content[:500]
    assert b"Sign-in paused" in response.content


def fail(client, username: str, times: int, **kwargs) -> None:
    for _ in range(times):
        assert_wrong_password(sign_in(client, username, "wrong password", **kwargs))


def test_it_pauses_a_username_after_the_limit_even_for_the_right_password(client, users):
    fail(client, "ada", limit() - 1)
    assert_paused(sign_in(client, "ada", "wrong password"))
    assert_paused(sign_in(client, "ada"))
    # Per username: from any other address too.
    assert_paused(sign_in(client, "ada", address=OFFICE))
    # Attempts while paused are not counted: the pause still ends a cool-off after the last failure.
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == limit()


def test_it_pauses_an_address_for_every_username(client, users):
    """Spraying: fewer failures than the limit on each username, the limit in all from one address."""
    names = ["ada", "bob", "carol", "dave"]
    for i in range(limit() - 1):
        assert_wrong_password(sign_in(client, names[i % len(names)], "wrong password"))
    assert_paused(sign_in(client, "erin", "wrong password"))
    # Another user from the same address is paused too, with the right password (per address)...
    assert_paused(sign_in(client, "bob"))
    # ...and signs in from elsewhere: bob's own failures are below the limit.
    assert_signed_in(sign_in(client, "bob", address=OFFICE), client)


def test_the_pause_ends_when_the_cool_off_has_passed(client, users):
    fail(client, "ada", limit() - 1)
    assert_paused(sign_in(client, "ada", "wrong password"))
    cool_off = settings.AXES_COOLOFF_TIME
    assert cool_off == timedelta(minutes=settings.SIGNIN_COOLOFF_MINUTES)
    # Time moves on: the stored failures become older, as axes compares them with timezone.now().
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - (cool_off - timedelta(seconds=30)))
    assert_paused(sign_in(client, "ada"))
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=31))
    assert_signed_in(sign_in(client, "ada"), client)


def test_a_sign_in_clears_the_users_own_failures(client, users):
    fail(client, "ada", limit() - 1)
    assert_signed_in(sign_in(client, "ada"), client)
    assert not AccessAttempt.objects.exists()
    # The count starts again: as many wrong passwords again are still not a pause.
    fail(client, "ada", limit() - 1)
    assert_signed_in(sign_in(client, "ada"), client)


def test_a_sign_in_does_not_clear_the_failures_against_other_usernames(client, users):
    """Whoever has an account cannot sign in between guesses at another's to start the count again."""
    fail(client, "bob", limit() - 1)
    assert_signed_in(sign_in(client, "ada"), client)
    assert_paused(sign_in(client, "bob", "wrong password"))
    assert_paused(sign_in(client, "bob", address=OFFICE))


def test_the_admin_sign_in_is_paused_the_same_way_and_shares_the_count(client, users):
    fail(client, "root", limit() - 1, path=ADMIN_LOGIN)
    response = sign_in(client, "root", "wrong password", path=ADMIN_LOGIN)
    assert_paused(response)
    assert_paused(sign_in(client, "root", path=ADMIN_LOGIN))
    assert_paused(sign_in(client, "root"))
    assert b"Django administration" not in response.content


def test_the_admin_sign_in_works_and_clears_the_count(client, users):
    fail(client, "root", limit() - 1, path=ADMIN_LOGIN)
    response = sign_in(client, "root", path=ADMIN_LOGIN, next="/admin/", follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == "/admin/"
    assert not AccessAttempt.objects.exists()


def test_the_pause_is_a_product_page_saying_when_to_try_again(client, users):
    fail(client, "ada", limit() - 1)
    response = sign_in(client, "ada", "wrong password")
    assert_paused(response)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Sign-in paused · Mimir Execution Dashboard</title>" in page
    assert 'href="/static/css/app.css"' in page and 'class="topbar"' in page and 'class="card auth-card"' in page
    assert "Traceback" not in page and "Exception" not in page
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    retry_after = int(response["Retry-After"])
    assert cool_off - 60 < retry_after <= cool_off
    until = AccessAttempt.objects.get().attempt_time + settings.AXES_COOLOFF_TIME
    assert f'<time datetime="{until.isoformat()}">{until:%b} {until.day}, {until:%H:%M} UTC</time>' in page
    minutes = -(-retry_after // 60)
    assert re.search(rf"in {minutes} minutes?\.", page)
    # A later refused attempt says the same time: the pause does not grow.
    assert until.isoformat() in sign_in(client, "ada").content.decode()


def test_it_counts_the_connection_address_and_ignores_x_forwarded_for_by_default(client, users):
    assert settings.TRUSTED_PROXY_COUNT == 0
    for i in range(limit()):
        response = sign_in(client, f"user{i}", "wrong password", HTTP_X_FORWARDED_FOR=f"192.0.2.{i + 1}")
    assert_paused(response)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HOME}


def test_behind_trusted_proxies_it_counts_the_address_they_saw(client, users, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote a first entry itself; the proxy appended the address it was connected from.
    for _ in range(limit()):
        response = sign_in(client, "ada", "wrong password", address="10.0.0.2",
                           HTTP_X_FORWARDED_FOR=f"192.0.2.99, {OFFICE}")
    assert_paused(response)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {OFFICE}
    # Another client behind the same proxy is another address: bob is not paused.
    assert_signed_in(sign_in(client, "bob", address="10.0.0.2", HTTP_X_FORWARDED_FOR=HOME), client)


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.2"),
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "192.0.2.66, 192.0.2.1", "192.0.2.1"),
        (2, "192.0.2.66, 192.0.2.1, 10.0.0.9", "192.0.2.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        (2, "192.0.2.1", "10.0.0.2"),  # fewer entries than proxies: not from them
        (1, "", "10.0.0.2"),
        (1, "not-an-address", "10.0.0.2"),
        (1, "192.0.2.1:4711", "10.0.0.2"),
    ],
)
def test_client_ip(settings, count, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def test_an_admin_lifts_a_pause_with_axes_reset_username(client, users):
    fail(client, "ada", limit() - 1)
    assert_paused(sign_in(client, "ada", "wrong password"))
    call_command("axes_reset_username", "ada", stdout=io.StringIO())
    assert_signed_in(sign_in(client, "ada"), client)


def test_an_admin_lifts_an_address_pause_with_axes_reset_ip(client, users):
    for i in range(limit()):
        sign_in(client, f"user{i}", "wrong password")
    assert_paused(sign_in(client, "bob"))
    call_command("axes_reset_ip", HOME, stdout=io.StringIO())
    assert_signed_in(sign_in(client, "bob"), client)


def test_force_login_still_signs_in(client, users):
    """The test suite's force_login, and sessions, go through ModelBackend (axes' backend has no get_user)."""
    client.force_login(get_user_model().objects.get(username="ada"))
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    assert client.get("/plans").status_code == 200


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SIGNIN_FAILURE_LIMIT", "0"), ("SIGNIN_FAILURE_LIMIT", "many"), ("SIGNIN_COOLOFF_MINUTES", "0"),
     ("TRUSTED_PROXY_COUNT", "-1")],
)
def test_it_fails_loudly_on_bad_throttling_settings(variable, value):
    assert variable in refused(**{variable: value})


def test_the_limits_come_from_the_environment():
    env = {"SIGNIN_FAILURE_LIMIT": "4", "SIGNIN_COOLOFF_MINUTES": "90", "TRUSTED_PROXY_COUNT": "2"}
    assert shown("AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "TRUSTED_PROXY_COUNT", **env) == ["4", "1:30:00", "2"]
