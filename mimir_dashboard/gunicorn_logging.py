"""gunicorn's access log at a price the ingest path can afford, and its reader (the benchmarks
count the answers from it)."""

from __future__ import annotations

import time
from pathlib import Path

from gunicorn.glogging import Logger


def _quoted(text: str) -> str:
    # The request line is client text inside quotes: keep one line per request and the quotes balanced.
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _client(environ) -> str:
    # Behind the proxy gunicorn listens on a unix socket, whose peers have no address; there only
    # our nginx can connect, and it names the client in X-Real-IP (scripts/proxy_server.py).
    return environ.get("REMOTE_ADDR") or environ.get("HTTP_X_REAL_IP") or "-"


class AccessLogger(Logger):
    """One fixed-format line per request, e.g.

        127.0.0.1 [25/Nov/2026:03:45:00 +0000] "POST /api/v1/events HTTP/1.1" 200 1234 0.012345

    (client, time, request line, status, body bytes sent, seconds taken). gunicorn's own access()
    builds and escapes an atom for every request header, response header and WSGI environ key
    (about 60) to fill a format that uses five of them: 0.35 ms of CPU per request, an eighth of
    what the app spends on one ingest request (docs/benchmarks.md). `access_log_format` is not read.
    """

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        request_line = _quoted(
            f"{environ['REQUEST_METHOD']} {environ.get('RAW_URI', '')} {environ.get('SERVER_PROTOCOL', '')}"
        )
        try:
            self.access_log.info(
                '%s %s "%s" %s %s %d.%06d',
                _client(environ), time.strftime("[%d/%b/%Y:%H:%M:%S %z]"), request_line,
                status, "-" if sent is None else sent, request_time.seconds, request_time.microseconds,
            )
        except Exception:  # noqa: BLE001 - as gunicorn's own access(): a log line must never fail a request
            self.exception("access log line could not be written")


def count_statuses(log_path: Path) -> dict[int, int]:
    """How many requests each HTTP status answered, read from an access log that AccessLogger wrote
    (other lines, such as gunicorn's own messages, are skipped)."""
    counts: dict[int, int] = {}
    for line in Path(log_path).read_text(errors="replace").splitlines():
        parts = line.rsplit('" ', 1)
        if len(parts) != 2:
            continue
        fields = parts[1].split()
        if fields and fields[0].isdigit():
            code = int(fields[0])
            counts[code] = counts.get(code, 0) + 1
    return counts
