"""gunicorn as production runs it (mimir_dashboard/gunicorn_conf.py): its access log."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from bench import harness

LINE = re.compile(r'^127\.0\.0\.1 \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "(?P<request>.*)" (?P<status>\d{3}) '
                  r'(?P<sent>\d+|-) (?P<seconds>\d+\.\d{6})$')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def gunicorn(neo4j_url, tmp_path):
    port = _free_port()
    env = harness.app_env("test-gunicorn", neo4j_url)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(harness.VENV_BIN / "gunicorn"), "-c", "python:mimir_dashboard.gunicorn_conf",
             "mimir_dashboard.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "2"],
            cwd=harness.REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if _get(url + "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            yield url, log_path
        finally:
            proc.terminate()
            proc.wait(20)


def test_it_logs_one_line_per_request_with_status_size_and_time(gunicorn):
    url, log_path = gunicorn
    statuses = {path: _get(url + path)[0] for path in ("/healthz", "/no-such-page")}
    # A raw request line with a quote and a backslash in it: the server keeps it as the client sent it.
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as s:
        s.sendall(b'GET /healthz?q="quoted"\\x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
        raw_status = int(s.recv(100).split()[1])

    time.sleep(0.3)  # the worker writes its line after the response
    lines = [m for m in map(LINE.match, log_path.read_text().splitlines()) if m]
    requests = [m["request"] for m in lines]
    assert "GET /healthz HTTP/1.1" in requests
    assert "GET /no-such-page HTTP/1.1" in requests
    # Quotes and backslashes in the request line are escaped, so the line still parses.
    assert 'GET /healthz?q=\\"quoted\\"\\\\x HTTP/1.1' in requests
    by_request = {m["request"]: m for m in lines}
    assert int(by_request["GET /no-such-page HTTP/1.1"]["status"]) == statuses["/no-such-page"] != 200
    assert int(by_request['GET /healthz?q=\\"quoted\\"\\\\x HTTP/1.1']["status"]) == raw_status == 200
    assert int(by_request["GET /no-such-page HTTP/1.1"]["sent"]) > 0
    # The benchmarks count the answers from this log.
    counts = harness.access_log_statuses(log_path)
    assert counts[200] == sum(1 for m in lines if m["status"] == "200")
    assert counts[statuses["/no-such-page"]] >= 1
