"""Password reset by email: offered only when email is configured (EMAIL_HOST), as the product's own
pages; end to end through a real SMTP server on 127.0.0.1 (form, email, link, new password, sign in);
a mail server that refuses or does not answer is one log line and the usual page, never a 500."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from tests.mail import closed_port, mail_server, silent_server, use_smtp
from tests.production_settings import refused, shown

PASSWORD = "a long and correct password"
NEW_PASSWORD = "quite another long password 42"
RESET_PAGES = ["/accounts/password_reset/", "/accounts/password_reset/done/",
               "/accounts/reset/MQ/set-password/", "/accounts/reset/done/"]


@pytest.fixture
def ada(db):
    return get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)


@pytest.fixture
def smtp(settings):
    with mail_server() as server:
        use_smtp(settings, server.port)
        yield server


def assert_product_page(response, title: str, card: str = "card auth-card") -> str:
    page = response.content.decode()
    assert f"<title>{title} · Mimir Execution Dashboard</title>" in page
    assert 'href="/static/css/app.css"' in page and 'class="topbar"' in page and f'class="{card}"' in page
    assert "Django administration" not in page and "admin/css" not in page and "Traceback" not in page
    return page


def signs_in(client, password: str) -> bool:
    response = client.post("/accounts/login/", {"username": "ada", "password": password})
    signed_in = response.status_code == 302 and "_auth_user_id" in client.session
    client.logout()
    return signed_in


# ---------------------------------------------------------------- email not configured


def test_without_email_the_reset_pages_are_not_found(client, db, settings):
    assert settings.EMAIL_HOST == ""
    for path in RESET_PAGES:
        response = client.get(path)
        assert response.status_code == 404, path
        assert_product_page(response, "Not found", card="card empty")
    assert client.post("/accounts/password_reset/", {"email": "ada@example.com"}).status_code == 404


def test_without_email_the_sign_in_page_says_to_ask_an_admin(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert "password_reset" not in page and "Forgot your password?" in page
    assert "Ask an admin" in page and "manage.py changepassword &lt;username&gt;" in page


# ---------------------------------------------------------------- email configured


def test_with_email_the_sign_in_page_links_to_the_reset(client, db, smtp):
    page = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password_reset/">Forgot your password?</a>' in page
    assert "Ask an admin" not in page


def test_a_password_is_reset_end_to_end_through_a_real_mail_server(client, ada, smtp):
    form = client.get("/accounts/password_reset/")
    assert form.status_code == 200
    assert_product_page(form, "Reset your password")

    response = client.post("/accounts/password_reset/", {"email": "ada@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert_product_page(client.get(response["Location"]), "Check your email")

    [message] = smtp.messages
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Mimir <mimir@dashboard.test>"
    assert message["Subject"] == "Reset your password for the Mimir Execution Dashboard"
    assert message.get_content_type() == "text/plain"
    assert "Hello ada," in message.get_content() and "within 72 hours" in message.get_content()
    link = smtp.link(message)
    assert link.startswith("http://testserver/accounts/reset/")

    # The link: Django moves the token into the session and redirects to a URL without it.
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302 and response["Location"].endswith("/set-password/")
    choose = client.get(response["Location"])
    page = assert_product_page(choose, "Choose a new password")
    assert 'name="new_password1"' in page and 'autocomplete="new-password"' in page

    # Too short and mismatched: the form says so, on the product's page.
    retry = client.post(response["Location"], {"new_password1": "short", "new_password2": "other"})
    assert retry.status_code == 200
    assert 'class="field-error"' in assert_product_page(retry, "Choose a new password")

    done = client.post(response["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    assert_product_page(client.get(done["Location"]), "Password set")

    assert signs_in(client, NEW_PASSWORD)
    assert not signs_in(client, PASSWORD)
    # The link works once.
    again = client.get(urlsplit(link).path, follow=True)
    assert "This link has been used already" in assert_product_page(again, "Link no longer valid")


def test_an_unknown_address_gets_the_same_page_and_no_email(client, ada, smtp):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True)
    assert_product_page(response, "Check your email")
    assert smtp.messages == []


def _reset_with_a_failing_server(client, caplog) -> list[logging.LogRecord]:
    with caplog.at_level(logging.INFO):
        response = client.post("/accounts/password_reset/", {"email": "ada@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert_product_page(client.get(response["Location"]), "Check your email")
    assert not any(r.exc_info for r in caplog.records), "a traceback was logged"
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_refused_connection_is_one_log_line_and_the_usual_page(client, ada, settings, caplog):
    use_smtp(settings, closed_port())
    [record] = _reset_with_a_failing_server(client, caplog)
    assert record.name == "mimir_dashboard.accounts"
    assert f"user id {ada.pk}" in record.getMessage() and "ConnectionRefusedError" in record.getMessage()


def test_a_mail_server_that_does_not_answer_is_one_log_line_after_the_timeout(client, ada, settings, caplog):
    with silent_server() as port:
        use_smtp(settings, port, timeout=1)
        [record] = _reset_with_a_failing_server(client, caplog)
    assert "timed out" in record.getMessage()


def test_a_refused_recipient_is_one_log_line_and_the_usual_page(client, ada, settings, caplog):
    with mail_server(refuse_recipients=True) as server:
        use_smtp(settings, server.port)
        [record] = _reset_with_a_failing_server(client, caplog)
        assert server.messages == []
    assert "SMTPRecipientsRefused" in record.getMessage()


# ---------------------------------------------------------------- password change (signed in)


def test_a_signed_in_user_changes_the_password_on_product_pages(client, ada):
    client.force_login(ada)
    assert_product_page(client.get("/accounts/password_change/"), "Change your password")
    response = client.post("/accounts/password_change/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                          "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
    assert_product_page(client.get(response["Location"]), "Password changed")
    client.logout()
    assert signs_in(client, NEW_PASSWORD)


def test_the_admins_own_password_change_keeps_the_admin_look(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    page = client.get("/admin/password_change/").content.decode()
    assert "Django administration" in page and "Mimir Execution Dashboard</title>" not in page


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"EMAIL_HOST": "smtp.example.com"}, "DEFAULT_FROM_EMAIL"),
        ({"EMAIL_HOST": "smtp.example.com", "DEFAULT_FROM_EMAIL": "mimir"}, "DEFAULT_FROM_EMAIL"),
        ({"EMAIL_PORT": "70000"}, "EMAIL_PORT"),
        ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_SSL"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT"),
    ],
)
def test_it_fails_loudly_on_bad_email_settings(overrides, message):
    assert message in refused(**overrides)


def test_the_email_settings_come_from_the_environment():
    env = {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587", "EMAIL_USE_TLS": "1",
           "DEFAULT_FROM_EMAIL": "mimir@example.com"}
    assert shown("EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL", **env) == [
        "smtp.example.com", "587", "True", "10", "mimir@example.com"]
