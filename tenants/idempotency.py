"""``Idempotency-Key`` for every POST of the API, whichever app serves it.

A POST with the header claims the key (per API key) in PostgreSQL before the
view runs; the row is the lock. When the view answers, its response is stored
on the row, and for 24 hours a retry with the same key and the same request
(method, path, body) gets that response back, without acting again
(``Idempotent-Replayed: true``).

- same key, other body or path → 409 ``idempotency_key_reused``;
- same key while the first request still runs → 409 ``idempotency_key_in_use``;
- a 5xx (or 429) is not stored: the row is released and a retry runs afresh.

A request that died without releasing its key (a killed process) holds it
until ``IDEMPOTENCY_LOCK_TIMEOUT``; rows older than ``IDEMPOTENCY_KEY_TTL`` are
taken over by a new request and purged hourly (``idempotency_keys_purge``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from core import clock
from core.api import error_body
from tenants.context import platform_access
from tenants.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _conflict(code: str, message: str, status: int = 409) -> JsonResponse:
    return JsonResponse(
        error_body(status_code=status, code=code, message=message, param=HEADER), status=status
    )


def fingerprint(request: HttpRequest) -> str:
    """Method, full path and body; a JSON body is canonicalized first, so key
    order and whitespace do not make two equal requests differ."""
    body = request.body
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.headers.get(HEADER)
        api_key = getattr(request, "api_key", None)
        if (
            raw is None
            or request.method != "POST"
            or not request.path.startswith("/api/")
            or api_key is None
            or api_key.read_only
            or api_key.kind != "secret"
        ):
            # Without a usable key the view refuses the request anyway (401/403).
            return self.get_response(request)
        if not 0 < len(raw) <= MAX_KEY_LENGTH or not raw.isprintable():
            return _conflict(
                "idempotency_key_invalid",
                f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters.",
                status=400,
            )
        now = clock.now()
        outcome, row = _claim(
            api_key=api_key, key=raw, fingerprint=fingerprint(request), request=request, now=now
        )
        if outcome == "reused":
            return _conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request; use a new key.",
            )
        if outcome == "in_use":
            return _conflict(
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being processed; retry later.",
            )
        if outcome == "replay":
            response = HttpResponse(
                row.response_body, status=row.status_code, content_type=row.content_type
            )
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = self.get_response(request)
        except BaseException:
            _release(row)
            raise
        _finish(row, response)
        return response


def _claim(
    *, api_key: Any, key: str, fingerprint: str, request: HttpRequest, now: datetime
) -> tuple[str, Any]:
    expired_before = now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    stale_before = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT)
    fresh = {
        "fingerprint": fingerprint,
        "method": request.method or "",
        "path": request.get_full_path()[:500],
        "status_code": None,
        "response_body": "",
        "content_type": "",
        "created_at": now,
        "locked_at": now,
        "completed_at": None,
    }
    for _ in range(3):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    tenant_id=api_key.tenant_id, api_key=api_key, key=key, **fresh
                )
            return "claimed", row
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
        if row is None:
            continue  # released or purged meanwhile: try to claim again
        if row.created_at <= expired_before:
            # Past its lifetime: a new request owns the key (conditionally, so
            # two such requests cannot both take it over).
            if (
                IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).update(**fresh)
                == 1
            ):
                row.refresh_from_db()
                return "claimed", row
            continue
        if row.fingerprint != fingerprint:
            return "reused", row
        if row.status_code is not None:
            return "replay", row
        if row.locked_at is not None and row.locked_at <= stale_before:
            if (
                IdempotencyKey.objects.filter(
                    pk=row.pk, status_code__isnull=True, locked_at=row.locked_at
                ).update(locked_at=now)
                == 1
            ):
                row.locked_at = now
                return "claimed", row
            continue
        return "in_use", row
    return "in_use", None


def _release(row: Any) -> None:
    IdempotencyKey.objects.filter(
        pk=row.pk, status_code__isnull=True, locked_at=row.locked_at
    ).delete()


def _finish(row: Any, response: HttpResponse) -> None:
    """Store the answer for replays; a server error or a 429 is not an answer."""
    if response.status_code >= 500 or response.status_code == 429 or response.streaming:
        _release(row)
        return
    try:
        body = response.content.decode("utf-8")
    except UnicodeDecodeError:
        _release(row)
        return
    IdempotencyKey.objects.filter(
        pk=row.pk, status_code__isnull=True, locked_at=row.locked_at
    ).update(
        status_code=response.status_code,
        response_body=body,
        content_type=response.get("Content-Type", "application/json")[:100],
        completed_at=clock.now(),
    )


def idempotency_keys_purge(*, now: datetime) -> int:
    """Delete every tenant's keys past their lifetime; returns how many."""
    before = now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    with platform_access():
        deleted, _ = IdempotencyKey.objects.filter(created_at__lte=before).delete()
    return deleted
