"""Email and SMS to subscribers, planned from outbox events.

Contract with the outbox dispatcher (``notifications/outbox.py``): for each
event it calls ``plan_messages(event, now=…)`` inside the transaction that marks
the event dispatched; the function writes the messages to send (deduplicated by
event id) and arranges their sending after commit.

Planning writes one ``MessageDelivery`` per (event, template, channel,
recipient) — a unique constraint, so planning an event twice writes nothing
new — and, after commit, a task sends them. Sending follows the payments'
protocol: the row is claimed (``sending``, attempt n, a deadline) and
committed before the provider is called, and settled after (``sent`` with
the provider's id, or ``failed`` with the error and the time of the next try,
backing off exponentially up to ``MESSAGE_MAX_ATTEMPTS``). A completed send is
never repeated; a worker that dies mid-send leaves a ``sending`` row that the
sweep (``send_due``, every minute) claims again once its deadline passes, so
every message goes out at least once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from customers.models import Customer
from notifications import catalog
from notifications.message_context import (
    NoLongerRelevant,
    NotReady,
    build_context,
    customer_of,
    language_of,
    payment_kind_of,
    subjects_of,
)
from notifications.models import MessageDelivery
from tenants.models import Event, Tenant

logger = structlog.get_logger(__name__)

Status = MessageDelivery.Status
# A claimed row that was never settled is retried at most this many times
# beyond the normal attempts (a message that kills its worker must not loop).
_EXTRA_CLAIMS = 2
_RETRY_CAP = timedelta(hours=6)
_WAIT_RETRY = timedelta(minutes=1)


def _max_attempts() -> int:
    return int(settings.MESSAGE_MAX_ATTEMPTS)


def backoff(attempt: int) -> timedelta:
    """Wait before try ``attempt + 1``: base × 4^(attempt-1), capped (1m, 4m, 16m, 64m, 4h…)."""
    seconds = settings.MESSAGE_RETRY_BASE_SECONDS * 4 ** max(0, attempt - 1)
    return min(timedelta(seconds=seconds), _RETRY_CAP)


# --- planning ------------------------------------------------------------------


def _wanted(event: Event) -> list[tuple[catalog.MessageKind, tuple[str, ...]]]:
    if event.type == "dunning.reminder":
        data = event.data if isinstance(event.data, dict) else {}
        kind = catalog.get(str(data.get("template") or ""))
        channels = data.get("channels")
        if kind is None or not isinstance(channels, list):
            logger.warning(
                "messages.dunning_reminder_unusable",
                event_id=event.public_id,
                template=data.get("template"),
                channels=channels,
            )
            return []
        unknown = [c for c in channels if c not in kind.channels]
        if unknown:
            logger.warning(
                "messages.channel_not_available",
                event_id=event.public_id,
                template=kind.key,
                channels=unknown,
            )
        return [(kind, tuple(c for c in kind.channels if c in channels))]
    status = event.data.get("status") if isinstance(event.data, dict) else None
    return [(kind, kind.channels) for kind in catalog.kinds_for_event(event.type, status)]


def _invoice_needs_notice(invoice: object) -> bool:
    """An invoice is announced when the subscriber has to act on it: paid by
    boleto or Pix, sent for manual payment, or with no method to charge. A card
    charged automatically gets its receipt (or failure notice) instead."""
    from billing.models import Invoice

    if invoice is None or invoice.status != Invoice.Status.OPEN or invoice.amount_due_minor <= 0:  # type: ignore[attr-defined]
        return False
    sub = invoice.subscription if invoice.subscription_id else None  # type: ignore[attr-defined]
    if sub is not None and sub.collection_method == "send_invoice":
        return True
    return payment_kind_of(invoice) != "card"


def recipient_for(customer: Customer, channel: str, tenant: Tenant) -> str:
    from notifications.sms import default_region, to_e164

    if channel == catalog.EMAIL:
        return (customer.email or "").strip().lower()
    return to_e164(customer.phone, default_region=default_region(tenant)) or ""


def plan_messages(event: Event, *, now: datetime) -> None:
    """Write the email/SMS messages ``event`` calls for, and send them after commit."""
    wanted = _wanted(event)
    if not wanted:
        return
    subjects = subjects_of(event)
    if (
        event.type == "payment.failed"
        and subjects.payment is not None
        and subjects.payment.failure_announced
    ):
        # Whoever charged announces the failure in its own message (a dunning retry
        # step: "payment failed, update your card"); one email per failure, not two.
        wanted = [(kind, ch) for kind, ch in wanted if kind.key != "payment_failed"]
        if not wanted:
            return
    customer = customer_of(event, subjects)
    if customer is None:
        logger.info("messages.no_subscriber", event_id=event.public_id, type=event.type)
        return
    tenant = Tenant.objects.get(pk=event.tenant_id)
    language = language_of(customer, tenant)
    rows = []
    for kind, channels in wanted:
        if event.type == "invoice.finalized" and not _invoice_needs_notice(subjects.invoice):
            continue
        for channel in channels:
            recipient = recipient_for(customer, channel, tenant)
            if not recipient:
                continue  # no email address / no valid phone number: nothing to send
            opted_out = not kind.required and customer.marketing_off(channel)
            rows.append(
                MessageDelivery(
                    tenant_id=event.tenant_id,
                    event=event,
                    customer=customer,
                    template=kind.key,
                    channel=channel,
                    recipient=recipient[:254],
                    language=language,
                    required=kind.required,
                    status=Status.SKIPPED if opted_out else Status.PENDING,
                    error="opted out of marketing messages" if opted_out else "",
                    next_attempt_at=None if opted_out else now,
                    created_at=now,
                )
            )
    if not rows:
        return
    MessageDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        MessageDelivery.objects.filter(event=event, status=Status.PENDING, attempts=0).values_list(
            "pk", flat=True
        )
    )
    if ids:
        tenant_id = event.tenant_id
        transaction.on_commit(lambda: _enqueue(tenant_id, ids))


def _enqueue(tenant_id: int, ids: list[int]) -> None:
    from celery import current_task

    from notifications.tasks import send_messages_task

    # Planned by a task (the dispatcher): its workers' queue gets the sends too.
    info = getattr(getattr(current_task, "request", None), "delivery_info", None) or {}
    try:
        send_messages_task.apply_async(
            kwargs={"tenant_id": tenant_id, "delivery_ids": ids},
            queue=info.get("routing_key") or None,
        )
    except Exception:  # the broker is down: the sweep sends them (they are due)
        logger.exception("messages.enqueue_failed", tenant_id=tenant_id, ids=ids)


# --- sending -------------------------------------------------------------------


def _due(now: datetime) -> Q:
    # Fresh rows are due whatever the time they were planned at (a test clock's
    # frozen time may lie ahead of the wall clock).
    return Q(next_attempt_at__lte=now) | Q(status=Status.PENDING, attempts=0, error="")


def _claim(*, tenant: Tenant, delivery_id: int, now: datetime) -> MessageDelivery | None:
    """Step 1: record the attempt (committed) before anything is sent."""
    with transaction.atomic():
        row = (
            MessageDelivery.objects.select_for_update(skip_locked=True)
            .filter(_due(now), tenant=tenant, pk=delivery_id)
            .filter(status__in=[Status.PENDING, Status.SENDING, Status.FAILED])
            .first()
        )
        if row is None:
            return None  # sent, given up, not due yet, or another worker holds it
        if row.status == Status.SENDING and row.attempts >= _max_attempts() + _EXTRA_CLAIMS:
            row.status, row.next_attempt_at = Status.FAILED, None
            row.error = f"gave up: attempt {row.attempts} never reported back"
            row.save(update_fields=["status", "next_attempt_at", "error"])
            logger.error("messages.abandoned", delivery=row.public_id, attempts=row.attempts)
            return None
        if row.status == Status.SENDING:
            logger.warning("messages.reclaimed", delivery=row.public_id, attempt=row.attempts)
        row.status = Status.SENDING
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT_SECONDS)
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        return row


def _settle(row: MessageDelivery, **fields: object) -> bool:
    """Step 3: record the outcome, unless another worker reclaimed the row since."""
    updated = MessageDelivery.objects.filter(
        pk=row.pk, status=Status.SENDING, attempts=row.attempts
    ).update(**fields)
    if not updated:
        logger.warning("messages.settled_elsewhere", delivery=row.public_id, attempt=row.attempts)
    return bool(updated)


def unsubscribe_url_for(customer: Customer) -> str:
    from notifications.optout import unsubscribe_url

    return unsubscribe_url(customer)


def _send(row: MessageDelivery, *, tenant: Tenant, now: datetime) -> tuple[str, str]:
    """Step 2: render and hand to the provider; returns (provider id, subject)."""
    from notifications.email import OutgoingEmail, message_id_for, send_email
    from notifications.rendering import TemplateError, render_message
    from notifications.sms import OutgoingSms, send_sms

    customer = Customer.objects.filter(pk=row.customer_id).first() if row.customer_id else None
    if customer is None:
        raise NoLongerRelevant("the subscriber was deleted")
    if not row.required and customer.marketing_off(row.channel):
        raise NoLongerRelevant("opted out of marketing messages")
    unsubscribe = (
        unsubscribe_url_for(customer) if not row.required and row.channel == catalog.EMAIL else ""
    )
    waited = now - row.created_at >= timedelta(seconds=settings.MESSAGE_DETAILS_WAIT_SECONDS)
    context = build_context(
        event=Event.objects.get(pk=row.event_id),
        template=row.template,
        customer=customer,
        tenant=tenant,
        language=row.language,
        unsubscribe_url=unsubscribe,
        wait_for_details=not waited,
    )
    try:
        rendered = render_message(
            tenant=tenant,
            key=row.template,
            channel=row.channel,
            language=row.language,
            context=context,
        )
    except TemplateError:
        # Saved templates are checked when saved; should one still fail, the
        # subscriber gets Ciclo's wording rather than nothing.
        logger.exception("messages.tenant_template_failed", delivery=row.public_id)
        rendered = render_message(
            tenant=tenant,
            key=row.template,
            channel=row.channel,
            language=row.language,
            context=context,
            use_override=False,
        )
    if row.channel == catalog.EMAIL:
        provider_id = send_email(
            tenant=tenant,
            email=OutgoingEmail(
                message_id=message_id_for(row.public_id),
                to=row.recipient,
                language=row.language,
                rendered=rendered,
                unsubscribe_url=unsubscribe,
            ),
        )
    else:
        provider_id = send_sms(tenant=tenant, sms=OutgoingSms(to=row.recipient, body=rendered.text))
    return provider_id, rendered.subject


def deliver(*, tenant: Tenant, delivery_id: int, now: datetime) -> str | None:
    """Send one message if it is due; returns its status afterwards, or None
    when there was nothing to do. Call it outside any transaction: the claim
    must be committed before the send."""
    from notifications.email import EmailSendError
    from notifications.sms import SmsSendError

    row = _claim(tenant=tenant, delivery_id=delivery_id, now=now)
    if row is None:
        return None
    try:
        provider_id, subject = _send(row, tenant=tenant, now=now)
    except NotReady as exc:
        # Not an attempt: nothing was sent. Try again in a minute.
        _settle(
            row,
            status=Status.PENDING,
            attempts=row.attempts - 1,
            next_attempt_at=now + _WAIT_RETRY,
            error=f"waiting: {exc}",
        )
        return Status.PENDING
    except NoLongerRelevant as exc:
        _settle(row, status=Status.SKIPPED, next_attempt_at=None, error=str(exc))
        return Status.SKIPPED
    except (EmailSendError, SmsSendError) as exc:
        return _failed(row, str(exc), permanent=exc.permanent, now=now)
    except Exception as exc:  # a bug or an outage: recorded, retried, never lost
        logger.exception("messages.send_crashed", delivery=row.public_id)
        return _failed(row, f"{type(exc).__name__}: {exc}", permanent=False, now=now)
    _settle(
        row,
        status=Status.SENT,
        provider_id=provider_id[:200],
        subject=subject[:300],
        sent_at=now,
        next_attempt_at=None,
        error="",
    )
    logger.info("messages.sent", delivery=row.public_id, template=row.template, channel=row.channel)
    return Status.SENT


def _failed(row: MessageDelivery, error: str, *, permanent: bool, now: datetime) -> str:
    final = permanent or row.attempts >= _max_attempts()
    _settle(
        row,
        status=Status.FAILED,
        error=error[:2000],
        next_attempt_at=None if final else now + backoff(row.attempts),
    )
    logger.warning(
        "messages.failed", delivery=row.public_id, attempt=row.attempts, final=final, error=error
    )
    return Status.FAILED


def deliver_many(*, tenant: Tenant, delivery_ids: Sequence[int], now: datetime) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for delivery_id in delivery_ids:
        counts[deliver(tenant=tenant, delivery_id=delivery_id, now=now) or "none"] += 1
    return dict(counts)


def send_due(*, now: datetime, limit: int = 500) -> int:
    """The sweep: every tenant's due messages (new, retries, stale sends)."""
    from tenants.context import platform_access, tenant_context

    with platform_access():
        due = list(
            MessageDelivery.objects.filter(_due(now))
            .filter(status__in=[Status.PENDING, Status.SENDING, Status.FAILED])
            .order_by("next_attempt_at", "pk")
            .values_list("tenant_id", "pk")[:limit]
        )
        by_tenant: dict[int, list[int]] = defaultdict(list)
        for tenant_id, pk in due:
            by_tenant[tenant_id].append(pk)
        tenants = Tenant.objects.in_bulk(list(by_tenant))
    for tenant_id, ids in by_tenant.items():
        with tenant_context(tenants[tenant_id]):
            deliver_many(tenant=tenants[tenant_id], delivery_ids=ids, now=now)
    return len(due)
