from celery import shared_task

from core import clock


@shared_task(name="billing.run", acks_late=True, ignore_result=True)
def billing_run_task() -> None:
    """Beat fires this every minute: everything due, every tenant, in batches.

    Concurrent runs are safe (rows are claimed with SKIP LOCKED) and idempotent.
    """
    from billing.run import billing_run

    billing_run(now=clock.now())
