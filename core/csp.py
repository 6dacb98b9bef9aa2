"""Content Security Policy on every response (issue 12, finding 7).

``default-src 'self'``: scripts and styles only from Ciclo's own static files
or, inline, with this response's nonce (``request.csp_nonce``, in templates
``{{ request.csp_nonce }}``); no plugins; no framing (``frame-ancestors
'none'``). A view that needs more (Stripe's Elements in the portal) adds the
sources for its own response with ``allow``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
UNSAFE_INLINE = "'unsafe-inline'"


def _base(nonce: str) -> dict[str, list[str]]:
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'", f"'nonce-{nonce}'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def allow(request: HttpRequest, directive: str, sources: Iterable[str]) -> None:
    """Add ``sources`` to one directive of this request's response only."""
    extra: dict[str, list[str]] = request.__dict__.setdefault("csp_extra", {})
    extra.setdefault(directive, []).extend(sources)


def frame_ancestors(request: HttpRequest, sources: Iterable[str]) -> None:
    """Let this response be framed by its own origin and ``sources`` (instead
    of by nobody). Only for pages built to be embedded (the checkout)."""
    request.__dict__["csp_frame_ancestors"] = ["'self'", *sources]


def policy(request: HttpRequest) -> str:
    directives = _base(request.csp_nonce)  # type: ignore[attr-defined]
    ancestors = getattr(request, "csp_frame_ancestors", None)
    if ancestors:
        directives["frame-ancestors"] = list(ancestors)
    for directive, sources in getattr(request, "csp_extra", {}).items():
        merged = directives.setdefault(directive, [])
        merged.extend(s for s in sources if s not in merged)
        if UNSAFE_INLINE in merged:  # a nonce would make browsers ignore it
            merged[:] = [s for s in merged if not s.startswith("'nonce-")]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(16)  # type: ignore[attr-defined]
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy(request)
        return response
