"""The buffering reverse proxy in front of gunicorn: Debian's nginx, with our own configuration.

gunicorn's threaded workers give each connection a thread while they read its request, and a
client that sends its headers or its body slowly keeps that thread as long as it likes: ten such
clients took every thread of `make run` (docs/reliability.md). nginx reads every request whole,
headers within HEADER_TIMEOUT seconds, the body with no pause longer than BODY_TIMEOUT seconds and
no larger than the app's INGEST_MAX_BODY_BYTES (buffered on disk past BODY_BUFFER), and only then
hands it to gunicorn over a unix socket, at memory speed; it buffers the answer the same way, so a
slow reader does not hold a thread either. A slow client costs an nginx connection (a few KiB), not
a gunicorn thread.

Library use (scripts/run.sh through the CLI, the tests and the benchmarks)::

    from scripts.proxy_server import start, stop
    proxy = start(home="var/nginx", port=8000, upstream="unix:/path/to/gunicorn.sock")
    ...
    stop(proxy)

CLI::

    python scripts/proxy_server.py run --home var/nginx --port 8000 --upstream unix:var/run/gunicorn.sock

nginx runs in the foreground (`daemon off`) as the calling user, with its configuration, pid file,
logs and temporary files in --home; it listens on 127.0.0.1 only. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script (scripts/run.sh)
    sys.path.insert(0, str(REPO_ROOT))

from scripts.neo4j_server import terminate  # noqa: E402

HOST = "127.0.0.1"

# Seconds a client may take to send all of its request's headers; then nginx closes the connection.
HEADER_TIMEOUT = 10
# Seconds a client may pause between two reads of its body (nginx bounds the pause, not the whole
# body); then it is answered 408 and closed. The body never reaches gunicorn before it is complete.
BODY_TIMEOUT = 10
# Seconds a client may pause while reading the answer; then nginx closes the connection.
SEND_TIMEOUT = 30
# Seconds an idle kept-alive client connection stays open.
KEEPALIVE_TIMEOUT = 30
# Bodies up to this size are buffered in memory, larger ones in home/tmp/body.
BODY_BUFFER = "1m"
# Seconds nginx keeps an idle connection to gunicorn for reuse; below gunicorn's keep-alive.
UPSTREAM_KEEPALIVE_TIMEOUT = 1
# How long nginx waits for the app's answer (a failure report over a wide range, a large batch).
APP_TIMEOUT = 120
# Connections nginx serves at once (slow clients included); the process may open twice as many
# files (each proxied request has a socket to gunicorn too).
WORKER_CONNECTIONS = 4096


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a normal user's PATH may lack)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def max_body_bytes(env: dict[str, str] | None = None) -> int:
    """The app's own limit (INGEST_MAX_BODY_BYTES), read from its settings with the app's environment
    (`env`, else ours), so that there is one."""
    code = "from django.conf import settings; print(settings.INGEST_MAX_BODY_BYTES)"
    env = dict(os.environ if env is None else env)
    env.setdefault("DJANGO_SETTINGS_MODULE", "mimir_dashboard.settings")
    python = REPO_ROOT / ".venv" / "bin" / "python"
    out = subprocess.run([str(python) if python.exists() else sys.executable, "-c", code], cwd=REPO_ROOT,
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise ProxyStartError(f"could not read INGEST_MAX_BODY_BYTES from the settings:\n{out.stderr[-2000:]}")
    return int(out.stdout.strip())


def render_config(home: Path, port: int, upstream: str, max_body_bytes: int) -> str:
    """nginx.conf for a proxy on 127.0.0.1:port in front of `upstream` (unix:/path or host:port)."""
    tmp = home / "tmp"
    # Only a master started as root switches its workers to another user; keep them ours, so that
    # they may use the socket and the temporary files (a normal user's nginx ignores the directive).
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    too_large = ('{"error": "too_large", "detail": "request body is larger than the limit of '
                 f'{max_body_bytes} bytes", "errors": []}}')
    unavailable = ('{"error": "unavailable", "detail": "the application is not answering; retry later", '
                   '"errors": []}')
    return f"""# Written by scripts/proxy_server.py; every run rewrites it.
daemon off;
master_process on;
worker_processes 1;
{user}
pid {home}/nginx.pid;
error_log stderr warn;
worker_rlimit_nofile {2 * WORKER_CONNECTIONS + 64};

events {{
    worker_connections {WORKER_CONNECTIONS};
}}

