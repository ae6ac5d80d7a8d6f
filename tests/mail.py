"""A real SMTP server (aiosmtpd) on 127.0.0.1, on a port the OS picks, in a thread of its own: the
app's SMTP backend talks to it over TCP as it would to a real one."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP


class MailServer:
    def __init__(self, *, refuse_recipients: bool = False):
        self.refuse_recipients = refuse_recipients
        self.messages: list[EmailMessage] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smtp-test-server", daemon=True)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted"

    def start(self) -> MailServer:
        self._thread.start()
        create = self._loop.create_server(lambda: SMTP(self, hostname="mail.test"), "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(create, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _close(self) -> None:
        self._server.close()  # in the loop's own thread: asyncio's Server is not thread-safe
        await self._server.wait_closed()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def link(self, message: EmailMessage) -> str:
        """The one http(s) link in a message's text."""
        links = re.findall(r"https?://\S+", message.get_content())
        assert len(links) == 1, links
        return links[0]


@contextmanager
def mail_server(**kwargs):
    server = MailServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def silent_server():
    """Accepts connections (the kernel completes them from the backlog) and never says a word."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
        yield listener.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on: connecting is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def use_smtp(settings, port: int, *, timeout: int = 5) -> None:
    """Email configured as in production (the SMTP backend; pytest-django installs locmem)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = timeout
    settings.DEFAULT_FROM_EMAIL = "Mimir <mimir@dashboard.test>"
