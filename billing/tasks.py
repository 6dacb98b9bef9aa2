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
    from billing.models import Installment, Invoice
    from billing.payments import invoice_charge
    from billing.pix_automatico import pix_lapsed_invoice
    from core.errors import NotFound, StateConflict
    from tenants.context import require_tenant

    tenant = require_tenant()
    # A rehearsal on a test clock charges at the moment the invoice was made
    # (the clock's frozen time still holds the start of the advance).
    clocks = {
        pk: issued or frozen
        for pk, issued, frozen in Invoice.objects.filter(
            pk__in=invoice_ids, customer__test_clock__isnull=False
        ).values_list("pk", "issued_at", "customer__test_clock__frozen_time")
    }
    split = dict(
        Installment.objects.filter(invoice_id__in=invoice_ids, number=1).values_list(
            "invoice_id", "pk"
        )
    )
    for invoice_id in invoice_ids:
        now = clocks.get(invoice_id) or clock.now()
        try:
            invoice_charge(
                tenant=tenant, invoice_id=invoice_id, now=now, installment_id=split.get(invoice_id)
            )
        except StateConflict as exc:
            if exc.code == "no_payment_method":
                # A subscription whose Pix Automático mandate lapsed goes to its régua.
                pix_lapsed_invoice(tenant=tenant, invoice_id=invoice_id, now=now)
        except NotFound:
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


@shared_task(name="billing.charge_due_installments", acks_late=True, ignore_result=True)
def charge_due_installments_task() -> None:
    """Charge every installment that has come due (live customers)."""
    from billing.models import Installment
    from billing.payments import invoice_charge
    from core.errors import NotFound, StateConflict
    from tenants.context import platform_access, tenant_context

    now = clock.now()
    with platform_access():
        due = list(
            Installment.objects.filter(
                status="scheduled",
                due_at__lte=now,
                invoice__status="open",
                invoice__customer__test_clock__isnull=True,
            ).select_related("tenant")[:1000]
        )
    for part in due:
        with tenant_context(part.tenant):
            try:
                invoice_charge(
                    tenant=part.tenant, invoice_id=part.invoice_id, now=now, installment_id=part.pk
                )
            except (StateConflict, NotFound):
                continue


@shared_task(name="billing.cards_expiring", acks_late=True, ignore_result=True)
def cards_expiring_task() -> None:
    """Daily: warn subscribers whose card is about to expire, once per card."""
    from customers.services import payment_methods_expiring_notify
    from tenants.context import tenant_context
    from tenants.models import Tenant

    now = clock.now()
    for tenant in Tenant.objects.order_by("pk"):
        with tenant_context(tenant):
            payment_methods_expiring_notify(tenant=tenant, now=now)


@shared_task(base=TenantTask, name="billing.clock_advance", acks_late=True, ignore_result=True)
def clock_advance_task(*, tenant_id: int, clock_id: int, actor: dict[str, str]) -> None:
    """Advance a test clock off the request (billing/clocks.py ``clock_advance_start``)."""
    from billing.clocks import clock_advance_run
    from core.actors import Actor
    from tenants.context import require_tenant

    clock_advance_run(
        tenant=require_tenant(), clock_id=clock_id, actor=Actor(**actor), now=clock.now()
    )


@shared_task(name="billing.pix_instructions_send", acks_late=True, ignore_result=True)
def pix_instructions_send_task() -> None:
    """Hourly: expire the Pix Automático mandates past their end date, then send
    each cycle's instruction once its window (D-10 to D-2) opens, every tenant;
    idempotent per (mandate, due date)."""
    from billing.pix_automatico import pix_instructions_send, pix_mandates_expire
    from tenants.context import tenant_context
    from tenants.models import Tenant

    now = clock.now()
    for tenant in Tenant.objects.order_by("pk"):
        with tenant_context(tenant):
            pix_mandates_expire(tenant=tenant, now=now)
            pix_instructions_send(tenant=tenant, now=now)
