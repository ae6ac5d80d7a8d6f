"""A throw-away PostgreSQL cluster for tests: Debian's server (scripts/system_packages.sh test
installs it), initialised in a temporary folder, listening on a unix socket there and on 127.0.0.1
at a free port, trust authentication, stopped and deleted at the end.

PostgreSQL refuses to run as root (CI runs as root): then the cluster runs as the `postgres` system
user that Debian's package creates, and its folder is handed to that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "mimir"
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here: the message says what to install."""


def server_bin() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb, pg_ctl and postgres."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [d for d in found if (d / "pg_ctl").exists() and (d / "postgres").exists()]
    if not found:
        raise PostgresUnavailable(
            "no PostgreSQL server in /usr/lib/postgresql/*/bin: install Debian's 'postgresql' "
            "(scripts/system_packages.sh test does)"
        )
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresCluster:
    """A running cluster: `url(database)` for a client, `create_database(name)`, `stop()`."""

    home: Path
    port: int
    bin: Path
    run_as: str | None  # a system user to run the server as (we are root), or None: ourselves

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "socket"

    def url(self, database: str) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
        result = subprocess.run(
            list(args), user=self.run_as, cwd=self.home, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stdout}{result.stderr}")
        return result

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        # Durability is not what the tests are about; fsync off makes each migration's commit cheap.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.socket_dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "server.log"),
                  "-o", options, "-w", "-t", str(START_TIMEOUT_SECONDS), "start")
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER],
                capture_output=True, stdin=subprocess.DEVNULL, check=False,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL not ready on port {self.port}: {self.log_tail()}")
            time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` (letters, digits and _ only); its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"a database name of letters, digits and _, got {name!r}")
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, lines: int = 30) -> str:
        log = self.home / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            # fast: rolls back open sessions and stops at once (a test may leave a connection open).
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.home, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """A new cluster in a fresh temporary folder, started; the caller stops it."""
    bin_dir = server_bin()
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run PostgreSQL as "
                                      "(Debian's postgresql package creates it)") from None
        run_as = "postgres"
    # Short path: a unix socket's path is limited to about 100 bytes.
    home = Path(tempfile.mkdtemp(prefix="mimir-pg-"))
    (home / "socket").mkdir()
    if run_as:
        user = pwd.getpwnam(run_as)
        for path in (home, home / "socket"):
            os.chown(path, user.pw_uid, user.pw_gid)
    cluster = PostgresCluster(home=home, port=_free_port(), bin=bin_dir, run_as=run_as)
    try:
        cluster.start()
    except BaseException as exc:
        log = cluster.log_tail()
        with contextlib.suppress(Exception):
            cluster.stop()
        raise RuntimeError(f"PostgreSQL did not start: {exc}\n{log}") from exc
    return cluster
