"""Shared helpers for the benchmark and load scripts: a fresh Neo4j, the app under gunicorn, tokens.

Everything is a context manager that tears down what it started, also on Ctrl-C or SIGTERM
(call `install_signal_handlers()` first in a script's main so SIGTERM/SIGHUP take the same path
as Ctrl-C). Neo4j is started with `--exit-on-stdin-eof` (scripts/neo4j_server.py), and gunicorn
runs in its own process group that is terminated (then killed) on exit, so nothing is orphaned.

Only 127.0.0.1 is ever targeted.

    with neo4j_server("throughput", port=7695) as bolt_url:          # or NEO4J_BOLT_URL=... to reuse one
        with app_server("throughput", bolt_url, port=8094) as app:   # migrate, install_schema, token, gunicorn
            requests.get(app.url + "/healthz")
            app.token                                              # a fresh ingest token
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP raise KeyboardInterrupt, so every `finally` (teardown) runs as for Ctrl-C."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def check_local_url(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"refusing to target {url!r}: benchmarks only run against 127.0.0.1")


# ---------------------------------------------------------------- Neo4j


@dataclass
class Neo4jHandle:
    """A Neo4j we started (restartable on the same data dir) or an external one (handle is None)."""

    bolt_url: str
    home: Path | None
    port: int | None
    heap: str = "1g"
    server: object = None  # scripts.neo4j_server.Neo4jServer
    tx_memory: dict = field(default_factory=dict)  # tx_memory_max / tx_memory_total_max, if not the defaults

    @property
    def external(self) -> bool:
        return self.home is None

    @property
    def uri(self) -> str:
        parts = urlsplit(self.bolt_url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 7687}"

    def stop(self) -> int | None:
        """Stop it cleanly (SIGTERM via scripts.neo4j_server.stop); returns the JVM's exit code."""
        from scripts.neo4j_server import stop

        if self.server is None:
            return None
        code = stop(self.server)
        self.server = None
        return code

    def restart(self) -> float:
        """Start it again on the same data dir and port; returns the start-up seconds."""
        from scripts.neo4j_server import start

        if self.external:
            raise RuntimeError("cannot restart an external Neo4j")
        if self.server is not None:
            self.stop()
        # The old JVM may hold the port for a moment after exiting.
        deadline = time.monotonic() + 30
        while True:
            try:
                self.server = start(home=self.home, port=self.port, heap=self.heap, **self.tx_memory)
                return self.server.startup_seconds
            except Exception as exc:  # PortInUseError while the socket is released
                if "already in use" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@contextlib.contextmanager
def neo4j_server(name: str, port: int = 7695, heap: str = "1g", fresh: bool = True,
                 tx_memory_max: str | None = None, tx_memory_total_max: str | None = None) -> Iterator[Neo4jHandle]:
    """A fresh Neo4j with its data in var/bench-<name>-neo4j on `port`, unless NEO4J_BOLT_URL is set
    (then that one is used as is, and never stopped; note that the scripts add data to it). The
    transaction memory limits default to scripts/neo4j_server.py's fractions of the heap ("0": none)."""
    external = os.environ.get("NEO4J_BOLT_URL")
    if external:
        check_local_url(external)
        url = external if "@" in urlsplit(external).netloc else external.replace("://", "://neo4j:neo4j@", 1)
        log(f"using external Neo4j {url}")
        yield Neo4jHandle(bolt_url=url, home=None, port=None)
        return
    from scripts.neo4j_server import ensure_jars, start

    ensure_jars()
    home = REPO / "var" / f"bench-{name}-neo4j"
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    tx_memory = {k: v for k, v in (("tx_memory_max", tx_memory_max), ("tx_memory_total_max", tx_memory_total_max)) if v}
    log(f"starting Neo4j on 127.0.0.1:{port} (data in {home.relative_to(REPO)}, heap {heap}"
        + "".join(f", {k} {v}" for k, v in tx_memory.items()) + ") ...")
    server = start(home=home, port=port, heap=heap, **tx_memory)
    log(f"Neo4j ready in {server.startup_seconds:.1f} s")
    handle = Neo4jHandle(bolt_url=server.bolt_url, home=home, port=port, heap=heap, server=server, tx_memory=tx_memory)
    try:
        yield handle
    finally:
        handle.stop()
        log("Neo4j stopped")