http {{
    access_log {home}/access.log combined buffer=64k flush=1s;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    server_tokens off;

    # Slow clients: nginx holds them, never a gunicorn thread.
    client_header_timeout {HEADER_TIMEOUT}s;
    client_body_timeout {BODY_TIMEOUT}s;
    send_timeout {SEND_TIMEOUT}s;
    keepalive_timeout {KEEPALIVE_TIMEOUT}s;
    reset_timedout_connection on;
    client_max_body_size {max_body_bytes};
    client_body_buffer_size {BODY_BUFFER};

    upstream app {{
        server {upstream} fail_timeout=0;
        keepalive 32;
        # Shorter than gunicorn's own keep-alive (2 s): otherwise nginx may send a request on a
        # connection gunicorn is closing, and a POST (never resent by nginx) gets a 502.
        keepalive_timeout {UPSTREAM_KEEPALIVE_TIMEOUT}s;
    }}

    server {{
        listen {HOST}:{port} backlog=2048;

        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_redirect off;
            proxy_connect_timeout 5s;
            proxy_send_timeout {APP_TIMEOUT}s;
            proxy_read_timeout {APP_TIMEOUT}s;
        }}

        # The API's error shape also for what nginx answers itself.
        error_page 413 /_proxy/too-large;
        # `=503`: without it the page would keep nginx's own status (502, 504).
        error_page 502 504 =503 /_proxy/unavailable;
        location = /_proxy/too-large {{
            internal;
            default_type application/json;
            return 413 '{too_large}';
        }}
        location = /_proxy/unavailable {{
            internal;
            default_type application/json;
            add_header Retry-After 5 always;
            return 503 '{unavailable}';
        }}
    }}
}}
"""


class ProxyStartError(RuntimeError):
    """nginx could not be started; the message says why."""


@dataclass
class ProxyServer:
    proc: subprocess.Popen
    home: Path
    port: int
    log_path: Path  # nginx's own messages (its stderr)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.home / "access.log"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def start(home, port: int, upstream: str, *, body_limit: int | None = None,
          app_env: dict[str, str] | None = None, timeout: float = 30.0) -> ProxyServer:
    """Write the configuration into `home` and start nginx; return once it accepts connections on
    127.0.0.1:`port` (raises ProxyStartError otherwise, leaving nothing running). Bodies larger than
    `body_limit` are refused with 413; by default the app's INGEST_MAX_BODY_BYTES (under `app_env`)."""
    nginx = nginx_binary()
    if nginx is None:
        raise ProxyStartError("nginx is not installed: apt-get install nginx (make run does it)")
    if _listening(port):
        raise ProxyStartError(f"port {port} is already in use")
    home = (REPO_ROOT / home).resolve()
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    conf = home / "nginx.conf"
    conf.write_text(render_config(home, port, upstream, body_limit or max_body_bytes(app_env)))
    log_path = home / "nginx.log"
    with open(log_path, "wb") as log:
        check = subprocess.run([nginx, "-t", "-q", "-e", "stderr", "-p", str(home), "-c", str(conf)],
                               stdout=log, stderr=subprocess.STDOUT)
        if check.returncode != 0:
            raise ProxyStartError(f"nginx refused its configuration {conf}:\n{log_path.read_text()[-2000:]}")
        # Its own session: a Ctrl-C in the terminal reaches the script that owns it, which stops it.
        proc = subprocess.Popen([nginx, "-e", "stderr", "-p", str(home), "-c", str(conf)], cwd=home,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = ProxyServer(proc, home, port, log_path)
    deadline = time.monotonic() + timeout
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise ProxyStartError(f"nginx did not start on port {port}:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.05)
    return server


def stop(server: ProxyServer, timeout: float = 10.0) -> int | None:
    """Stop nginx (SIGTERM: its fast shutdown; SIGKILL to the group after `timeout` s). Safe twice."""
    proc = server.proc
    if not terminate(proc, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _run(args) -> int:
    interrupted = []

    def interrupt(signum, frame):
        # Once: a Ctrl-C reaches the whole process group and run.sh sends SIGTERM after it.
        if not interrupted:
            interrupted.append(signum)
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        server = start(args.home, args.port, args.upstream)
    except ProxyStartError as e:
        print(f"PROXY_FAILED: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"PROXY_READY {server.url} -> {args.upstream} (nginx pid {server.proc.pid}, log {server.log_path})",
          flush=True)
    try:
        code = server.proc.wait()
        print(f"PROXY_FAILED: nginx exited with code {code}; see {server.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop(server)
        return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run nginx in the foreground until SIGINT/SIGTERM")
    run.add_argument("--home", default="var/nginx", help="configuration, logs, temporary files (default: %(default)s)")
    run.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    run.add_argument("--upstream", required=True, help="gunicorn's address: unix:/path/to.sock or 127.0.0.1:PORT")
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
