"""Beat: the daily snapshot of every tenant (``settings.CELERY_BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from core import clock
from reports.snapshots import snapshot_build
from tenants.context import tenant_context
from tenants.models import Tenant


@shared_task(name="reports.snapshot", acks_late=True)
def snapshot_task() -> int:
    """Roll each tenant's finished days into the snapshot; idempotent, so the
    hourly schedule only does work once a day (and when history was written late)."""
    now = clock.now()
    written = 0
    for tenant in Tenant.objects.order_by("pk"):
        with tenant_context(tenant):
            written += snapshot_build(tenant=tenant, now=now)
    return written
