"""A real HTTP receiver on 127.0.0.1 for alert deliveries: a threaded http.server that records
every request's raw body and headers and answers scripted statuses (then 200)."""

from __future__ import annotations

import collections
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self):
        self.requests: list[Received] = []
        self._script: collections.deque[tuple[int, dict[str, str], bytes]] = collections.deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    status, headers, answer = receiver._script.popleft() if receiver._script else (200, {}, b"ok")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet: the test reads `requests`
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, name="alert-receiver", daemon=True)

    def answer(self, *statuses: int, headers: dict[str, str] | None = None, body: bytes = b"scripted") -> None:
        """The next requests get these statuses, in order (then 200)."""
        with self._lock:
            self._script.extend((s, headers or {}, body) for s in statuses)

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.headers["X-Mimir-Event-Id"] for r in self.requests]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@contextmanager
def receiver():
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()
