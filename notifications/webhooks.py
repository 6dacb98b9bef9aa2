"""Outbound webhooks: the merchant's endpoints, the fan-out from the outbox, the sender.

Every outbox event matching an endpoint's filter becomes one ``WebhookDelivery``
(unique per event and endpoint), planned by the dispatcher in the transaction
that marks the event dispatched (``plan_deliveries``). Sending happens after
commit, outside any transaction, per the Standard Webhooks specification
(``webhook-id`` is the event id, so the receiver deduplicates retries and
replays by it), signed with the official ``standardwebhooks`` library.

Each attempt is recorded before the request (delivery ``sending``, attempt n,
a claim that lapses after ``_LEASE``) and settled after it (status code, an
excerpt of the body, duration, error). A worker that dies mid-request leaves a
lapsed claim: the next sweep marks that attempt ``interrupted`` and sends again
(at least once). A delivered delivery is never claimed again.

Failures retry on ``RETRY_DELAYS`` (5 s … 16 h, about three days in all, with
up to 10 % jitter). An endpoint is disabled automatically when one of its
deliveries has used up all its retries and no attempt to the endpoint has
succeeded since that delivery's first attempt, i.e. it has failed every
request for about three days; the merchant's owners and admins and support
address get an email and a ``webhook_endpoint.disabled`` event is written.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from core import clock
from core.actors import Actor
from core.bulk import bulk_set, insert_rows
from core.errors import NotFound, StateConflict, ValidationFailed
from core.ids import new_public_id
from core.secrets import decrypt_json, encrypt_json
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants import audit
from tenants.models import Event, Membership, Tenant
from tenants.outbox import emit
from tenants.permissions import Role

logger = structlog.get_logger(__name__)

# Waits after failed attempt 1, 2, …: 11 attempts over about 71.6 hours.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=14),
    timedelta(hours=16),
)
JITTER = 0.10
MAX_EVENT_FILTERS = 100
BODY_EXCERPT_CHARS = 1000
SEND_THREADS = 8
SEND_CHUNK = 16
MAX_URL_LENGTH = 2048
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_random = secrets.SystemRandom()

Status = WebhookDelivery.Status
Outcome = WebhookAttempt.Outcome


def _lease() -> timedelta:
    """How long a claim holds: every request of a chunk, with room to spare."""
    rounds = -(-SEND_CHUNK // SEND_THREADS)
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 * rounds + 60)


# --- secrets -------------------------------------------------------------------------


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (the Standard Webhooks format)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _store_secrets(current: str, previous: str = "", previous_until: datetime | None = None) -> str:
    return encrypt_json(
        {
            "current": current,
            "previous": previous,
            "previous_until": previous_until.isoformat() if previous_until else "",
        }
    )


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The current secret, plus the previous one during its grace period."""
    stored = decrypt_json(endpoint.secrets_encrypted)
    found = [stored["current"]]
    until = stored.get("previous_until")
    if stored.get("previous") and until and datetime.fromisoformat(until) > now:
        found.append(stored["previous"])
    return found


