"""Celery tasks of the régua: the hourly sweep fans out one task per tenant."""

from __future__ import annotations

from celery import shared_task

from core import clock
from tenants.tasks import TenantTask


@shared_task(name="dunning.sweep", acks_late=True, ignore_result=True)
def dunning_sweep_task() -> None:
    """Beat, every hour on the hour: one task per tenant. Each step is due at
    its tenant's local hour, so each tenant's steps run at that hour."""
    from tenants.models import Tenant

    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        dunning_run_tenant_task.delay(tenant_id=tenant_id)


@shared_task(base=TenantTask, name="dunning.run_tenant", acks_late=True, ignore_result=True)
def dunning_run_tenant_task(*, tenant_id: int) -> None:
    """Run every dunning step due for the tenant's live customers. Idempotent:
    two of these at once still run each step once."""
    from dunning.services import dunning_run_due
    from tenants.context import require_tenant

    dunning_run_due(tenant=require_tenant(), now=clock.now())
