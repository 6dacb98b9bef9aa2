import uuid
from collections.abc import Callable

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.request_context import RequestOrigin, reset_origin, set_origin

logger = structlog.get_logger(__name__)


def _client_ip(request: HttpRequest) -> str | None:
    # X-Forwarded-For is only believed for the number of proxies the deployment
    # says sit in front of us (NUM_PROXIES); otherwise anyone could forge it.
    proxies: int = settings.NUM_PROXIES
    forwarded: list[str] = [
        p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    ]
    forwarded = [p for p in forwarded if p]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the deployment's proxies report it (``NUM_PROXIES``)."""
    return _client_ip(request)


class RequestContextMiddleware:
    """Gives every request an id (kept from ``X-Request-ID`` when sane) and binds
    it, with the client address, to the logs and the audit context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = (
            incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        origin = RequestOrigin(
            request_id=request_id,
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
        )
        token = set_origin(origin)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_origin(token)
        response["X-Request-ID"] = request_id
        logger.info(
            "request.finished",
            method=request.method,
            path=request.path,
            status=response.status_code,
            tenant_id=getattr(getattr(request, "tenant", None), "pk", None),
        )
        structlog.contextvars.clear_contextvars()
        return response