def sign(*, secrets_: Sequence[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, space-separated."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets_)


# --- validation ----------------------------------------------------------------------


def _address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, local: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return local
    return ip.is_global and not ip.is_multicast


def validate_url(url: Any) -> str:
    """An https URL on a public address (http on localhost when local URLs are
    allowed, in development and tests). Names are resolved when they can be;
    the sender checks again at connect time, so a name that later resolves to
    an internal address is refused then."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed(_("Enter the endpoint's URL."), param="url", code="invalid_url")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationFailed(_("This URL is not valid."), param="url", code="invalid_url")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ValidationFailed(
            _("This URL is not valid."), param="url", code="invalid_url"
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationFailed(_("Use an https:// URL."), param="url", code="invalid_url")
    local_allowed = settings.WEBHOOK_ALLOW_LOCAL_URLS
    is_local_name = host in _LOCAL_NAMES or host.endswith(".localhost")
    if parts.scheme != "https" and not (local_allowed and is_local_name):
        raise ValidationFailed(_("Use an https:// URL."), param="url", code="insecure_url")
    unsafe = ValidationFailed(
        _("This URL points to a private or internal address; use a public one."),
        param="url",
        code="url_not_public",
    )
    if is_local_name:
        if not local_allowed:
            raise unsafe
        return url
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not _address_allowed(literal, local=False):
            raise unsafe
        return url
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return url  # not resolvable now: the sender checks (and retries) later
    if any(not _address_allowed(ipaddress.ip_address(i[4][0]), local=False) for i in infos):
        raise unsafe
    return url


def validate_event_filters(value: Any) -> list[str]:
    """A non-empty list of exact types (``invoice.paid``), prefixes (``invoice.*``) or ``*``."""
    if not isinstance(value, list | tuple) or not value:
        raise ValidationFailed(
            _("Choose at least one event type (or * for all)."),
            param="enabled_events",
            code="invalid_event_filter",
        )
    if len(value) > MAX_EVENT_FILTERS:
        raise ValidationFailed(
            _("At most %(n)d event types.") % {"n": MAX_EVENT_FILTERS},
            param="enabled_events",
            code="invalid_event_filter",
        )
    cleaned: list[str] = []
    for item in value:
        item = item.strip() if isinstance(item, str) else item
        if not isinstance(item, str) or not _valid_filter(item):
            raise ValidationFailed(
                _("Not an event type: %(value)s. Use e.g. invoice.paid, invoice.* or *.")
                % {"value": str(item)[:80]},
                param="enabled_events",
                code="invalid_event_filter",
            )
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def _valid_filter(item: str) -> bool:
    if item == "*":
        return True
    if len(item) > 64:
        return False
    parts = item.split(".")
    if parts[-1] == "*":
        parts = parts[:-1]
        if not parts:
            return False
    return all(p and all(c.islower() or c.isdigit() or c == "_" for c in p) for p in parts)


def event_matches(filters: Iterable[str], event_type: str) -> bool:
    for f in filters:
        if f == "*" or f == event_type or (f.endswith(".*") and event_type.startswith(f[:-1])):
            return True
    return False


# --- payload ---------------------------------------------------------------------------


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: what the API and the payloads print."""
    from datetime import UTC

    text = dt.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def event_data(event: Event) -> dict[str, Any]:
    """The event's data with its subject first: ``{"object": "invoice", "id": "in_…", …}``."""
    data: dict[str, Any] = {}
    if event.subject_type:
        data["object"] = event.subject_type
    if event.subject_id:
        data["id"] = event.subject_id
    for key, value in (event.data or {}).items():
        data.setdefault(key, value)
    return data


def event_payload(event: Event) -> dict[str, Any]:
    return {
        "id": event.public_id,
        "type": event.type,
        "created": iso(event.at),
        "data": event_data(event),
    }


def event_body(event: Event) -> str:
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False)


# --- reads ---------------------------------------------------------------------------


def endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def endpoint_get(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(tenant=tenant, public_id=endpoint_id).first()
    if found is None:
        raise NotFound(_("No such webhook endpoint: %(id)s") % {"id": endpoint_id[:80]}, param="id")
    return found


def delivery_list(*, tenant: Tenant, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(tenant=tenant, endpoint=endpoint)
        .select_related("event", "endpoint")
        .order_by("-created_at", "-id")
    )


def _endpoint_for_update(tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    found = (
        WebhookEndpoint.objects.select_for_update()
        .filter(tenant=tenant, public_id=endpoint_id)
        .first()
    )
    if found is None:
        raise NotFound(
            _("No such webhook endpoint: %(id)s") % {"id": str(endpoint_id)[:80]}, param="id"
        )
    return found


def _endpoint_event(endpoint: WebhookEndpoint, type: str, now: datetime, **data: Any) -> None:
    emit(
        tenant_id=endpoint.tenant_id,
        type=type,
        at=now,
        subject_type="webhook_endpoint",
        subject_id=endpoint.public_id,
        data={"webhook_endpoint": endpoint.public_id, "url": endpoint.url, **data},
    )


# --- endpoint services ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


@transaction.atomic
def webhook_endpoint_create(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    url: str,
    enabled_events: Sequence[str],
    description: str = "",
) -> EndpointWithSecret:
    """A new endpoint, enabled; its secret is returned this once (stored encrypted)."""
    url = validate_url(url)
    filters = validate_event_filters(list(enabled_events))
    description = _clean_description(description)
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        description=description,
        enabled_events=filters,
        secrets_encrypted=_store_secrets(secret),
        created_at=now,
        updated_at=now,
    )
    _endpoint_event(endpoint, "webhook_endpoint.created", now, enabled_events=filters)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.created",
        target=endpoint,
        at=now,
        changes={"url": url, "enabled_events": filters, "description": description},
    )
    return EndpointWithSecret(endpoint, secret)


def _clean_description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 500 or "\x00" in value:
        raise ValidationFailed(
            _("The description is text of at most 500 characters."),
            param="description",
            code="invalid_description",
        )
    return value.strip()


@transaction.atomic
def webhook_endpoint_update(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    endpoint_id: str,
    url: str | None = None,
    enabled_events: Sequence[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None:
        url = validate_url(url)
        if url != endpoint.url:
            changes["url"] = [endpoint.url, url]
            endpoint.url = url
    if enabled_events is not None:
        filters = validate_event_filters(list(enabled_events))
        if filters != endpoint.enabled_events:
            changes["enabled_events"] = [endpoint.enabled_events, filters]
            endpoint.enabled_events = filters
    if description is not None:
        description = _clean_description(description)
        if description != endpoint.description:
            changes["description"] = [endpoint.description, description]
            endpoint.description = description
    if not changes:
        return endpoint
    endpoint.updated_at = now
    endpoint.save(update_fields=[*(k for k in changes), "updated_at"])
    _endpoint_event(endpoint, "webhook_endpoint.updated", now, changed=sorted(changes))
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.updated",
        target=endpoint,
        at=now,
        changes=changes,
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> EndpointWithSecret:
    """A new secret; the old one keeps signing (a second signature) for the grace period."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    old = decrypt_json(endpoint.secrets_encrypted)["current"]
    secret = new_secret()
    grace = timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS)
    endpoint.secrets_encrypted = _store_secrets(secret, old, now + grace)
    endpoint.updated_at = now
    endpoint.save(update_fields=["secrets_encrypted", "updated_at"])
    _endpoint_event(endpoint, "webhook_endpoint.secret_rotated", now)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.secret_rotated",
        target=endpoint,
        at=now,
    )
    return EndpointWithSecret(endpoint, secret)


@transaction.atomic
def webhook_endpoint_disable(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> WebhookEndpoint:
    """Stop sending (deliveries wait, pending, until it is enabled again)."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    if endpoint.status == WebhookEndpoint.Status.DISABLED:
        return endpoint
    _disable(endpoint, WebhookEndpoint.DisabledReason.MANUAL, now)
    audit.record(
        tenant=tenant, actor=actor, action="webhook_endpoint.disabled", target=endpoint, at=now
    )
    return endpoint


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    endpoint.updated_at = now
    endpoint.save(update_fields=["status", "disabled_reason", "disabled_at", "updated_at"])
    _endpoint_event(endpoint, "webhook_endpoint.disabled", now, reason=reason)


@transaction.atomic
def webhook_endpoint_enable(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> WebhookEndpoint:
    """Resume sending: the failure streak starts afresh and waiting deliveries go out."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    if endpoint.status == WebhookEndpoint.Status.ENABLED:
        return endpoint
    endpoint.status = WebhookEndpoint.Status.ENABLED
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.consecutive_failures = 0
    endpoint.updated_at = now
    endpoint.save(
        update_fields=[
            "status",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "consecutive_failures",
            "updated_at",
        ]
    )
    _endpoint_event(endpoint, "webhook_endpoint.enabled", now)
    audit.record(
        tenant=tenant, actor=actor, action="webhook_endpoint.enabled", target=endpoint, at=now
    )
    transaction.on_commit(partial(_enqueue_due, tenant.pk))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> str:
    """Delete the endpoint with its delivery log; returns its id."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    public_id = endpoint.public_id
    _endpoint_event(endpoint, "webhook_endpoint.deleted", now)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.deleted",
        target=endpoint,
        at=now,
        changes={"url": endpoint.url},
    )
    endpoint.delete()
    return public_id


@transaction.atomic
def webhook_delivery_replay(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send a delivery again now (a new attempt with the same ``webhook-id``)."""
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .filter(tenant=tenant, endpoint=endpoint, public_id=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound(
            _("No such delivery: %(id)s") % {"id": str(delivery_id)[:80]}, param="delivery"
        )
    return _replay(tenant, actor, now, endpoint, delivery)


@transaction.atomic
def webhook_event_replay(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str, event_id: str
) -> WebhookDelivery:
    """Send an event to an endpoint now, whether or not it was sent there before."""
    endpoint = endpoint_get(tenant=tenant, endpoint_id=endpoint_id)
    # Locking the event serialises with the dispatcher, which holds its events'
    # locks while it plans their deliveries: no two deliveries for one pair.
    event = Event.objects.select_for_update().filter(tenant=tenant, public_id=event_id).first()
    if event is None:
        raise NotFound(_("No such event: %(id)s") % {"id": str(event_id)[:80]}, param="event")
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .filter(tenant=tenant, endpoint=endpoint, event=event)
        .first()
    )
    if delivery is None:
        delivery = WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            event=event,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
        )
    return _replay(tenant, actor, now, endpoint, delivery)


def _replay(
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
) -> WebhookDelivery:
    if endpoint.status != WebhookEndpoint.Status.ENABLED:
        raise StateConflict(
            _("The endpoint is disabled; enable it first."),
            param="id",
            code="endpoint_disabled",
        )
    if (
        delivery.status == Status.SENDING
        and delivery.next_attempt_at
        and delivery.next_attempt_at > now
    ):
        raise StateConflict(
            _("This delivery is being sent right now."), param="delivery", code="delivery_sending"
        )
    if delivery.status == Status.SENDING:  # a lapsed claim: its sender died
        WebhookAttempt.objects.filter(
            tenant=tenant, delivery=delivery, outcome=Outcome.SENDING
        ).update(
            outcome=Outcome.INTERRUPTED,
            finished_at=now,
            error="The sender stopped during the request; sent again.",
        )
    delivery.status = Status.PENDING
    delivery.next_attempt_at = now
    delivery.replay_requested = True
    delivery.updated_at = now
    delivery.save(update_fields=["status", "next_attempt_at", "replay_requested", "updated_at"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_delivery.replayed",
        target=delivery,
        at=now,
        changes={"event": delivery.event.public_id, "endpoint": endpoint.public_id},
    )
    transaction.on_commit(partial(_enqueue_sends, tenant.pk, [delivery.pk], None))
    return delivery


# --- fan-out (called by the outbox dispatcher) ---------------------------------------


def plan_deliveries(event: Event, *, now: datetime) -> list[int]:
    """Write one delivery per enabled endpoint whose filter matches ``event``."""
    return plan_deliveries_many([event], now=now)


def plan_deliveries_many(
    events: Sequence[Event], *, now: datetime, send_queue: str | None = None
) -> list[int]:
    """The batch form: one query for the endpoints, one insert for the deliveries,
    and their sending enqueued after commit. Returns the new deliveries' ids."""
    if not events:
        return []
    tenant_id = events[0].tenant_id
    endpoints = list(
        WebhookEndpoint.objects.filter(
            tenant_id=tenant_id, status=WebhookEndpoint.Status.ENABLED
        ).values_list("pk", "enabled_events")
    )
    if not endpoints:
        return []
    pairs = [
        (event.pk, endpoint_pk)
        for event in events
        for endpoint_pk, filters in endpoints
        if event_matches(filters, event.type)
    ]
    if not pairs:
        return []
    # A replay may already have created a pair (the unique constraint is the last wall).
    existing = set(
        WebhookDelivery.objects.filter(
            tenant_id=tenant_id, event_id__in={p[0] for p in pairs}
        ).values_list("event_id", "endpoint_id")
    )
    rows = [
        {
            "tenant": tenant_id,
            "public_id": new_public_id("wd"),
            "endpoint": endpoint_pk,
            "event": event_pk,
            "status": Status.PENDING.value,
            "attempt_count": 0,
            "next_attempt_at": now,
            "last_error": "",
            "replay_requested": False,
            "created_at": now,
            "updated_at": now,
        }
        for event_pk, endpoint_pk in pairs
        if (event_pk, endpoint_pk) not in existing
    ]
    ids = insert_rows(WebhookDelivery, rows, list(rows[0]) if rows else [], returning=True)
    if ids:
        transaction.on_commit(partial(_enqueue_sends, tenant_id, ids, send_queue))
    return ids


def _enqueue_sends(tenant_id: int, delivery_ids: Sequence[int], queue: str | None) -> None:
    from notifications.tasks import webhooks_send_task

    for start in range(0, len(delivery_ids), 100):
        webhooks_send_task.apply_async(
            kwargs={
                "tenant_id": tenant_id,
                "delivery_ids": list(delivery_ids[start : start + 100]),
            },
            queue=queue,
        )


def _enqueue_due(tenant_id: int) -> None:
    from notifications.tasks import webhooks_send_task

    webhooks_send_task.apply_async(kwargs={"tenant_id": tenant_id})


# --- sending -------------------------------------------------------------------------


class UnsafeAddress(httpcore.ConnectError):
    """The endpoint's name resolved to a private or internal address."""


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to a public address (SSRF),
    to the very address it checked, so a name cannot re-resolve in between."""

    def __init__(self, *, local: bool) -> None:
        self.local = local

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses or any(not _address_allowed(a, local=self.local) for a in addresses):
            raise UnsafeAddress(f"{host} resolves to a private or internal address")
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)


@cache
def _ssl_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs tens of milliseconds."""
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, *, local: bool) -> None:
        # No proxies from the environment: a proxy would reach what we refuse.
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=SEND_THREADS * 2,
            network_backend=_GuardedBackend(local=local),
        )


def http_client() -> httpx.Client:
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    return httpx.Client(
        transport=_GuardedTransport(local=settings.WEBHOOK_ALLOW_LOCAL_URLS),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        headers={"user-agent": "Ciclo-Webhooks/1.0"},
    )


@dataclass(frozen=True, slots=True)
class _Claim:
    delivery_id: int
    attempt_id: int
    number: int
    url: str
    msg_id: str
    body: str
    secrets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Result:
    status: int | None
    body: str
    duration_ms: int
    error: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class SendStats:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    disabled_endpoints: list[str] = field(default_factory=list)


def deliveries_send(
    *,
    tenant: Tenant,
    now: datetime,
    delivery_ids: Sequence[int] | None = None,
    limit: int = SEND_CHUNK,
    client: httpx.Client | None = None,
) -> SendStats:
    """Send up to ``limit`` due deliveries (only ``delivery_ids``, if given).

    Due: pending with ``next_attempt_at <= now``, or sending with a lapsed
    claim, on an enabled endpoint. Delivered ones are never claimed, so calling
    this again after a completed send sends nothing.
    """
    stats = SendStats()
    claims = _claim(tenant=tenant, now=now, delivery_ids=delivery_ids, limit=limit)
    if not claims:
        return stats
    own_client = client is None
    client = client or http_client()
    try:
        with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(claims))) as pool:
            results = list(pool.map(partial(_post, client), claims))
    finally:
        if own_client:
            client.close()
    for claim, result in zip(claims, results, strict=True):
        stats.attempted += 1
        disabled = _settle(tenant=tenant, claim=claim, result=result, now=now)
        if result.ok:
            stats.delivered += 1
        else:
            stats.failed += 1
        if disabled:
            stats.disabled_endpoints.append(disabled)
    return stats


