"""Abuse limits on the checkout, counted in Redis (``core.ratelimit``).

- Every checkout submission counts against its client IP and, when it comes
  through the API, against the publishable key: over the budget the answer is
  a 429 and nothing is attempted.
- Card testing: each declined card counts against the IP; at
  ``CHECKOUT_DECLINES_TO_BLOCK`` declines within the window the IP is blocked
  from every checkout (of every merchant: testers hop) for ``CHECKOUT_BLOCK_SECONDS``.

If the cache is down the limits fail open (logged by ``core.ratelimit``): they
must not take the checkout down with them.
"""

from __future__ import annotations

import hashlib

import structlog
from django.conf import settings
from django.core.cache import cache

from core.errors import DomainError
from core.ratelimit import hit

logger = structlog.get_logger(__name__)


class TooManyAttempts(DomainError):
    code = "rate_limited"
    status = 429


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _subject(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _blocked_key(ip: str) -> str:
    return f"checkout:blocked:{_subject(ip)}"


def checkout_attempt_count(*, ip: str | None, publishable_key: str = "") -> None:
    """Count one checkout submission; raise ``TooManyAttempts`` when the IP is
    blocked for card testing or over its budget (or the key over its own)."""
    window = _setting("CHECKOUT_RATE_WINDOW", 600)
    if ip:
        try:
            blocked = cache.get(_blocked_key(ip))
        except Exception:
            logger.warning("checkout.limits_cache_unavailable", exc_info=True)
            blocked = None
        if blocked:
            raise TooManyAttempts(
                "Too many declined cards from your network. Try again later.", param="card"
            )
        count = hit(f"checkout:ip:{_subject(ip)}", window)
        if count is not None and count > _setting("CHECKOUT_RATE_PER_IP", 30):
            raise TooManyAttempts("Too many attempts. Wait a few minutes and try again.")
    if publishable_key:
        count = hit(f"checkout:pk:{_subject(publishable_key)}", window)
        if count is not None and count > _setting("CHECKOUT_RATE_PER_KEY", 600):
            raise TooManyAttempts("Too many checkouts with this key. Try again later.")


def checkout_quote_count(*, ip: str | None) -> None:
    """Count one price quote (each one prices a subscription in a rolled-back
    transaction: cheap, but not free)."""
    if not ip:
        return
    window = _setting("CHECKOUT_RATE_WINDOW", 600)
    count = hit(f"checkout:quote:{_subject(ip)}", window)
    if count is not None and count > _setting("CHECKOUT_QUOTES_PER_IP", 300):
        raise TooManyAttempts("Too many attempts. Wait a few minutes and try again.")


def checkout_decline_record(*, ip: str | None) -> bool:
    """Count a declined card against ``ip``; True when that blocks the IP."""
    if not ip:
        return False
    count = hit(f"checkout:declines:{_subject(ip)}", _setting("CHECKOUT_DECLINE_WINDOW", 3600))
    if count is None or count < _setting("CHECKOUT_DECLINES_TO_BLOCK", 5):
        return False
    try:
        cache.set(_blocked_key(ip), 1, timeout=_setting("CHECKOUT_BLOCK_SECONDS", 3600))
    except Exception:
        logger.warning("checkout.limits_cache_unavailable", exc_info=True)
        return False
    logger.warning("checkout.card_testing_blocked", declines=count)
    return True
