"""One settings module, driven by the environment.

Bad configuration fails at start-up with a message naming the variable, rather than
surfacing later as a confusing runtime error.

DJANGO_ENV says where it runs. `development` (the default, for a checkout) finds by itself what
`make run` uses, so that every manage.py command works in any shell beside it: the secret key kept
in var/dev-secret-key (created on first use), the hosts 127.0.0.1 and localhost, and the Neo4j that
`make run` started (var/dev-neo4j-url). `production` reads nothing from var/ for them: the secret
key and the allowed hosts must be given, or the app does not start. The development defaults are
safe ones (a random key per checkout, never a shared constant; loopback host names only; DEBUG
off), so a server started without DJANGO_ENV=production is refused by every public host name
rather than open; `manage.py check --deploy` warns about it too (mimir_dashboard/checks.py).
"""

import ipaddress
import os
import secrets
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MIMIR_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}")
    return value


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (CIDR), e.g. "127.0.0.1,10.0.0.0/8"."""
    networks = []
    for item in _env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks (CIDR), got {item!r}") from None
    return tuple(networks)


def _neo4j_url(raw: str) -> str:
    """Validate the Bolt URL; neomodel insists on user:pass, so supply a dummy pair when auth is off."""
    parts = urlsplit(raw)
    if parts.scheme not in {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}:
        raise ImproperlyConfigured(f"NEO4J_BOLT_URL must be a bolt:// or neo4j:// URL, got {raw!r}")
    if not parts.hostname:
        raise ImproperlyConfigured(f"NEO4J_BOLT_URL has no host: {raw!r}")
    if "@" not in parts.netloc:
        parts = parts._replace(netloc=f"neo4j:neo4j@{parts.netloc}")
    return urlunsplit(parts)


def _dev_secret_key(path: Path) -> str:
    """The checkout's own key: read, or created once (0600). Concurrent first users (gunicorn's
    workers, a manage.py command) agree on one: the file appears complete or not at all."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(draft, path)  # fails if another process was first; theirs is kept
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it and a new key is made")
    return key


ENVIRONMENTS = ("development", "production")
ENVIRONMENT = os.environ.get("DJANGO_ENV", "") or "development"
if ENVIRONMENT not in ENVIRONMENTS:
    raise ImproperlyConfigured(f"DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}, got {os.environ['DJANGO_ENV']!r}")
PRODUCTION = ENVIRONMENT == "production"
# Running under pytest: the test suite supplies its own Neo4j and needs no secrets; it never reads
# (or creates) the development files in var/.
TESTING = "PYTEST_VERSION" in os.environ
DEV_FILES = not PRODUCTION and not TESTING
DEV_SECRET_KEY_FILE = VAR_DIR / "dev-secret-key"
# What `make run` started (scripts/run.sh writes it), e.g. on another NEO4J_PORT.
DEV_NEO4J_URL_FILE = VAR_DIR / "dev-neo4j-url"

DEBUG = _env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set (required with DJANGO_ENV=production)")
    SECRET_KEY = "insecure-test-key" if TESTING else _dev_secret_key(DEV_SECRET_KEY_FILE)

ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is empty (required with DJANGO_ENV=production); "
        "list the host names the app is served under"
    )
if TESTING:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

_neo4j_default = "bolt://neo4j:neo4j@127.0.0.1:7687"
if DEV_FILES and DEV_NEO4J_URL_FILE.is_file():
    _neo4j_default = DEV_NEO4J_URL_FILE.read_text().strip() or _neo4j_default
NEO4J_BOLT_URL = _neo4j_url(os.environ.get("NEO4J_BOLT_URL", "") or _neo4j_default)