def _claim(
    *, tenant: Tenant, now: datetime, delivery_ids: Sequence[int] | None, limit: int
) -> list[_Claim]:
    with transaction.atomic():
        qs = WebhookDelivery.objects.filter(
            tenant=tenant,
            status__in=[Status.PENDING, Status.SENDING],
            next_attempt_at__lte=now,
            endpoint__status=WebhookEndpoint.Status.ENABLED,
        )
        if delivery_ids is not None:
            qs = qs.filter(pk__in=list(delivery_ids))
        rows = list(
            qs.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return []
        lapsed = [d.pk for d in rows if d.status == Status.SENDING]
        if lapsed:
            WebhookAttempt.objects.filter(
                tenant=tenant, delivery_id__in=lapsed, outcome=Outcome.SENDING
            ).update(
                outcome=Outcome.INTERRUPTED,
                finished_at=now,
                error="The sender stopped during the request; sent again.",
            )
        lease_until = now + _lease()
        attempts = []
        for delivery in rows:
            delivery.attempt_count += 1
            attempts.append(
                WebhookAttempt(
                    tenant=tenant,
                    delivery=delivery,
                    number=delivery.attempt_count,
                    manual=delivery.replay_requested,
                    started_at=now,
                )
            )
            delivery.status = Status.SENDING
            delivery.next_attempt_at = lease_until
            delivery.replay_requested = False
            delivery.updated_at = now
        bulk_set(
            WebhookDelivery,
            rows,
            ["attempt_count", "status", "next_attempt_at", "replay_requested", "updated_at"],
        )
        WebhookAttempt.objects.bulk_create(attempts)
        secrets_by_endpoint: dict[int, tuple[str, ...]] = {}
        claims = []
        for delivery, attempt in zip(rows, attempts, strict=True):
            endpoint = delivery.endpoint
            if endpoint.pk not in secrets_by_endpoint:
                secrets_by_endpoint[endpoint.pk] = tuple(signing_secrets(endpoint, now=now))
            claims.append(
                _Claim(
                    delivery_id=delivery.pk,
                    attempt_id=attempt.pk,
                    number=attempt.number,
                    url=endpoint.url,
                    msg_id=delivery.event.public_id,
                    body=event_body(delivery.event),
                    secrets=secrets_by_endpoint[endpoint.pk],
                )
            )
        return claims


def _post(client: httpx.Client, claim: _Claim) -> _Result:
    """One request, outside any transaction. The signature's timestamp is the
    moment of sending, from the wall clock: receivers compare it with theirs
    (five minutes' tolerance), whatever ``now`` the scheduling used."""
    sent_at = clock.now()
    headers = {
        "content-type": "application/json",
        "webhook-id": claim.msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": sign(
            secrets_=claim.secrets, msg_id=claim.msg_id, timestamp=sent_at, body=claim.body
        ),
    }
    started = time.monotonic()
    try:
        with client.stream(
            "POST", claim.url, content=claim.body.encode(), headers=headers
        ) as response:
            excerpt = bytearray()
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= BODY_EXCERPT_CHARS * 4:
                    break
            text = excerpt.decode(errors="replace")[:BODY_EXCERPT_CHARS]
            return _Result(response.status_code, text, _ms(started), "")
    except httpx.TimeoutException:
        return _Result(None, "", _ms(started), "Timed out.")
    except httpx.HTTPError as exc:
        # httpx wraps the transport's errors; ours says why the address was refused.
        if isinstance(exc.__cause__, UnsafeAddress):
            return _Result(None, "", _ms(started), f"Refused: {exc}"[:500])
        return _Result(None, "", _ms(started), f"{type(exc).__name__}: {exc}"[:500])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _settle(*, tenant: Tenant, claim: _Claim, result: _Result, now: datetime) -> str | None:
    """Record the attempt's outcome and what follows; returns the endpoint's id
    if this failure disabled it."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(tenant=tenant, pk=claim.delivery_id)
        )
        error = result.error or ("" if result.ok else f"HTTP {result.status}")
        WebhookAttempt.objects.filter(tenant=tenant, pk=claim.attempt_id).update(
            outcome=Outcome.SUCCEEDED if result.ok else Outcome.FAILED,
            finished_at=now + timedelta(milliseconds=result.duration_ms),
            response_status=result.status,
            response_body=result.body,
            duration_ms=result.duration_ms,
            error=error,
        )
        endpoint = delivery.endpoint
        if result.ok:
            if delivery.status != Status.DELIVERED:
                delivery.status = Status.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                delivery.last_response_status = result.status
                delivery.last_error = ""
                delivery.updated_at = now
                delivery.save(
                    update_fields=[
                        "status",
                        "delivered_at",
                        "next_attempt_at",
                        "last_response_status",
                        "last_error",
                        "updated_at",
                    ]
                )
            # Written only when there is a streak to end: no contention on the
            # endpoint's row while it is healthy.
            WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(
                consecutive_failures=0, failing_since=None
            )
            return None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=Coalesce(F("failing_since"), now),
        )
        # A newer attempt (after a lapsed claim) or a success owns the delivery now.
        if delivery.status != Status.SENDING or delivery.attempt_count != claim.number:
            return None
        delivery.last_response_status = result.status
        delivery.last_error = error[:500]
        delivery.updated_at = now
        if claim.number <= len(RETRY_DELAYS):
            delay = RETRY_DELAYS[claim.number - 1]
            delivery.status = Status.PENDING
            delivery.next_attempt_at = now + delay * (1 + _random.uniform(0, JITTER))
        else:
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
        delivery.save(
            update_fields=[
                "status",
                "next_attempt_at",
                "last_response_status",
                "last_error",
                "updated_at",
            ]
        )
        if delivery.status == Status.FAILED:
            return _disable_if_failing(tenant, delivery, now)
        return None


def _disable_if_failing(tenant: Tenant, delivery: WebhookDelivery, now: datetime) -> str | None:
    """The delivery used up its retries: if nothing reached the endpoint since
    its first attempt (about three days), disable the endpoint and tell the merchant."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    first = (
        WebhookAttempt.objects.filter(tenant=tenant, delivery=delivery)
        .order_by("number")
        .values_list("started_at", flat=True)
        .first()
    )
    if (
        endpoint.status != WebhookEndpoint.Status.ENABLED
        or endpoint.failing_since is None
        or first is None
        or endpoint.failing_since > first
    ):
        return None
    _disable(endpoint, WebhookEndpoint.DisabledReason.FAILING, now)
    audit.record(
        tenant=tenant,
        actor=Actor.system("webhooks"),
        action="webhook_endpoint.disabled",
        target=endpoint,
        at=now,
        changes={"reason": "failing", "failing_since": endpoint.failing_since},
    )
    transaction.on_commit(partial(_notify_disabled, tenant.pk, endpoint.pk))
    logger.warning("webhooks.endpoint_disabled", endpoint=endpoint.public_id)
    return endpoint.public_id


