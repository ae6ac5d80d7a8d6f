"""A small HTTP proxy in front of the live server that answers chosen requests badly and forwards
the others, so that a client's retries meet real sockets and a real server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class Proxy:
    """`script`: how the first requests are treated, in order: "forward"; "503" (answered 503 with
    Retry-After: 1, not forwarded); "lost" (forwarded, then answered 503 as if the answer were
    lost: the server did the work). Later requests are forwarded, or answered 503 while `down`."""

    def __init__(self, upstream: str, script: list[str] | None = None):
        self.upstream = upstream.rstrip("/")
        self.script = list(script or [])
        self.down = False
        self.seen: list[str] = []  # "METHOD /path" of every request
        self.answered: list[int] = []  # the status the client got for each
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _action(self, method: str, path: str) -> str:
        with self._lock:
            self.seen.append(f"{method} {path}")
            if self.script:
                return self.script.pop(0)
            return "503" if self.down else "forward"

    def _record(self, status: int) -> None:
        with self._lock:
            self.answered.append(status)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                proxy._record(status)  # before the client can read it and the test look
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _unavailable(self) -> None:
                body = json.dumps({"error": "unavailable", "detail": "proxy says 503", "errors": []}).encode()
                self._answer(503, body, {"Content-Type": "application/json", "Retry-After": "1"})

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = proxy._action(self.command, self.path)
                if action == "503":
                    return self._unavailable()
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type",
                                                                                   "accept")}
                upstream = requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers,
                                            timeout=60)
                if action == "lost":
                    return self._unavailable()
                self._answer(upstream.status_code, upstream.content,
                             {"Content-Type": upstream.headers.get("Content-Type", "application/json")})

            do_GET = do_POST = do_PUT = _handle

        return Handler

    @contextmanager
    def running(self) -> Iterator[Proxy]:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()
