"""Rate limits per API key: fixed windows counted in the cache (Redis).

Reads and writes have separate budgets (``API_RATE_LIMIT_READ`` / ``_WRITE``
requests per ``API_RATE_LIMIT_WINDOW`` seconds). Each request is one atomic
increment of the key's counter for the current window; over the budget the
answer is 429 with ``Retry-After``. Every API response carries ``RateLimit-*``
headers. If the cache is down, requests pass: a limiter must not take the API
down with it.

The counter is named after the key's hash, so it can be counted before the key
is known: the API key middleware counts it in the same Redis round trip that
reads the key's cached identity (``count_and_get``) and leaves the count on the
request; this middleware only counts what was not counted yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse, JsonResponse

from core import clock
from core.api import error_body

logger = structlog.get_logger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# On the request: (Budget, count or None) once its request has been counted.
COUNTED_ATTR = "rate_limit_counted"


@dataclass(frozen=True, slots=True)
class Budget:
    """One key's budget for one kind of request in the current window."""

    bucket: str  # read or write
    limit: int
    window: int  # seconds
    reset: int  # seconds until the window ends
    counter: str  # the cache key counting this window's requests


def budget_for(*, method: str, subject: str, now: datetime) -> Budget | None:
    """The budget a request of ``method`` by ``subject`` (a key hash) counts against;
    None when that kind of request is not limited."""
    bucket = "read" if method in READ_METHODS else "write"
    limit = settings.API_RATE_LIMIT_READ if bucket == "read" else settings.API_RATE_LIMIT_WRITE
    if not limit:
        return None
    window = max(1, int(settings.API_RATE_LIMIT_WINDOW))
    moment = now.timestamp()
    index = int(moment // window)
    reset = max(1, math.ceil((index + 1) * window - moment))
    return Budget(bucket, limit, window, reset, f"ratelimit:{subject}:{bucket}:{index}")


def count_and_get(budget: Budget | None, key: str) -> tuple[int | None, Any]:
    """Count one request against ``budget`` (if any) and read ``key`` from the
    cache, in one Redis round trip: (count or None, the cached value or None)."""
    try:
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            value = cache.get(key)
            return (_hit(budget.counter, budget.window) if budget else None), value
        full_key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=False)
        pipe.get(full_key)
        if budget is not None:
            counter = backend.make_and_validate_key(budget.counter)
            pipe.set(counter, 0, ex=budget.window + 1, nx=True)
            pipe.incr(counter)
        answers = pipe.execute()
        raw = answers[0]
        value = None if raw is None else backend._cache._serializer.loads(raw)  # type: ignore[attr-defined]
        return (int(answers[2]) if budget is not None else None), value
    except Exception:  # the cache is down: fail open, loudly
        logger.warning("ratelimit.cache_unavailable", exc_info=True)
        return None, None


def _hit(key: str, window: int) -> int | None:
    """Count one request in ``key``'s window; None if the cache cannot count."""
    try:
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            # One round trip: create the window's counter if absent, then count.
            # (Django's own incr asks whether the key exists first: two.)
            full_key = backend.make_and_validate_key(key)
            client = backend._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]  # type: ignore[attr-defined]
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


def hit(key: str, window: int) -> int | None:
    """Count one event in the fixed window named ``key`` (seconds long); the
    window's count so far, or None if the cache cannot count (callers fail open)."""
    return _hit(key, window)


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api_key = getattr(request, "api_key", None)
        if api_key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        counted = getattr(request, COUNTED_ATTR, None)
        if counted is not None:
            budget, count = counted
        else:
            budget = budget_for(
                method=request.method or "", subject=api_key.key_hash, now=clock.now()
            )
            count = _hit(budget.counter, budget.window) if budget is not None else None
        if budget is None or count is None:
            return self.get_response(request)
        limit, bucket, reset = budget.limit, budget.bucket, budget.reset
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