# How large an ingest request may be (outputs of megabytes are real); larger gets 413.
INGEST_MAX_BODY_BYTES = _env_int("INGEST_MAX_BODY_BYTES", 32 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES
# Bytes of request bodies under /api/ larger than inflight.UNCOUNTED_BYTES that one process parses
# and writes to Neo4j at once (executions.inflight): by default one body of the largest size, or
# several smaller ones (docs/reliability.md, "Memory"). A request waits for its share in arrival
# order, at most INGEST_IN_FLIGHT_WAIT_SECONDS, else it is answered 503 with Retry-After. One body
# larger than the budget is admitted alone.
INGEST_IN_FLIGHT_MAX_BYTES = _env_int("INGEST_IN_FLIGHT_MAX_BYTES", INGEST_MAX_BODY_BYTES, minimum=1024)
INGEST_IN_FLIGHT_WAIT_SECONDS = _env_int("INGEST_IN_FLIGHT_WAIT_SECONDS", 10, minimum=1)
# Task results posted one per request that arrive while a write is in Neo4j are written together,
# at most this many per statement (executions.services.GroupCommit); 1 writes each on its own.
INGEST_GROUP_COMMIT_MAX = _env_int("INGEST_GROUP_COMMIT_MAX", 64, minimum=1)
# ... and at most this many bytes (the sum of their request bodies) per statement; a larger result
# is written on its own.
INGEST_GROUP_COMMIT_MAX_BYTES = _env_int("INGEST_GROUP_COMMIT_MAX_BYTES", 8 * 1024 * 1024, minimum=1024)
# A batch (POST /api/v1/events) larger than this many bytes of body is written in consecutive parts
# of about this size, one transaction each (executions.services.ingest.events_apply).
INGEST_BATCH_PART_MAX_BYTES = _env_int("INGEST_BATCH_PART_MAX_BYTES", 8 * 1024 * 1024, minimum=1024)
# An execution with no news for this long while running is shown as stale.
EXECUTION_STALE_AFTER_SECONDS = _env_int("EXECUTION_STALE_AFTER_SECONDS", 900, minimum=1)
# Alerts (the `alerts` app, docs/alerts.md). The dashboard's public address, for the links in alerts.
ALERT_DASHBOARD_URL = os.environ.get("ALERT_DASHBOARD_URL", "").strip().rstrip("/") or "http://127.0.0.1:8000"
# A channel is disabled after this many failed attempts in a row (re-enabled by hand).
ALERT_CHANNEL_MAX_FAILURES = _env_int("ALERT_CHANNEL_MAX_FAILURES", 5, minimum=1)
# A delivery is given up ("dead") after this many attempts.
ALERT_DELIVERY_MAX_ATTEMPTS = _env_int("ALERT_DELIVERY_MAX_ATTEMPTS", 10, minimum=1)
# Retry delays: exponential from the first, capped, with jitter (alerts.services.delivery.backoff_ms).
ALERT_RETRY_FIRST_SECONDS = _env_int("ALERT_RETRY_FIRST_SECONDS", 10, minimum=1)
ALERT_RETRY_MAX_SECONDS = _env_int("ALERT_RETRY_MAX_SECONDS", 3600, minimum=1)
# Seconds one HTTP delivery may take (connect and read each).
ALERT_SEND_TIMEOUT_SECONDS = _env_int("ALERT_SEND_TIMEOUT_SECONDS", 10, minimum=1)
# How long a worker's claim on a delivery lasts: a worker killed mid-send leaves it for another
# after this. Longer than a send may take, so a live worker never loses its claim.
ALERT_CLAIM_LEASE_SECONDS = _env_int("ALERT_CLAIM_LEASE_SECONDS", 60, minimum=1)
# How far back each detection pass reads again (a write is stamped with its receive time before it
# commits, so a slow commit can land behind the cursor); re-reading is harmless, alerts are unique.
ALERT_DETECT_OVERLAP_SECONDS = _env_int("ALERT_DETECT_OVERLAP_SECONDS", 60, minimum=0)
# The worker's pause between passes when it found nothing to send.
ALERT_POLL_SECONDS = _env_int("ALERT_POLL_SECONDS", 2, minimum=1)
# Retention (manage.py prune_executions, docs/operations.md): no transaction deletes more nodes
# than this. The alert worker prunes once a day, executions first known more than
# PRUNE_OLDER_THAN_DAYS days ago (empty: it never prunes), keeping failed ones with PRUNE_KEEP_FAILED.
PRUNE_BATCH_NODES = _env_int("PRUNE_BATCH_NODES", 5000, minimum=1)
PRUNE_OLDER_THAN_DAYS = _env_int("PRUNE_OLDER_THAN_DAYS", 0, minimum=1) or None
PRUNE_KEEP_FAILED = _env_bool("PRUNE_KEEP_FAILED", False)
# Statements one page may have Neo4j run at once for it (the failure report's sections, which are
# independent reads): 1 runs them one after the other. Shared by all requests of a process.
NEO4J_READ_CONCURRENCY = _env_int("NEO4J_READ_CONCURRENCY", 6, minimum=1)
# Seconds a client is told to wait when Neo4j is unreachable (503 Retry-After).
NEO4J_RETRY_AFTER_SECONDS = _env_int("NEO4J_RETRY_AFTER_SECONDS", 5, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",  # for its vendored Swagger UI (static/ninja/), served by /api/v1/docs
    "axes",  # sign-in throttling (below)
    "executions",
    "alerts",
]

MIDDLEWARE = [
    # First: counts every API answer, those of the middleware below included (executions.metrics).
    "executions.middleware.ApiMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "executions.middleware.ApiJsonErrorsMiddleware",
    "executions.middleware.IngestBodyBudgetMiddleware",
    "executions.middleware.CachedPolicyCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "executions.middleware.HtmxLoginRedirectMiddleware",
    "executions.middleware.DatabaseUnavailableMiddleware",
    # Last, as axes requires: turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mimir_dashboard.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mimir_dashboard.wsgi.application"

# Django's own tables (users, sessions, ingest tokens, alert rules and their outbox). Execution
# telemetry lives only in Neo4j.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Several processes write here (gunicorn's workers, `manage.py deliver_alerts`): a transaction
    # takes the write lock when it begins (IMMEDIATE), so one that reads then writes never fails on
    # upgrading its lock, and waits up to `timeout` seconds for another writer instead of failing.
    # Write-ahead log: readers (every ingest request checks its token) never wait for a writer, and
    # a commit appends to the log without an fsync (synchronous=NORMAL; a power cut may undo the
    # last commits, never corrupt the file): the alert worker's commit per delivery was its cost.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE", timeout=20, init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The standalone axes backend only refuses sign-ins while locked out; ModelBackend signs in and
# is the one a session (and the test client's force_login) records.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in throttling (django-axes), for /accounts/login/ and /admin/login/ alike. Failures are
# counted per username (from any address: guessing one account) and per address (across usernames:
# spraying many); either reaching the limit within the cool-off pauses sign-in for that username or
# that address, the right password included, until the cool-off has passed since the last counted
# failure. Attempts while paused are refused without being counted, so the page can say when the
# pause ends. A successful sign-in clears the failures of that username from that address (the
# user's own typos), not the address's failures against other usernames.
SIGNIN_FAILURE_LIMIT = _env_int("SIGNIN_FAILURE_LIMIT", 10, minimum=1)
SIGNIN_COOLOFF_MINUTES = _env_int("SIGNIN_COOLOFF_MINUTES", 15, minimum=1)
# How many reverse proxies in front of the app append to X-Forwarded-For. 0: the address is the
# connection's (REMOTE_ADDR) and the header, which any client can write, is ignored.
TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# GET /metrics (Prometheus) answers a bearer token with the read scope, or a client (its address
# found as for sign-in, through TRUSTED_PROXY_COUNT proxies) within one of these addresses or
# networks, comma-separated (e.g. "127.0.0.1,10.0.0.0/8"). Empty: a token is needed.
METRICS_ALLOWED_IPS = _env_networks("METRICS_ALLOWED_IPS")
AXES_FAILURE_LIMIT = SIGNIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "mimir_dashboard.accounts.SignInAttempts"
AXES_CLIENT_IP_CALLABLE = "mimir_dashboard.accounts.client_ip"
AXES_LOCKOUT_CALLABLE = "mimir_dashboard.accounts.lockout_response"
AXES_VERBOSE = False  # no banner on every manage.py command; failures and lockouts are still logged

# Email, for password reset only. Configured means EMAIL_HOST is set: then the reset pages are
# offered (mimir_dashboard/accounts.py); without it they answer 404 and the sign-in page says to ask
# an admin. A mail server that refuses or does not answer within EMAIL_TIMEOUT seconds is logged,
# one line, and the user sees the same "if that address has an account" page as always.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_PORT = _env_int("EMAIL_PORT", 25, minimum=1)
if EMAIL_PORT > 65535:
    raise ImproperlyConfigured(f"EMAIL_PORT must be a TCP port (1-65535), got {EMAIL_PORT}")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", False)  # TLS from the start, usually port 465
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one of them")
EMAIL_TIMEOUT = _env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "").strip()
if EMAIL_HOST and "@" not in parseaddr(DEFAULT_FROM_EMAIL)[1]:
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL must be the sender's address (e.g. 'Mimir <mimir@example.com>') when EMAIL_HOST is set, "
        f"got {DEFAULT_FROM_EMAIL!r}"
    )

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "executions:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from here once collectstatic has run
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# WhiteNoise reads the headers of every collected file when its middleware is made: once per
# process in production, but once per test client under pytest (each loads the middleware): in a
# checkout where collectstatic has run, most of the quick tier's Python time. In a test run it
# looks files up when asked instead; what it serves is the same.
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security headers. HTTPS-only settings follow DJANGO_HTTPS so that plain-HTTP local runs work.
HTTPS = _env_bool("DJANGO_HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from our own static files: untrusted LLM text that slipped through
# escaping still could not run. htmx is configured (base.html) to need neither eval nor inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
# Database sessions, read by one fixed SQL statement (mimir_dashboard/sessions.py).
SESSION_ENGINE = "mimir_dashboard.sessions"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "neo4j": {"level": "WARNING"},
        # Neo4j notes every read of a property no node has yet (optional fields such as
        # qcRoleDescription) as a warning notification: noise, one log line per query.
        "neo4j.notifications": {"level": "ERROR"},
        "neomodel": {"level": "WARNING"},
        # Each failure and each lockout is a warning; INFO adds several lines per sign-in.
        "axes": {"level": "WARNING"},
    },
}