def _notify_disabled(tenant_id: int, endpoint_id: int) -> None:
    """Email the merchant's owners and admins (and support address), after commit."""
    tenant = Tenant.objects.get(pk=tenant_id)
    endpoint = WebhookEndpoint.objects.filter(tenant=tenant).get(pk=endpoint_id)
    recipients = list(
        Membership.objects.filter(tenant=tenant, role__in=[Role.OWNER, Role.ADMIN])
        .order_by("pk")
        .values_list("user__email", flat=True)
    )
    if tenant.support_email:
        recipients.append(tenant.support_email)
    recipients = list(dict.fromkeys(r for r in recipients if r))
    if not recipients:
        return
    with translation.override(tenant.locale):
        subject = _("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url[:100]}
        body = _(
            "Every request to your webhook endpoint %(url)s has failed for three days, "
            "so %(name)s has stopped sending events to it.\n\n"
            "Events are still recorded. Fix the endpoint, enable it again in the dashboard "
            "(%(link)s), and replay the deliveries you missed."
        ) % {
            "url": endpoint.url,
            "name": tenant.name,
            "link": f"{settings.SITE_URL.rstrip('/')}/dashboard/notifications/webhooks/"
            f"{endpoint.public_id}/",
        }
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # the endpoint stays disabled; the event and dashboard still say so
        logger.exception("webhooks.disable_notice_failed", endpoint=endpoint.public_id)


def due_tenant_ids(*, now: datetime) -> list[int]:
    """Tenants with a delivery due (the caller opts into platform access)."""
    return list(
        WebhookDelivery.objects.filter(
            Q(status__in=[Status.PENDING, Status.SENDING]), next_attempt_at__lte=now
        )
        .values_list("tenant_id", flat=True)
        .distinct()
        .order_by()
    )
