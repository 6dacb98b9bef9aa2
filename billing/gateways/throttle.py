"""Pacing calls to a gateway account, and retrying the ones it turns away.

Renewals charge as fast as the workers go, but a gateway account accepts only
so many requests per second (Stripe: about 100 in live mode, 25 in test mode)
and answers 429 beyond. Every request to an account first takes a token from
that account's bucket:

- with Redis (production), one bucket per account shared by every worker and
  web process, kept by a Lua script that runs atomically on the server, with
  the server's clock (GCRA: the key holds the time the next request may go);
- with no Redis (the embedded SQLite mode), a bucket per process.

A token is a reservation: the caller sleeps until its turn, then sends. A turn
further away than ``max_wait`` is refused with ``GatewayRateLimited`` and
nothing is reserved.

``with_backoff`` retries what the gateway turned away without doing anything
harmful — a 429, or no answer at all — with exponential backoff and full
jitter. The caller retries the *same* request, so a charge keeps its
idempotency key and the gateway replays a charge it already made instead of
making another (DESIGN.md invariant 5).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import structlog

from billing.gateways.base import GatewayRateLimited, GatewayTimeout

logger = structlog.get_logger(__name__)
T = TypeVar("T")

KEY_PREFIX = "ciclo:gateway-bucket:"

# KEYS[1]: the bucket. ARGV: interval between requests (s), burst tolerance (s),
# longest acceptable wait (s). Returns {granted (0/1), wait in seconds as text}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > max_wait then return {0, tostring(wait)} end
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', next_tat),
           'PX', math.ceil((next_tat - now) * 1000) + 1000)
return {1, tostring(wait)}
"""


class TokenBucket:
    """``rate`` requests per second on average, ``burst`` of them at once."""

    def __init__(self, name: str, *, rate: float, burst: int = 1, max_wait: float = 30.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("A bucket needs a positive rate and a burst of at least 1.")
        self.name, self.rate, self.burst, self.max_wait = name, rate, burst, max_wait
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval

    def reserve(self) -> float:
        """Reserve the next turn: the seconds to wait before sending (0 = now).
        ``GatewayRateLimited`` if that is more than ``max_wait`` away."""
        script = _redis_script()
        if script is not None:
            try:
                granted, wait = script(
                    keys=[KEY_PREFIX + self.name],
                    args=[repr(self.interval), repr(self.tolerance), repr(self.max_wait)],
                )
            except Exception as exc:
                logger.warning("gateway_bucket.redis_unavailable", bucket=self.name, error=str(exc))
            else:
                return self._answer(bool(int(granted)), float(wait))
        granted, wait = _local_reserve(self)
        return self._answer(granted, wait)

    def take(self, *, sleep: Callable[[float], Any] = time.sleep) -> float:
        """Wait for a turn; returns how long we waited."""
        wait = self.reserve()
        if wait > 0:
            sleep(wait)
        return wait

    def _answer(self, granted: bool, wait: float) -> float:
        if not granted:
            raise GatewayRateLimited(
                f"Gateway account {self.name} is saturated: next turn in {wait:.1f} s."
            )
        return wait


def with_backoff(
    call: Callable[[], T],
    *,
    attempts: int | None = None,
    base_delay: float | None = None,
    max_delay: float | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> T:
    """``call()``, retried on a rate limit or no answer, up to ``attempts`` tries in
    all; the last failure propagates (the caller leaves the charge pending, and
    reconciliation asks again later under the same key). Defaults come from the
    ``GATEWAY_RETRY_*`` settings."""
    from django.conf import settings

    attempts = attempts or settings.GATEWAY_RETRY_ATTEMPTS
    base = settings.GATEWAY_RETRY_BASE_DELAY if base_delay is None else base_delay
    cap = settings.GATEWAY_RETRY_MAX_DELAY if max_delay is None else max_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (GatewayRateLimited, GatewayTimeout) as exc:
            if attempt >= attempts:
                raise
            delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311
            logger.info(
                "gateway.retry",
                reason=type(exc).__name__,
                attempt=attempt,
                delay=round(delay, 3),
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# --- Redis, or a bucket per process -----------------------------------------------


def _redis_location() -> str | None:
    """The cache's Redis (tests give it a database of their own), when there is one."""
    from django.conf import settings

    if not getattr(settings, "REDIS_URL", ""):
        return None
    config = settings.CACHES.get("default", {})
    if not config.get("BACKEND", "").endswith("RedisCache"):
        return settings.REDIS_URL
    location = config.get("LOCATION") or settings.REDIS_URL
    return location[0] if isinstance(location, list | tuple) else str(location)


def _redis_script() -> Any:
    location = _redis_location()
    return _script_for(location) if location else None


@cache
def _script_for(location: str) -> Any:
    import redis

    client = redis.Redis.from_url(location, socket_timeout=2, socket_connect_timeout=2)
    return client.register_script(_GCRA)


_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def _local_reserve(bucket: TokenBucket) -> tuple[bool, float]:
    """The same algorithm as the Lua script, for this process alone."""
    with _local_lock:
        now = time.monotonic()
        tat = max(_local_tat.get(bucket.name, now), now)
        wait = tat - bucket.tolerance - now
        if wait > bucket.max_wait:
            return False, wait
        _local_tat[bucket.name] = tat + bucket.interval
        return True, max(wait, 0.0)
