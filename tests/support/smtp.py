"""A real local SMTP server (aiosmtpd) for email tests.

``smtp_server(settings)`` starts it on a free port, points Django's SMTP
backend at it and yields it; ``server.messages`` are the received emails,
parsed (``email.message.EmailMessage``), in arrival order. Addresses in
``refuse`` are rejected at RCPT (550), as a real server rejects an unknown
mailbox; ``hold`` makes the server wait before answering DATA (a slow server,
to kill a worker mid-send).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    hold: threading.Event | None = None
    data_started: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.server.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        self.server.data_started.set()
        if self.server.hold is not None:
            while not self.server.hold.is_set():
                await asyncio.sleep(0.05)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.messages.append(parsed)  # type: ignore[arg-type]
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(_Handler(server), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        if server.hold is not None:
            server.hold.set()
        controller.stop()


@contextmanager
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """Start the server and send Django's email to it over SMTP."""
    with running_smtp() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10
        yield server
