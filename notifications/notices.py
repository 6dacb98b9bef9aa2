"""Scheduled notices: a trial ends in 3 days, an annual plan renews in 7.

The sweep emits ``subscription.trial_will_end`` and ``invoice.upcoming`` (whose
messages the catalog sends) exactly once per subscription period: a ``Notice``
row, unique per (subscription, kind, announced moment), is written in the same
transaction as the event. Beat runs it hourly for live customers; test clocks
replay it through ``NoticeSweep`` (``settings.TEST_CLOCK_SWEEPS``) with the
clock's time as ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from notifications.models import MessageDelivery, Notice
from subscriptions.models import ScheduledChange, Subscription
from tenants.models import Tenant
from tenants.outbox import emit

logger = structlog.get_logger(__name__)

TRIAL_NOTICE = timedelta(days=3)
RENEWAL_NOTICE = timedelta(days=7)
TRIAL_WILL_END = "trial_will_end"
INVOICE_UPCOMING = "invoice_upcoming"


@dataclass(frozen=True, slots=True)
class _Due:
    subscription: Subscription
    kind: str
    announces: datetime  # the trial's end, or the renewal
    due_at: datetime  # when the notice goes out


def _annual() -> Q:
    return Q(plan__interval="year") | Q(plan__interval="month", plan__interval_count__gte=12)


def _noticed(kind: str, moment: str) -> Exists:
    return Exists(
        Notice.objects.filter(subscription=OuterRef("pk"), kind=kind, period_end=OuterRef(moment))
    )


def _scope(tenant: Tenant, clock: object | None) -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(tenant=tenant)
    return (
        qs.filter(customer__test_clock=clock)
        if clock
        else qs.filter(customer__test_clock__isnull=True)
    )


def _candidates(
    tenant: Tenant, *, clock: object | None, until: datetime, floor: datetime | None
) -> list[_Due]:
    """Notices due by ``until`` that were not sent; each goes out at the later of
    its notice time, the period's start and ``floor`` (the clock's time)."""
    base = _scope(tenant, clock)
    found: list[_Due] = []
    # Ending anyway at the announced moment: nothing will be charged, no notice.
    cancel_pending = ScheduledChange.objects.filter(
        subscription=OuterRef("pk"),
        kind=ScheduledChange.Kind.CANCEL,
        status=ScheduledChange.Status.PENDING,
        effective_at__lte=OuterRef("current_period_end"),
    )
    trials = (
        base.filter(status=Subscription.Status.TRIALING, trial_end__isnull=False)
        .filter(trial_end__lte=until + TRIAL_NOTICE)
        .exclude(Exists(cancel_pending))
        .exclude(_noticed(TRIAL_WILL_END, "trial_end"))
        .select_related("plan", "customer")
    )
    found.extend(
        _Due(sub, TRIAL_WILL_END, sub.trial_end, sub.trial_end - TRIAL_NOTICE) for sub in trials
    )
    renewals = (
        base.filter(_annual(), status=Subscription.Status.ACTIVE)
        .filter(current_period_end__lte=until + RENEWAL_NOTICE)
        .exclude(Exists(cancel_pending))
        .exclude(_noticed(INVOICE_UPCOMING, "current_period_end"))
        .select_related("plan", "customer")
    )
    found.extend(
        _Due(sub, INVOICE_UPCOMING, sub.current_period_end, sub.current_period_end - RENEWAL_NOTICE)
        for sub in renewals
    )
    due = []
    for item in found:
        at = max(item.due_at, item.subscription.current_period_start, floor or item.due_at)
        # Too late once the announced moment has come: the renewal engine acts then.
        if at < item.announces and at <= until:
            due.append(_Due(item.subscription, item.kind, item.announces, at))
    return sorted(due, key=lambda d: (d.due_at, d.subscription.pk))


def _emit_notice(tenant: Tenant, item: _Due, now: datetime) -> bool:
    sub = item.subscription
    if item.kind == TRIAL_WILL_END:
        event_type = "subscription.trial_will_end"
        data = {
            "subscription": sub.public_id,
            "customer": sub.customer.public_id,
            "trial_end": item.announces.isoformat(),
        }
    else:
        event_type = "invoice.upcoming"
        data = {
            "subscription": sub.public_id,
            "customer": sub.customer.public_id,
            "renews_at": item.announces.isoformat(),
            "amount": sub.plan.amount_minor * sub.quantity,
            "currency": sub.plan.currency,
        }
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                tenant=tenant,
                subscription=sub,
                kind=item.kind,
                period_end=item.announces,
                event_public_id="",
                created_at=now,
            )
            event_id = emit(
                tenant_id=tenant.pk,
                type=event_type,
                at=now,
                subject_type="subscription",
                subject_id=sub.public_id,
                data=data,
            )
            Notice.objects.filter(pk=notice.pk).update(event_public_id=event_id)
    except IntegrityError:
        return False  # another sweep sent it first
    return True


def notices_run(
    *, tenant: Tenant, now: datetime, clock: object | None = None, floor: datetime | None = None
) -> int:
    """Emit every notice due at ``now`` for the tenant's live customers (or a clock's)."""
    sent = 0
    for item in _candidates(tenant, clock=clock, until=now, floor=floor):
        sent += _emit_notice(tenant, item, now)
    return sent


def notices_sweep(*, now: datetime) -> int:
    """Beat's entry: every tenant, live customers."""
    from tenants.context import tenant_context

    total = 0
    for tenant in Tenant.objects.order_by("pk"):
        with tenant_context(tenant):
            total += notices_run(tenant=tenant, now=now)
    if total:
        logger.info("notices.sent", count=total)
    return total


class NoticeSweep:
    """The same notices on a test clock, at the clock's moments."""

    def next_due(self, *, tenant: Tenant, clock: object, until: datetime) -> datetime | None:
        due = _candidates(tenant, clock=clock, until=until, floor=clock.frozen_time)  # type: ignore[attr-defined]
        return due[0].due_at if due else None

    def run(self, *, tenant: Tenant, clock: object, now: datetime) -> None:
        notices_run(tenant=tenant, now=now, clock=clock, floor=clock.frozen_time)  # type: ignore[attr-defined]


@transaction.atomic
def clock_rows_delete(*, tenant: Tenant, clock: object) -> None:
    """Notifications' part in deleting a test clock (``settings.TEST_CLOCK_DELETERS``):
    the notices of its customers' subscriptions go; their messages stay, without
    the customer (as the foreign key's SET_NULL would leave them)."""
    Notice.objects.filter(tenant=tenant, subscription__customer__test_clock=clock).delete()
    MessageDelivery.objects.filter(tenant=tenant, customer__test_clock=clock).update(customer=None)
