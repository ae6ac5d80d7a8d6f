"""Running the app as production does, for the tests that start a real server process."""

from __future__ import annotations

import os
from pathlib import Path

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
