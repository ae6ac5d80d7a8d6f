"""Security headers, sign-in on every page, and a production configuration that passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

REPO = Path(__file__).resolve().parent.parent

PAGES = [
    reverse("executions:list"),
    reverse("executions:plans"),
    reverse("executions:failure_report"),
    reverse("executions:failure_report_csv"),
    "/executions/some-id",
    "/executions/some-id/tasks/some-task",
    "/executions/some-id/poll?version=1",
    "/plans/some-plan",
]


@pytest.mark.parametrize("path", PAGES)
def test_it_sends_every_page_to_sign_in_first(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_sends_a_strict_content_security_policy_and_security_headers(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_it_has_no_inline_scripts_or_styles_in_templates():
    offenders = []
    for template in (REPO / "templates").rglob("*.html"):
        text = template.read_text()
        if "<script>" in text or "<script >" in text or " style=" in text or "<style" in text or " on" + "click=" in text:
            offenders.append(template.name)
    assert offenders == []


def test_it_refuses_csrf_less_form_posts(client, django_user_model):
    from django.test import Client

    django_user_model.objects.create_user("u", password="a long and correct password")
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "u", "password": "a long and correct password"})
    assert response.status_code == 403


def _deploy_env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SECRET_KEY="x" * 20 + "-production-secret-that-is-long-and-random-0123456789",
        DJANGO_ALLOWED_HOSTS="dashboard.example.com",
        DJANGO_ENV="production",
        DJANGO_HTTPS="1",
        MIMIR_VAR_DIR=str(REPO / "var" / "deploy-check"),
    )
    env.update(overrides)
    return env


@pytest.mark.slow  # a manage.py process
def test_it_passes_check_deploy_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=_deploy_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow  # a manage.py process each
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"NEO4J_BOLT_URL": "http://localhost:7474"}, "NEO4J_BOLT_URL"),
        ({"INGEST_MAX_BODY_BYTES": "lots"}, "INGEST_MAX_BODY_BYTES"),
    ],
)
def test_it_fails_loudly_on_bad_configuration(overrides, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=_deploy_env(**overrides),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_it_sends_an_expired_htmx_poll_to_sign_in_as_a_whole_page(client):
    response = client.get("/executions/e1/poll?version=3", HTTP_HX_REQUEST="true",
                          HTTP_HX_CURRENT_URL="http://testserver/executions/e1")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fexecutions%2Fe1"
    # Without htmx it stays an ordinary redirect.
    assert client.get("/executions/e1").status_code == 302
