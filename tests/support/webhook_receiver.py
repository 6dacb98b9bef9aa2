"""A merchant's webhook receiver, in the test process: a real threaded HTTP server
that checks every request with the official ``standardwebhooks`` library.

It can be up, down (its socket closed: connection refused), answer with an
error status, or hold requests until released (to kill a sender mid-request).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int
    error: str = ""
    payload: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Receiver:
    secret: str = ""
    answer: int = 200
    port: int = 0
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ciclo"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(timeout=60)
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    verified, error = True, ""
                except WebhookVerificationError as exc:
                    payload, verified, error = None, False, str(exc)
                status = receiver.answer if verified else 400
                with receiver._lock:
                    receiver.received.append(
                        Received(headers, body, verified, status, error, payload)
                    )
                reply = json.dumps({"ok": verified, "error": error}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until ``start()`` again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- what arrived

    def accepted(self) -> list[Received]:
        """Requests that passed verification and were answered 2xx."""
        with self._lock:
            return [r for r in self.received if r.verified and 200 <= r.answered < 300]

    def accepted_ids(self) -> Counter[str]:
        return Counter(r.id for r in self.accepted())

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.stop()
