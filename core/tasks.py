"""Platform-wide housekeeping tasks."""

from celery import shared_task

from core import clock


@shared_task(name="core.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    """Hourly: forget Idempotency-Keys older than their 24-hour lifetime."""
    from core.idempotency import idempotency_keys_purge

    return idempotency_keys_purge(now=clock.now())