# ---------------------------------------------------------------- the app under gunicorn


@dataclass
class AppServer:
    url: str
    token: str
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)


DASHBOARD_USER, DASHBOARD_PASSWORD = "bench", "bench-password-1234"


def login(session, base_url: str, username: str = DASHBOARD_USER, password: str = DASHBOARD_PASSWORD) -> bool:
    """Sign a requests.Session in through /accounts/login/ (CSRF cookie + form); True on success."""
    import re as _re

    page = session.get(base_url + "/accounts/login/", timeout=30)
    match = _re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not match:
        return False
    r = session.post(base_url + "/accounts/login/", timeout=30, allow_redirects=False,
                     data={"username": username, "password": password, "csrfmiddlewaretoken": match.group(1), "next": "/"},
                     headers={"Referer": base_url + "/accounts/login/"})
    return r.status_code == 302 and "sessionid" in session.cookies


def app_env(name: str, bolt_url: str, port: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEO4J_BOLT_URL=bolt_url,
        DJANGO_SECRET_KEY="bench",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{REPO / 'var' / f'bench-{name}.sqlite3'}",
        DJANGO_SETTINGS_MODULE="mimir_dashboard.settings",
        DJANGO_ENV="production",
        DJANGO_DEBUG="0",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    env.pop("PYTEST_VERSION", None)  # not a test run: production settings
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def prepare_app(name: str, bolt_url: str) -> tuple[dict[str, str], str]:
    """A fresh SQLite (users, tokens), the graph schema and a new ingest token."""
    sqlite = REPO / "var" / f"bench-{name}.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(sqlite) + suffix).unlink()
    env = app_env(name, bolt_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "install_schema")
    manage(env, "collectstatic", "--noinput", "-v", "0")  # as scripts/run.sh does: DEBUG is off
    token = manage(env, "create_ingest_token", f"bench-{name}-{int(time.time())}").strip()
    # A dashboard user, for scripts that look at pages.
    manage(env, "shell", "-c", "from django.contrib.auth.models import User; "
           f"User.objects.create_user({DASHBOARD_USER!r}, password={DASHBOARD_PASSWORD!r})")
    return env, token


def terminate_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def app_server(
    name: str, bolt_url: str, port: int = 8094, workers: int = 2, threads: int = 8, timeout: float = 60,
    extra_env: dict[str, str] | None = None, proxy: bool = False,
) -> Iterator[AppServer]:
    """Migrate, install the schema, create a token and serve the app with gunicorn on 127.0.0.1:port
    (`extra_env`: more environment for the app, e.g. its settings). With `proxy`, as `make run`
    serves it: nginx (scripts/proxy_server.py) on 127.0.0.1:port, gunicorn behind it on a unix socket
    (`extra["proxy"]` is the ProxyServer, with its access log)."""
    with app_hosts(name, bolt_url, hosts=1, port=port, workers=workers, threads=threads, timeout=timeout,
                   extra_env=extra_env, proxy=proxy) as apps:
        yield apps[0]


@contextlib.contextmanager
def app_hosts(
    name: str, bolt_url: str, *, hosts: int, port: int = 8094, workers: int = 2, threads: int = 8,
    timeout: float = 60, extra_env: dict[str, str] | None = None, proxy: bool = False,
) -> Iterator[list[AppServer]]:
    """As app_server, `hosts` times on ports port, port + 1, ...: separate gunicorn processes (each
    behind its own nginx with `proxy`) against the one Neo4j, sharing one Django database and
    secret key, as app hosts behind a load balancer would. Migrated and given a token once."""
    from scripts.neo4j_server import port_in_use

    for p in range(port, port + hosts):
        if port_in_use(p):
            raise SystemExit(f"port {p} is in use; pass another --app-port")
    env, token = prepare_app(name, bolt_url)
    if proxy:
        env["TRUSTED_PROXY_COUNT"] = "1"  # as scripts/run.sh: the client's address comes from nginx
    env.update(extra_env or {})
    with contextlib.ExitStack() as stack:
        apps = [stack.enter_context(_serve(name if i == 0 else f"{name}-h{i}", env, token, port + i, workers=workers,
                                           threads=threads, timeout=timeout, proxy=proxy))
                for i in range(hosts)]
        yield apps


@contextlib.contextmanager
def _serve(name: str, env: dict[str, str], token: str, port: int, *, workers: int, threads: int, timeout: float,
           proxy: bool) -> Iterator[AppServer]:
    """One gunicorn (behind nginx with `proxy`) for a prepared app, until /healthz answers 200."""
    import tempfile

    import requests

    from scripts import proxy_server

    log_path = REPO / "var" / f"bench-{name}-gunicorn.log"
    log_file = open(log_path, "wb")
    # A unix socket's path must be short (108 bytes): a fresh directory of its own under /tmp.
    socket_dir = tempfile.mkdtemp(prefix="mimir-bench-") if proxy else None
    bind = f"unix:{socket_dir}/gunicorn.sock" if proxy else f"{HOST}:{port}"
    cmd = [
        # The production settings (worker class, access log): mimir_dashboard/gunicorn_conf.py.
        str(VENV_BIN / "gunicorn"), "-c", "python:mimir_dashboard.gunicorn_conf", "mimir_dashboard.wsgi:application",
        "-b", bind, "-w", str(workers), "--threads", str(threads),
        "--timeout", "120", "--graceful-timeout", "10",
    ]
    extra: dict = {}
    proc = None
    try:
        if proxy:
            extra["proxy"] = proxy_server.start(REPO / "var" / f"bench-{name}-nginx", port, bind, app_env=env)
            log(f"nginx on {HOST}:{port} in front of gunicorn on {bind}")
        log(f"starting gunicorn on {bind} (-w {workers} --threads {threads}), log {log_path.relative_to(REPO)}")
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not healthy within {timeout:.0f} s; see {log_path}")
            time.sleep(0.2)
        log(f"gunicorn healthy on {url}")
        yield AppServer(url=url, token=token, env=env, proc=proc, log_path=log_path, extra=extra)
    finally:
        if "proxy" in extra:
            proxy_server.stop(extra["proxy"])
            log("nginx stopped")
        if proc is not None:
            terminate_group(proc)
        log_file.close()
        if socket_dir:
            shutil.rmtree(socket_dir, ignore_errors=True)
        log("gunicorn stopped")


# ---------------------------------------------------------------- a lean HTTP client


class KeepAliveConnection:
    """One keep-alive socket and its response parser (httptools, the C parser uvicorn uses).

    A measuring client shares the two cores with the server it measures, so it should cost as
    little as it can: this costs a third of the CPU per request of http.client (whose header parsing
    goes through email.parser) and a sixth of a requests.Session's."""

    def __init__(self, host: str, port: int, timeout: float):
        import httptools

        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.complete = False

    # httptools callbacks
    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.complete = True

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.body, self.complete = [], False
        self.sock.sendall(request)
        while not self.complete:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection before it answered")
            self.parser.feed_data(data)
        return self.parser.get_status_code(), b"".join(self.body)

    def close(self) -> None:
        self.sock.close()


class LeanGets:
    """GETs of one app over one keep-alive connection (KeepAliveConnection), sending the cookies a
    signed-in requests.Session holds (`session`, optional) and `headers`. gunicorn closes a
    connection idle for its keep-alive time (2 s): a GET that finds it closed before any answer
    arrived is sent once more on a new one (GETs are safe to repeat)."""

    def __init__(self, base_url: str, session=None, timeout: float = 60):
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies) if session is not None else ""
        self.head = f"Host: {self.host}:{self.port}\r\n" + (f"Cookie: {cookies}\r\n" if cookies else "")
        self.conn: KeepAliveConnection | None = None

    def encode(self, path: str, headers: dict[str, str] | None = None) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        return f"GET {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode()

    def get(self, request: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = KeepAliveConnection(self.host, self.port, self.timeout)
            try:
                return self.conn.exchange(request)
            except (ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- direct driver access


def driver(bolt_url: str, max_pool: int = 64):
    """A neo4j driver for the given neomodel-style URL (user:pass@ is ignored: auth is off)."""
    from neo4j import GraphDatabase

    parts = urlsplit(bolt_url)
    auth = (parts.username or "neo4j", parts.password or "neo4j")
    return GraphDatabase.driver(f"{parts.scheme}://{parts.hostname}:{parts.port}", auth=auth,
                                max_connection_pool_size=max_pool)
