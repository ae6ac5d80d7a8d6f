"""Run an embedded Neo4j (Community 5.26, see neo4j/) for development and tests, without Docker.

Library use (tests)::

    from scripts.neo4j_server import ensure_jars, start, stop
    ensure_jars()
    server = start("var/neo4j-test", 7699)   # returns once Bolt answers
    ...  # server.bolt_url == "bolt://neo4j:neo4j@127.0.0.1:7699" (neomodel wants user:pass)
    stop(server)

CLI::

    python scripts/neo4j_server.py fetch                                  # only download the jars
    python scripts/neo4j_server.py run --home var/neo4j-dev --port 7687   # foreground until Ctrl-C
    python scripts/neo4j_server.py stop-kept                              # stop the servers start_kept left

`start_kept` (the quick test tier, `make test-fast`) starts one that outlives its caller, or finds the
one an earlier call left on that port, so that a re-run skips the JVM's start-up and warm-up.

Only the standard library is needed, plus the ``neo4j`` driver for the readiness check in start().
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import fcntl
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
POM = REPO_ROOT / "neo4j" / "pom.xml"
LAUNCHER = REPO_ROOT / "neo4j" / "Launcher.java"
LIB_DIR = REPO_ROOT / "var" / "neo4j-lib"
# Holds the Neo4j version the jars belong to. A fetch writes it, then moves the finished directory
# into place, so an interrupted fetch is never mistaken for a complete one.
MARKER = LIB_DIR / ".neo4j-version"
HOST = "127.0.0.1"

# The flags the stock neo4j.conf passes to the JVM; Neo4j's page cache and Netty use these internals.
JVM_FLAGS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    # Die instead of limping along (and hanging tests) when the heap is exhausted.
    "-XX:+ExitOnOutOfMemoryError",
]


# A test server (`start(for_tests=True)`) plans each statement once: not again because the
# statistics moved (every test empties the graph, so they always had; at most once in ten years),
# not again to compile its expressions, not once per size of its list and string parameters
# (neo4j/Launcher.java says more). Planning was most of Neo4j's CPU in the quick test tier.
FOR_TESTS_FLAGS = ["--cypher-min-replan-interval-seconds", str(10 * 365 * 24 * 3600),
                   "--cypher-expression-engine", "interpreted", "--cypher-size-hint-parameters", "false"]
# A serial GC spends no concurrent threads on a heap this small (G1's cost ~10 s CPU per run).
FOR_TESTS_JVM_FLAGS = ["-XX:+UseSerialGC"]

_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def parse_bytes(size: str) -> int:
    """A JVM-style size ("512m", "1g", "65536") in bytes."""
    text = str(size).strip().lower()
    unit = _UNITS.get(text[-1:], 1)
    number = text[:-1] if unit > 1 else text
    if not number.isdigit():
        raise ValueError(f"not a size: {size!r} (e.g. 512m, 1g)")
    return int(number) * unit


# Of the heap, what one transaction may use (db.memory.transaction.max) and all running
# transactions together (dbms.memory.transaction.total.max): the rest is Neo4j's own (caches, Bolt
# buffers, the query's parameters as they arrive, garbage not collected yet). Chosen so that one
# transaction holds a task result with an output of INGEST_MAX_BODY_BYTES and all of them two such
# at once (one per worker process, the in-flight budget's default): docs/reliability.md, "Memory".
TX_MEMORY_MAX_OF_HEAP = 0.3
TX_MEMORY_TOTAL_MAX_OF_HEAP = 0.6


def transaction_memory_limits(heap: str) -> tuple[str, str]:
    """(db.memory.transaction.max, dbms.memory.transaction.total.max) for a heap, as sizes in KiB."""
    heap_bytes = parse_bytes(heap)
    return (f"{int(heap_bytes * TX_MEMORY_MAX_OF_HEAP) // 1024}k",
            f"{int(heap_bytes * TX_MEMORY_TOTAL_MAX_OF_HEAP) // 1024}k")


class Neo4jStartError(RuntimeError):
    """Neo4j could not be started; the message says why (including the launcher's last output)."""


class PortInUseError(Neo4jStartError):
    """Something already listens on the Bolt port (the CLI exits with code 2)."""


def pinned_version() -> str:
    """The org.neo4j:neo4j version from neo4j/pom.xml, the single place where it is pinned."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    for dep in ET.parse(POM).getroot().iterfind("m:dependencies/m:dependency", ns):  # noqa: S314 - our own pom.xml
        if dep.findtext("m:groupId", namespaces=ns) == "org.neo4j" and dep.findtext(
            "m:artifactId", namespaces=ns
        ) == "neo4j":
            return dep.findtext("m:version", namespaces=ns).strip()
    raise RuntimeError(f"no org.neo4j:neo4j dependency in {POM}")


def _jars_current(version: str) -> bool:
    return MARKER.is_file() and MARKER.read_text().strip() == version


def ensure_jars() -> Path:
    """Make sure var/neo4j-lib/ holds the jars of the pinned Neo4j version; return the directory.

    Fetching goes into a fresh directory that replaces the old one only when complete: copying a new
    version over an old one would leave two versions of every jar on the class path. A lock file makes
    concurrent callers (parallel test workers, make -j) wait for one fetch instead of racing.
    """
    version = pinned_version()
    if _jars_current(version):
        return LIB_DIR
    LIB_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(LIB_DIR.parent / "neo4j-lib.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _jars_current(version):  # someone else fetched while we waited
            return LIB_DIR
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("mvn not found: install Maven (apt-get install maven) to fetch Neo4j")
        tmp = LIB_DIR.with_name("neo4j-lib.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"fetching Neo4j {version} jars into {LIB_DIR} ...", file=sys.stderr)
        # Maven caches artifacts in ~/.m2, so only the first fetch of a version downloads anything.
        result = subprocess.run(
            [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if result.returncode != 0 or not any(tmp.glob("neo4j-*.jar")):
            tail = "\n".join(result.stdout.strip().splitlines()[-20:])
            raise RuntimeError(f"fetching the Neo4j jars failed (mvn exit {result.returncode}):\n{tail}")
        (tmp / MARKER.name).write_text(version + "\n")
        shutil.rmtree(LIB_DIR, ignore_errors=True)
        tmp.rename(LIB_DIR)
    return LIB_DIR


def port_in_use(port: int) -> bool:
    # SO_REUSEADDR as a server would set it: leftover TIME_WAIT sockets from a previous run do not
    # block the port, while a live listener (on 127.0.0.1 or 0.0.0.0) still makes bind() fail.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


@dataclass
class Neo4jServer:
    """Handle returned by start(); pass it to stop()."""

    proc: subprocess.Popen
    home: Path
    port: int
    log_path: Path  # the launcher's stderr; Neo4j's own logs are in home/logs/
    startup_seconds: float = 0.0
    _log_file: object = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return f"bolt://{HOST}:{self.port}"

    @property
    def bolt_url(self) -> str:
        # neomodel's URL parser insists on user:password even though auth is disabled.
        return f"bolt://neo4j:neo4j@{HOST}:{self.port}"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(collections.deque(f, maxlen=lines)).rstrip()
    except OSError:
        return ""


def start(home, port: int, heap: str = "1g", pagecache: str = "256m",
          timeout: float = 120.0, tx_memory_max: str | None = None,
          tx_memory_total_max: str | None = None, for_tests: bool = False) -> Neo4jServer:
    """Start Neo4j with its data in `home`, Bolt on 127.0.0.1:`port`; return once it answers Bolt.

    The transaction memory limits default to fractions of the heap (see `transaction_memory_limits`).
    `for_tests`: settings for a test server that spends its life planning and running many small
    statements on a tiny graph (FOR_TESTS_JVM_FLAGS, FOR_TESTS_FLAGS).

    Raises PortInUseError at once if the port is taken, Neo4jStartError if the launcher fails or is not
    ready within `timeout` seconds (the child is killed first, so nothing is left running).
    """
    port = int(port)
    if port_in_use(port):
        raise PortInUseError(f"port {port} is already in use")
    lib = ensure_jars()
    home = (REPO_ROOT / home).resolve()  # relative paths are relative to the repo root
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "launcher.log"
    log_file = open(log_path, "wb")  # per run, so failures are not confused with older ones
    java = shutil.which("java") or "/usr/bin/java"
    default_max, default_total = transaction_memory_limits(heap)
    cmd = [java, f"-Xmx{heap}", *JVM_FLAGS, *(FOR_TESTS_JVM_FLAGS if for_tests else []),
           "-cp", f"{lib}/*", str(LAUNCHER),
           "--home", str(home), "--port", str(port), "--pagecache", pagecache,
           "--tx-memory-max", tx_memory_max or default_max,
           "--tx-memory-total-max", tx_memory_total_max or default_total,
           *(FOR_TESTS_FLAGS if for_tests else []),
           # The launcher shuts down when this pipe closes, i.e. when we die without calling stop().
           "--exit-on-stdin-eof"]
    began = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
        # Own session/process group: a Ctrl-C in the terminal reaches only us, and we stop Neo4j
        # in order instead of the JVM racing our own shutdown.
        start_new_session=True,
    )
    server = Neo4jServer(proc, home, port, log_path, _log_file=log_file)
    try:
        _wait_until_ready(server, began + timeout, timeout)
    except BaseException:  # Ctrl-C or a bug while waiting: leave nothing running
        if proc.poll() is None:
            _kill(server)
        raise
    server.startup_seconds = time.monotonic() - began
    return server


def _give_up(server: Neo4jServer, reason: str):
    _kill(server)
    raise Neo4jStartError(
        f"Neo4j on port {server.port} failed to start: {reason}\n"
        f"--- last lines of {server.log_path} ---\n{_tail(server.log_path)}\n"
        f"(Neo4j's own log: {server.home / 'logs' / 'debug.log'})"
    )


def _wait_until_ready(server: Neo4jServer, deadline: float, timeout: float) -> None:
    proc = server.proc
    # 1. Wait for the launcher's single stdout line. select() with a deadline, because a plain
    #    readline() would block forever if the JVM hangs.
    out = b""
    while b"\n" not in out:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _give_up(server, f"no NEO4J_READY line within {timeout:.0f} s")
        ready, _, _ = select.select([proc.stdout], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:  # EOF: the launcher exited
                proc.wait()
                # Lost a race for the port since our own check: report it as such.
                if "NEO4J_FAILED: port" in _tail(server.log_path, 3):
                    _kill(server)
                    raise PortInUseError(f"port {server.port} is already in use")
                _give_up(server, f"launcher exited with code {proc.returncode}")
            out += chunk
    if not out.startswith(b"NEO4J_READY"):
        _give_up(server, f"unexpected launcher output {out!r}")

    # 2. The launcher saw the database available; check that Bolt really serves queries too.
    from neo4j import GraphDatabase  # imported here so `fetch` works without the driver

    last_error = None
    with GraphDatabase.driver(server.uri, auth=("neo4j", "neo4j"), connection_timeout=2) as driver:
        while True:
            try:
                driver.verify_connectivity()
                break
            except Exception as e:  # noqa: BLE001 - ServiceUnavailable etc. while Bolt comes up
                last_error = e
            if proc.poll() is not None:
                _give_up(server, f"launcher exited with code {proc.returncode}")
            if time.monotonic() > deadline:
                _give_up(server, f"Bolt did not answer within {timeout:.0f} s: {last_error}")
            time.sleep(0.2)


def _kill(server: Neo4jServer) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    _close(server)


def _close(server: Neo4jServer) -> None:
    for f in (server.proc.stdin, server.proc.stdout, server._log_file):
        with contextlib.suppress(Exception):
            f.close()


def terminate(proc: subprocess.Popen, timeout: float) -> bool:
    """SIGTERM a child (if it still runs) and wait up to `timeout` s: whether it has exited."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
    return True


def stop(server: Neo4jServer, timeout: float = 30.0) -> int:
    """Stop Neo4j cleanly (SIGTERM runs the launcher's shutdown hook); SIGKILL after `timeout` s.

    Returns the JVM's exit code (143 = stopped by SIGTERM, the normal case). Safe to call twice.
    """
    proc = server.proc
    if not terminate(proc, timeout):
        print(f"Neo4j (pid {proc.pid}) did not stop within {timeout:.0f} s; killing it",
              file=sys.stderr)
        _kill(server)
    _close(server)
    return proc.returncode


def _run(args) -> int:
    # Turn SIGTERM/SIGHUP into the same exception as Ctrl-C, so a signal during start-up or while
    # running takes one path that leaves no JVM behind. (Set explicitly: a shell starts background
    # jobs with SIGINT ignored.)
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    try:
        server = start(args.home, args.port, heap=args.heap, pagecache=args.pagecache,
                       timeout=args.timeout, tx_memory_max=args.tx_memory_max,
                       tx_memory_total_max=args.tx_memory_total_max, for_tests=args.for_tests)
    except PortInUseError as e:
        print(f"NEO4J_FAILED: {e}", file=sys.stderr)
        return 2
    except Neo4jStartError as e:
        print(f"NEO4J_FAILED: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # start() already killed the half-started JVM
        return 130

    print(f"NEO4J_READY {server.uri} (home {server.home}, started in {server.startup_seconds:.1f} s, "
          f"pid {server.proc.pid})", flush=True)
    try:
        code = server.proc.wait()
        print(f"NEO4J_FAILED: Neo4j exited unexpectedly with code {code}; "
              f"see {server.log_path} and {server.home}/logs/debug.log", file=sys.stderr)
        _close(server)
        return 1
    except KeyboardInterrupt:
        # Further signals must not interrupt the shutdown itself.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        print("stopping Neo4j ...", file=sys.stderr, flush=True)
        stop(server)
        print("Neo4j stopped", file=sys.stderr, flush=True)
        return 0


def _kept_files(port: int) -> tuple[Path, Path, Path]:
    """(home, pid file, log) of the kept server on `port`."""
    var = REPO_ROOT / "var"
    return var / f"neo4j-kept-{port}", var / f"neo4j-kept-{port}.pid", var / f"neo4j-kept-{port}.log"


def _kept_options_file(port: int) -> Path:
    # The options the kept server on `port` was started with: another run that asks for others gets
    # a server started with those, not the old one.
    return REPO_ROOT / "var" / f"neo4j-kept-{port}.options"


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_kept(port: int, heap: str = "1g", timeout: float = 120.0, for_tests: bool = False) -> tuple[str, bool]:
    """A Neo4j on `port` that keeps running after this process exits: (bolt URL, whether it was
    already running). It is this script's `run` in a session of its own, so it stops cleanly on
    SIGTERM (`stop_kept`). One running with other options (`heap`, `for_tests`; see `start`) is
    stopped and started again with these. Raises PortInUseError if something else holds the port."""
    port = int(port)
    home, pid_file, log_path = _kept_files(port)
    url = f"bolt://neo4j:neo4j@{HOST}:{port}"
    options_file = _kept_options_file(port)
    options = f"heap={heap} for_tests={for_tests} {FOR_TESTS_JVM_FLAGS} {FOR_TESTS_FLAGS}"
    if _alive(pid_file) and port_in_use(port):
        if options_file.is_file() and options_file.read_text() == options:
            return url, True
        stop_kept([port])
    if port_in_use(port):
        raise PortInUseError(f"port {port} is already in use (not by a kept test Neo4j)")
    ensure_jars()
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "run", "--home", str(home), "--port", str(port),
             "--heap", heap, "--timeout", str(timeout), *(["--for-tests"] if for_tests else [])],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    options_file.write_text(options)
    deadline = time.monotonic() + timeout + 10
    while b"NEO4J_READY" not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            pid_file.unlink(missing_ok=True)
            raise Neo4jStartError(f"kept Neo4j on port {port} did not start:\n{_tail(log_path)}")
        time.sleep(0.2)
    return url, False


def stop_kept(ports: list[int] | None = None, timeout: float = 40.0) -> list[int]:
    """Stop the kept servers on `ports`, by default every one (SIGTERM; `run` then stops its JVM
    cleanly): the ports of those that were running."""
    stopped = []
    for pid_file in sorted((REPO_ROOT / "var").glob("neo4j-kept-*.pid")):
        port = int(pid_file.stem.removeprefix("neo4j-kept-"))
        if ports is not None and port not in ports:
            continue
        pid = _alive(pid_file)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid_file) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid_file):
                os.killpg(pid, signal.SIGKILL)
            stopped.append(port)
        pid_file.unlink(missing_ok=True)
        _kept_options_file(port).unlink(missing_ok=True)
        shutil.rmtree(_kept_files(port)[0], ignore_errors=True)
    return stopped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the Neo4j jars into var/neo4j-lib if needed")
    run = sub.add_parser("run", help="run Neo4j in the foreground until SIGINT/SIGTERM")
    run.add_argument("--home", default="var/neo4j-dev", help="data/log directory (default: %(default)s)")
    run.add_argument("--port", type=int, default=7687, help="Bolt port (default: %(default)s)")
    run.add_argument("--heap", default="1g", help="JVM -Xmx (default: %(default)s)")
    run.add_argument("--pagecache", default="256m", help="page cache size (default: %(default)s)")
    run.add_argument("--tx-memory-max", help="memory one transaction may use (default: 30 %% of the heap)")
    run.add_argument("--tx-memory-total-max", help="memory all transactions may use (default: 60 %% of the heap)")
    run.add_argument("--timeout", type=float, default=120.0, help="start-up timeout in seconds")
    run.add_argument("--for-tests", action="store_true",
                     help="settings for a test server: each statement planned once, serial GC")
    sub.add_parser("stop-kept", help="stop the test servers that start_kept left running (make stop-test-neo4j)")
    args = parser.parse_args(argv)
    try:
        if args.command == "stop-kept":
            ports = stop_kept()
            print(f"stopped the kept test Neo4j on port {', '.join(map(str, ports))}" if ports
                  else "no kept test Neo4j was running")
            return 0
        if args.command == "fetch":
            print(ensure_jars())
            return 0
        return _run(args)
    except RuntimeError as e:  # mvn missing or failing
        print(f"NEO4J_FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
