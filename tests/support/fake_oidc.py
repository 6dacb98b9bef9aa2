"""A local OpenID Connect provider, standing in for Google in tests.

A small threaded HTTP server that speaks the real protocol: discovery
(``/.well-known/openid-configuration``), the authorization endpoint (it
"consents" at once for ``user`` and redirects back with a code), the token
endpoint (checks the client's id and secret, the redirect URI and the PKCE
verifier against the S256 challenge, then issues an id_token) and the JWKS.
The id_token is a real RS256 JWT, signed here with ``cryptography`` (not with
PyJWT, which the code under test verifies it with).

Knobs: ``user`` (the claims of whoever "signs in": email, email_verified),
``nonce_override`` (issue a token with another nonce), ``issued`` (codes
handed out), ``token_requests`` (bodies the token endpoint received).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _int_b64(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class FakeOidcProvider:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.user: dict[str, Any] = {"email": "", "email_verified": True, "sub": "1"}
        self.nonce_override: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base

    @property
    def settings(self) -> dict[str, str]:
        """What ``settings.GOOGLE_OIDC`` is set to, to use this provider."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
        }

    def id_token(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _int_b64(numbers.n),
                    "e": _int_b64(numbers.e),
                }
            ]
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            **fake.settings,
                            "response_types_supported": ["code"],
                            "code_challenge_methods_supported": ["S256"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                        },
                    )
                elif url.path == "/jwks":
                    self._json(200, fake.jwks())
                elif url.path == "/authorize":
                    query = dict(parse_qsl(url.query))
                    if query.get("client_id") != fake.client_id or (
                        query.get("code_challenge_method") != "S256"
                    ):
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    fake.codes[code] = {**query, "user": dict(fake.user)}
                    target = f"{query['redirect_uri']}?" + urlencode(
                        {"code": code, "state": query.get("state", "")}
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                size = int(self.headers.get("Content-Length") or 0)
                body = dict(parse_qsl(self.rfile.read(size).decode()))
                fake.token_requests.append(body)
                grant = fake.codes.pop(body.get("code", ""), None)
                if (
                    grant is None
                    or body.get("client_id") != fake.client_id
                    or body.get("client_secret") != fake.client_secret
                    or body.get("redirect_uri") != grant["redirect_uri"]
                ):
                    self._json(400, {"error": "invalid_grant"})
                    return
                challenge = _b64url(hashlib.sha256(body.get("code_verifier", "").encode()).digest())
                if challenge != grant.get("code_challenge"):
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                    return
                now = int(time.time())
                claims = {
                    "iss": fake.issuer,
                    "aud": fake.client_id,
                    "azp": fake.client_id,
                    "iat": now,
                    "exp": now + 3600,
                    "nonce": fake.nonce_override or grant.get("nonce", ""),
                    **grant["user"],
                }
                self._json(
                    200,
                    {
                        "access_token": secrets.token_urlsafe(16),
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "id_token": fake.id_token(claims),
                    },
                )

        return Handler

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_fake_oidc(
    client_id: str = "ciclo-test.apps.googleusercontent.com",
    client_secret: str = "fake-google-secret",  # noqa: S107  # a test fixture's secret
) -> Iterator[FakeOidcProvider]:
    fake = FakeOidcProvider(client_id, client_secret)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
