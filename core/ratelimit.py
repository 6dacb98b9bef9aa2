"""Rate limits per API key: fixed windows counted in the cache (Redis).

Reads and writes have separate budgets (``API_RATE_LIMIT_READ`` / ``_WRITE``
requests per ``API_RATE_LIMIT_WINDOW`` seconds). Each request is one atomic
increment of the key's counter for the current window; over the budget the
answer is 429 with ``Retry-After``. Every API response carries ``RateLimit-*``
headers. If the cache is down, requests pass: a limiter must not take the API
down with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import structlog
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse, JsonResponse

from core import clock
from core.api import error_body

logger = structlog.get_logger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _hit(key: str, window: int) -> int | None:
    """Count one request in ``key``'s window; None if the cache cannot count."""
    try:
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            # One round trip: create the window's counter if absent, then count.
            # (Django's own incr asks whether the key exists first: two.)
            full_key = backend.make_and_validate_key(key)
            client = backend._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
            pipe = client.pipeline(transaction=False)
            pipe.set(full_key, 0, ex=window + 1, nx=True)
            pipe.incr(full_key)
            return int(pipe.execute()[1])
        try:
            return int(cache.incr(key))
        except ValueError:  # first request of the window
            if cache.add(key, 1, timeout=window + 1):
                return 1
            return int(cache.incr(key))
    except Exception:  # the cache is down: fail open, loudly
        logger.warning("ratelimit.cache_unavailable", exc_info=True)
        return None


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api_key = getattr(request, "api_key", None)
        if api_key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        bucket = "read" if request.method in READ_METHODS else "write"
        limit = settings.API_RATE_LIMIT_READ if bucket == "read" else settings.API_RATE_LIMIT_WRITE
        if not limit:
            return self.get_response(request)
        window = max(1, int(settings.API_RATE_LIMIT_WINDOW))
        moment = clock.now().timestamp()
        index = int(moment // window)
        reset = max(1, math.ceil((index + 1) * window - moment))
        count = _hit(f"ratelimit:{api_key.pk}:{bucket}:{index}", window)
        if count is None:
            return self.get_response(request)
        if count > limit:
            response: HttpResponse = JsonResponse(
                error_body(
                    status_code=429,
                    code="rate_limited",
                    message=f"Too many {bucket} requests for this API key; "
                    f"retry in {reset} second(s).",
                ),
                status=429,
            )
            response["Retry-After"] = str(reset)
        else:
            response = self.get_response(request)
        response["RateLimit-Limit"] = str(limit)
        response["RateLimit-Remaining"] = str(max(0, limit - count))
        response["RateLimit-Reset"] = str(reset)
        return response
