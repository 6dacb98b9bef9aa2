"""Celery tasks of the subscriptions app: the daily readjustment sweep."""

from __future__ import annotations

from celery import shared_task

from core import clock
from tenants.tasks import TenantTask


@shared_task(name="subscriptions.readjustments_sweep", acks_late=True, ignore_result=True)
def readjustments_sweep_task() -> None:
    """Beat, hourly: one task per tenant (each decides what its notice day brought)."""
    from tenants.models import Tenant

    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        readjustments_run_tenant_task.delay(tenant_id=tenant_id)


@shared_task(
    base=TenantTask,
    name="subscriptions.readjustments_run_tenant",
    acks_late=True,
    ignore_result=True,
)
def readjustments_run_tenant_task(*, tenant_id: int) -> int:
    """Decide and notify the tenant's automatic readjustments due for notice.
    Idempotent: a second run sends nothing (one readjustment per contract and date)."""
    from core.actors import Actor
    from subscriptions.services.readjustment import readjustments_sweep
    from tenants.context import require_tenant

    return readjustments_sweep(
        tenant=require_tenant(), now=clock.now(), actor=Actor.system("readjustment")
    )
