"""The settings as a production process reads them: manage.py in a fresh process with production's
variables (tests.test_security._deploy_env) plus the ones a test gives."""

from __future__ import annotations

import subprocess
import sys

from tests.test_security import REPO, _deploy_env


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=_deploy_env(**env),
                          capture_output=True, text=True, timeout=120)


def refused(**env: str) -> str:
    """What `manage.py check` says on stderr as it refuses to start with these variables."""
    result = manage("check", **env)
    assert result.returncode != 0, result.stdout
    return result.stderr


def shown(*names: str, **env: str) -> list[str]:
    """The values of these settings, as text, in a process started with these variables."""
    code = f"from django.conf import settings as s; print(*(getattr(s, n) for n in {names!r}))"
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()
