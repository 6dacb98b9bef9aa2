"""A local HTTP fake of Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

It answers as Twilio documents: HTTP Basic auth with the account SID and auth
token (401 and error 20003 otherwise), form-encoded ``To``/``From``/``Body``,
201 with the Message resource as JSON (``sid`` ``SM…``, ``status`` ``queued``),
and errors as ``{"code", "message", "more_info", "status"}``. Twilio's magic
test numbers behave as in its test credentials: ``+15005550001`` is invalid
(21211), ``+15005550009`` cannot receive SMS (21614). ``fail_next(status)``
answers the next request with a server error.

The SDK is pointed at it through ``TWILIO_API_BASE`` (``client.api.base_url``).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "a" * 32
INVALID_NUMBER = "+15005550001"
NOT_SMS_CAPABLE = "+15005550009"
_ERRORS = {
    INVALID_NUMBER: (21211, "The 'To' number {to} is not a valid phone number."),
    NOT_SMS_CAPABLE: (21614, "'To' number {to} is not a mobile number"),
}


@dataclass
class FakeTwilio:
    port: int = 0
    accounts: dict[str, str] = field(default_factory=lambda: {ACCOUNT_SID: AUTH_TOKEN})
    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _fail: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, status: int = 500) -> None:
        self._fail.append(status)


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            auth = self.headers.get("Authorization", "")
            with fake.lock:
                fake.requests.append({"path": self.path, "form": form, "auth": auth})
                failing = fake._fail.pop(0) if fake._fail else None
            if failing is not None:
                self._answer(failing, _error(failing, 20500, "Internal Server Error"))
                return
            parts = self.path.split("/")
            # /2010-04-01/Accounts/{sid}/Messages.json
            if len(parts) != 5 or parts[1] != "2010-04-01" or parts[4] != "Messages.json":
                self._answer(404, _error(404, 20404, "The requested resource was not found"))
                return
            sid = parts[3]
            try:
                user, _sep, password = (
                    base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
                )
            except ValueError:
                user = password = ""
            if user != sid or fake.accounts.get(sid) != password:
                self._answer(401, _error(401, 20003, "Authenticate"))
                return
            to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not to:
                self._answer(400, _error(400, 21604, "A 'To' phone number is required."))
                return
            if to in _ERRORS:
                code, message = _ERRORS[to]
                self._answer(400, _error(400, code, message.format(to=to)))
                return
            if not body:
                self._answer(400, _error(400, 21602, "Message body is required."))
                return
            now = formatdate(usegmt=True).replace("GMT", "+0000")
            message_sid = "SM" + secrets.token_hex(16)
            resource = {
                "account_sid": sid,
                "api_version": "2010-04-01",
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": str(max(1, -(-len(body) // 153))),
                "price": None,
                "price_unit": "USD",
                "sid": message_sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media.json"
                },
                "to": to,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            }
            with fake.lock:
                fake.messages.append(resource)
            self._answer(201, resource)

    return Handler


@contextmanager
def running() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
