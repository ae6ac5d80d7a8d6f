"""Running the app as production does, for the tests that start a real server process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def production_env(bolt_url: str, *, database_url: str) -> dict[str, str]:
    """The environment of a production-like app process: DEBUG off, this test's Neo4j and SQLite."""
    env = dict(os.environ)
    env.update(
        NEO4J_BOLT_URL=bolt_url,
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="mimir_dashboard.settings",
        DJANGO_SECRET_KEY="test-only-secret-key-of-a-production-like-process",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_DEBUG="0",
    )
    env.pop("PYTEST_VERSION", None)  # the settings would take the process for a test run
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=10).status_code == 200
    except requests.ConnectionError:
        return False


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log_path: Path, *, workers: int = 1, threads: int = 2) -> Iterator[str]:
    """gunicorn with the production config (mimir_dashboard/gunicorn_conf.py) on a free port of
    127.0.0.1, in the environment `env`, logging to `log_path`; its URL once /healthz answers 200.
    Stopped (SIGTERM, gunicorn's graceful shutdown) on leaving."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:mimir_dashboard.gunicorn_conf",
             "mimir_dashboard.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(workers),
             "--threads", str(threads)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url), timeout=60, alive=proc, what=log_path.read_text)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`manage.py ARGS` in its own process with `env`; its stdout (fails with its output otherwise)."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, f"manage.py {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result.stdout


def create_user(env: dict[str, str], username: str, password: str) -> None:
    """A dashboard user in the app's Django database, as an operator creates one."""
    manage({**env, "DJANGO_SUPERUSER_PASSWORD": password}, "createsuperuser", "--noinput",
           "--username", username, "--email", f"{username}@example.com")


def sign_in(base: str, username: str, password: str) -> requests.Session:
    """A browser-like session signed in through the real form (CSRF token from its cookie)."""
    browser = requests.Session()
    assert browser.get(f"{base}/accounts/login/", timeout=30).status_code == 200
    answer = browser.post(f"{base}/accounts/login/", allow_redirects=False, timeout=30,
                          data={"username": username, "password": password,
                                "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert answer.status_code == 302, answer.text[:2000]
    return browser
