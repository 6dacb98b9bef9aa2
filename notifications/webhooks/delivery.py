"""Sending deliveries, their retries, the attempts log, replays and the
automatic disabling of a failing endpoint.

Sending happens after commit, outside any transaction, per the Standard
Webhooks specification (``webhook-id`` is the event id, so the receiver
deduplicates retries and replays by it).

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

import secrets
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial

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

from core import clock
from core.actors import Actor
from core.bulk import bulk_set
from core.errors import NotFound, StateConflict
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.webhooks.endpoints import _disable, endpoint_get
from notifications.webhooks.enqueue import _enqueue_sends
from notifications.webhooks.payload import event_body
from notifications.webhooks.signing import sign, signing_secrets
from notifications.webhooks.urlguard import UnsafeAddress, _GuardedBackend
from tenants import audit
from tenants.models import Event, Membership, Tenant
from tenants.permissions import Role

# The name the log lines carried before the split, so that log searches still match.
logger = structlog.get_logger("notifications.webhooks")

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
BODY_EXCERPT_CHARS = 1000
SEND_THREADS = 8
SEND_CHUNK = 16
_random = secrets.SystemRandom()

Status = WebhookDelivery.Status
Outcome = WebhookAttempt.Outcome


def _lease() -> timedelta:
    """How long a claim holds: every request of a chunk, with room to spare."""
    rounds = -(-SEND_CHUNK // SEND_THREADS)
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 * rounds + 60)


def delivery_list(*, tenant: Tenant, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(tenant=tenant, endpoint=endpoint)
        .select_related("event", "endpoint")
        .order_by("-created_at", "-id")
    )


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
