"""The billing run: every due renewal, trial end, scheduled change and notice.

Partitioned by tenant (each under its own tenant context, so row-level security
holds), then claimed in batches with ``SELECT … FOR UPDATE SKIP LOCKED``: two
workers never take the same subscription, and a run killed midway leaves every
committed batch complete and the rest untouched, so running again finishes the
job. Each batch is computed in memory and written with bulk statements; the
unique (subscription, period start) constraint is the last wall against a
double invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.db import transaction
from django.db.models import QuerySet

from billing import pricing
from billing.models import Invoice
from billing.services import WrittenInvoice
from core.actors import SYSTEM
from customers.models import TestClock
from subscriptions import engine
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import Tenant

logger = structlog.get_logger(__name__)
DEFAULT_BATCH = 500


@dataclass
class RunStats:
    subscriptions: int = 0
    invoices: int = 0
    batches: int = 0
    tenants: list[str] = field(default_factory=list)


def _due(tenant: Tenant, now: datetime, clock: TestClock | None) -> QuerySet[Subscription]:
    qs = Subscription.objects.filter(tenant=tenant, next_event_at__lte=now)
    return (
        qs.filter(customer__test_clock=clock)
        if clock
        else qs.filter(customer__test_clock__isnull=True)
    )


def run_batch(
    *,
    tenant: Tenant,
    now: datetime,
    size: int = DEFAULT_BATCH,
    clock: TestClock | None = None,
    after_id: int = 0,
) -> tuple[int, int, int]:
    """Claim and process one batch; returns (subscriptions, invoices, last id)."""
    with transaction.atomic():
        subs = list(
            _due(tenant, now, clock)
            .filter(pk__gt=after_id)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")[:size]
        )
        if not subs:
            return 0, 0, after_id
        # Subscriptions advance (entitlement); billing prices what they owe and
        # writes it all, in this one transaction.
        batch = pricing.load(tenant, subs)
        engine.Engine(batch.lifecycle).advance_all(now)
        invoices = pricing.write(batch, now)
        _split_renewals(tenant=tenant, invoices=invoices, now=now)
        return len(subs), len(invoices), subs[-1].pk


def _split_renewals(*, tenant: Tenant, invoices: Sequence[WrittenInvoice], now: datetime) -> None:
    """A renewal of a subscription that chose installments at signup is split the
    same way (clamped to the plan's current maximum), in the batch's transaction:
    the charge sent after commit then takes only the first part."""
    from billing.payments import invoice_installments_create

    renewals = [
        i
        for i in invoices
        if i.billing_reason == Invoice.Reason.SUBSCRIPTION_CYCLE
        and i.status == Invoice.Status.OPEN
        and i.amount_due_minor > 0
        and i.subscription_id is not None
    ]
    if not renewals:
        return
    chosen = dict(
        Subscription.objects.filter(
            pk__in=[i.subscription_id for i in renewals], installments__gte=2
        ).values_list("pk", "installments")
    )
    for invoice in renewals:
        sub_id = invoice.subscription_id
        wanted = chosen.get(sub_id) if sub_id is not None else None
        if sub_id is None or wanted is None:
            continue
        plan_max = Subscription.objects.select_related("plan").get(pk=sub_id).plan.max_installments
        count = min(wanted, plan_max)
        if count >= 2:
            invoice_installments_create(
                tenant=tenant, invoice_id=invoice.id, count=count, actor=SYSTEM, now=now
            )


def billing_run(
    *,
    now: datetime,
    tenant: Tenant | None = None,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> RunStats:
    """Process everything due up to ``now`` for live customers (not test clocks)."""
    stats = RunStats()
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("pk"))
    for t in tenants:
        with tenant_context(t):
            last = 0
            while True:
                # Walking up the ids means a subscription another worker holds
                # (skipped) is not retried in a loop; the next run picks it up.
                count, invoices, last = run_batch(tenant=t, now=now, size=batch_size, after_id=last)
                if not count:
                    break
                stats.subscriptions += count
                stats.invoices += invoices
                stats.batches += 1
                if on_batch:
                    on_batch(count)
        stats.tenants.append(t.slug)
    logger.info(
        "billing_run.finished",
        subscriptions=stats.subscriptions,
        invoices=stats.invoices,
        batches=stats.batches,
    )
    return stats


def due_count(*, now: datetime, tenant: Tenant | None = None) -> int:
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("pk"))
    total = 0
    for t in tenants:
        with tenant_context(t):
            total += _due(t, now, None).count()
    return total
