"""manage.py create_first_admin: `make run`'s first sign-in on an empty user table, and only there."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_first_admin", *args, stdout=out)
    return out.getvalue()


def _credentials(output: str) -> tuple[str, str]:
    user = re.search(r"^\s*user:\s+(\S+)$", output, re.M)
    password = re.search(r"^\s*password:\s+(\S+)$", output, re.M)
    assert user and password, output
    return user.group(1), password.group(1)


def _signs_in(username: str, password: str) -> bool:
    """Through the real login view (CSRF enforced, as in a browser), then a page behind sign-in."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("login"))
    response = browser.post(reverse("login"), {
        "username": username, "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
    })
    if response.status_code != 302:
        return False
    # The list itself needs Neo4j, which the suite provides; 200 means the session is signed in.
    return browser.get(reverse("executions:list")).status_code == 200


@pytest.mark.django_db
def test_it_creates_a_superuser_on_an_empty_user_table():
    output = _run("--url", "http://127.0.0.1:8000/")
    username, password = _credentials(output)
    user = get_user_model().objects.get()
    assert (user.username, user.is_superuser, user.is_staff, user.is_active) == (username, True, True, True)
    assert "http://127.0.0.1:8000/accounts/login/" in output
    # Stored as a hash only.
    assert password not in user.password and user.check_password(password)


@pytest.mark.django_db
def test_it_prints_credentials_that_sign_in_through_the_login_view():
    username, password = _credentials(_run())
    assert _signs_in(username, password)
    assert not _signs_in(username, password + "x")


@pytest.mark.django_db
def test_it_creates_nothing_and_prints_no_password_on_a_second_run():
    _, password = _credentials(_run())
    hashed = get_user_model().objects.get().password
    second = _run("--url", "http://127.0.0.1:8000/")
    assert second == ""
    assert "password" not in _run("--verbosity", "2")
    assert list(get_user_model().objects.values_list("password", flat=True)) == [hashed]
    assert _signs_in("admin", password)


@pytest.mark.django_db
def test_it_leaves_existing_users_untouched():
    users = get_user_model()
    users.objects.create_user("ada", password="a long and correct password", is_active=False)
    before = list(users.objects.values())
    assert _run("--username", "ada") == ""
    assert _run() == ""
    assert list(users.objects.values()) == before
    assert not users.objects.filter(username="admin").exists()
