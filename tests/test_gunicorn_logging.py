"""gunicorn as production runs it (mimir_dashboard/gunicorn_conf.py): its access log."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest
import requests

from mimir_dashboard.gunicorn_logging import count_statuses
from tests.support.servers import REPO, production_env
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # a gunicorn process

LINE = re.compile(r'^127\.0\.0\.1 \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "(?P<request>.*)" (?P<status>\d{3}) '
                  r'(?P<sent>\d+|-) (?P<seconds>\d+\.\d{6})$')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    return requests.get(url, timeout=10).status_code


def _healthy(url: str) -> bool:
    try:
        return _get(url + "/healthz") == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def gunicorn(neo4j_url, tmp_path):
    port = _free_port()
    env = production_env(neo4j_url, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:mimir_dashboard.gunicorn_conf",
             "mimir_dashboard.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "2"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _healthy(url), timeout=30, alive=proc, what=lambda: log_path.read_text())
            yield url, log_path
        finally:
            proc.terminate()
            proc.wait(20)


def test_it_logs_one_line_per_request_with_status_size_and_time(gunicorn):
    url, log_path = gunicorn
    statuses = {path: _get(url + path) for path in ("/healthz", "/no-such-page")}
    # A raw request line with a quote and a backslash in it: the server keeps it as the client sent it.
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as s:
        s.sendall(b'GET /healthz?q="quoted"\\x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
        raw_status = int(s.recv(100).split()[1])

    def logged():
        return [m for m in map(LINE.match, log_path.read_text().splitlines()) if m]

    # The worker writes a request's line after its response: wait for the lines of the last two.
    raw_line = 'GET /healthz?q=\\"quoted\\"\\\\x HTTP/1.1'
    wait_until(lambda: {raw_line, "GET /no-such-page HTTP/1.1"} <= {m["request"] for m in logged()}, timeout=10,
               what=lambda: log_path.read_text())
    lines = logged()
    request_lines = [m["request"] for m in lines]
    assert "GET /healthz HTTP/1.1" in request_lines
    assert "GET /no-such-page HTTP/1.1" in request_lines
    # Quotes and backslashes in the request line are escaped, so the line still parses.
    assert raw_line in request_lines
    by_request = {m["request"]: m for m in lines}
    assert int(by_request["GET /no-such-page HTTP/1.1"]["status"]) == statuses["/no-such-page"] != 200
    assert int(by_request['GET /healthz?q=\\"quoted\\"\\\\x HTTP/1.1']["status"]) == raw_status == 200
    assert int(by_request["GET /no-such-page HTTP/1.1"]["sent"]) > 0
    # The benchmarks count the answers from this log.
    counts = count_statuses(log_path)
    assert counts[200] == sum(1 for m in lines if m["status"] == "200")
    assert counts[statuses["/no-such-page"]] >= 1
