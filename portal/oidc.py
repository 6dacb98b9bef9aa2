""" "Continue with Google" in one merchant's portal: the OpenID Connect
authorization-code flow with PKCE, written here rather than taken from
allauth's ``socialaccount``.

Why not allauth: its social login signs in Django ``User`` rows (staff) through
one global callback and one global app per provider, while a portal subscriber
is a ``Customer`` row of ONE tenant, and each merchant brings its own Google
client (id and secret, the secret encrypted with ``core.secrets`` like gateway
credentials). So the flow is per tenant (``/t/<slug>/sign-in/google/...``) and
ends in ``portal_sign_in`` like every other way in.

The flow: ``begin`` keeps a random ``state``, ``nonce`` and PKCE verifier in
the browser's session and sends the browser to the provider; ``complete``
checks the state, trades the code (with the verifier and the client secret)
for an id_token, verifies its RS256 signature against the provider's JWKS with
PyJWT (issuer, audience = this tenant's client id, expiry), checks the nonce,
and returns the verified email. Only an ``email_verified`` email of a customer
of THIS tenant signs in; every refusal gets the same neutral answer.

The provider's endpoints are in ``settings.GOOGLE_OIDC`` (Google's by
default); with a ``discovery_url`` they are read from the provider's
``.well-known/openid-configuration`` instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from django.conf import settings

from tenants.models import Tenant
from tenants.services import google_client_secret

SESSION_KEY = "portal_google_flow"
FLOW_TTL = 10 * 60  # seconds a started flow may take
HTTP_TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock skew tolerated on exp/iat


class OidcRefused(Exception):
    """The flow did not prove a verified email; ``reason`` is for the audit log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


_lock = threading.Lock()
_discovered: dict[str, Provider] = {}
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def provider() -> Provider:
    conf: dict[str, str] = dict(settings.GOOGLE_OIDC)
    discovery_url = conf.get("discovery_url", "")
    if not discovery_url:
        return Provider(
            issuer=conf["issuer"],
            authorization_endpoint=conf["authorization_endpoint"],
            token_endpoint=conf["token_endpoint"],
            jwks_uri=conf["jwks_uri"],
        )
    with _lock:
        if discovery_url in _discovered:
            return _discovered[discovery_url]
    doc = httpx.get(discovery_url, timeout=HTTP_TIMEOUT).raise_for_status().json()
    if conf.get("issuer") and doc.get("issuer") != conf["issuer"]:
        raise OidcRefused("discovery issuer differs from the configured one")
    found = Provider(
        issuer=str(doc["issuer"]),
        authorization_endpoint=str(doc["authorization_endpoint"]),
        token_endpoint=str(doc["token_endpoint"]),
        jwks_uri=str(doc["jwks_uri"]),
    )
    with _lock:
        _discovered[discovery_url] = found
    return found


def google_configured(tenant: Tenant) -> bool:
    return bool(tenant.google_client_id and tenant.google_client_secret_encrypted)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def begin(*, tenant: Tenant, session: Any, redirect_uri: str, now_ts: float) -> str:
    """Start a flow: remember its secrets in ``session``, return the provider URL."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    session[SESSION_KEY] = {
        "tenant": tenant.pk,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "started": now_ts,
    }
    query = urlencode(
        {
            "response_type": "code",
            "client_id": tenant.google_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
    )
    return f"{provider().authorization_endpoint}?{query}"


def _jwks_client(uri: str) -> jwt.PyJWKClient:
    with _lock:
        client = _jwks_clients.get(uri)
        if client is None:
            client = _jwks_clients[uri] = jwt.PyJWKClient(uri, cache_keys=True, lifespan=3600)
        return client


def complete(
    *,
    tenant: Tenant,
    session: Any,
    redirect_uri: str,
    params: Any,
    now_ts: float,
) -> str:
    """Finish the flow from the provider's redirect (``params`` = its query):
    the verified email, lower-cased. Raises ``OidcRefused``. The flow's secrets
    leave the session whatever the outcome, so a callback works once."""
    flow = session.pop(SESSION_KEY, None)
    if not isinstance(flow, dict) or flow.get("tenant") != tenant.pk:
        raise OidcRefused("no flow started at this tenant")
    if now_ts - float(flow.get("started", 0)) > FLOW_TTL:
        raise OidcRefused("flow expired")
    state = params.get("state", "")
    if not isinstance(state, str) or not hmac.compare_digest(
        state.encode(), str(flow["state"]).encode()
    ):
        raise OidcRefused("state mismatch")
    if params.get("error"):
        raise OidcRefused("provider error")
    code = params.get("code", "")
    if not isinstance(code, str) or not code or len(code) > 2048 or "\x00" in code:
        raise OidcRefused("no code")
    found = provider()
    try:
        answer = httpx.post(
            found.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": tenant.google_client_id,
                "client_secret": google_client_secret(tenant),
                "code_verifier": flow["verifier"],
            },
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
    except httpx.HTTPError:
        raise OidcRefused("token endpoint unreachable") from None
    if answer.status_code != 200:
        raise OidcRefused("token endpoint refused the code")
    try:
        id_token = str(answer.json()["id_token"])
    except (ValueError, KeyError, TypeError):
        raise OidcRefused("no id_token") from None
    try:
        key = _jwks_client(found.jwks_uri).get_signing_key_from_jwt(id_token)
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key.key,
            algorithms=["RS256"],
            audience=tenant.google_client_id,
            issuer=found.issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError:
        raise OidcRefused("id_token invalid") from None
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(
        nonce.encode(), str(flow["nonce"]).encode()
    ):
        raise OidcRefused("nonce mismatch")
    email = claims.get("email")
    if not isinstance(email, str) or not email or len(email) > 254:
        raise OidcRefused("no email")
    # Google sends a boolean; some providers the string "true".
    if claims.get("email_verified") not in (True, "true"):
        raise OidcRefused("email not verified")
    return email.strip().lower()
