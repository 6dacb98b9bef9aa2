from datetime import timedelta

from celery import shared_task

from core import clock
from tenants.tasks import TenantTask


@shared_task(name="billing.run", acks_late=True, ignore_result=True)
def billing_run_task() -> None:
    """Beat fires this every minute: everything due, every tenant, in batches.

    Concurrent runs are safe (rows are claimed with SKIP LOCKED) and idempotent.
    """
    from billing.run import billing_run

    billing_run(now=clock.now())


@shared_task(base=TenantTask, name="billing.charge_invoices", acks_late=True, ignore_result=True)
def charge_invoices_task(*, tenant_id: int, invoice_ids: list[int]) -> None:
    """Charge a batch's new invoices off-session (one task per batch, not per
    invoice). An invoice that cannot be charged now (no payment method, already
    paid) is left to dunning."""
    from billing.models import Invoice
    from billing.payments import invoice_charge
    from core.errors import NotFound, StateConflict
    from tenants.context import require_tenant

    tenant = require_tenant()
    clocks = dict(
        Invoice.objects.filter(pk__in=invoice_ids, customer__test_clock__isnull=False).values_list(
            "pk", "customer__test_clock__frozen_time"
        )
    )
    for invoice_id in invoice_ids:
        try:
            # A rehearsal on a test clock charges at the clock's time.
            now = clocks.get(invoice_id) or clock.now()
            invoice_charge(tenant=tenant, invoice_id=invoice_id, now=now)
        except (StateConflict, NotFound):
            continue


@shared_task(name="billing.reconcile_payments", acks_late=True, ignore_result=True)
def reconcile_payments_task() -> None:
    """Settle attempts left pending by a timeout, asking the gateway under their key."""
    from billing.models import PaymentAttempt
    from billing.payments import payment_attempt_reconcile
    from tenants.context import platform_access, tenant_context

    now = clock.now()
    with platform_access():
        stale = list(
            PaymentAttempt.objects.filter(
                status="pending", created_at__lte=now - timedelta(minutes=5)
            ).select_related("tenant")[:1000]
        )
    for attempt in stale:
        with tenant_context(attempt.tenant):
            payment_attempt_reconcile(tenant=attempt.tenant, attempt_id=attempt.pk, now=now)
