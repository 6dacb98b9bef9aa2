"""Handing deliveries to the send task (after commit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _enqueue_sends(tenant_id: int, delivery_ids: Sequence[int], queue: str | None) -> None:
    from notifications.tasks import webhooks_send_task

    # The queue only when one is given: Celery fills a missing one with the task's
    # own (None here), so the message is routed as before, and the stubs want a name.
    options: dict[str, Any] = {} if queue is None else {"queue": queue}
    for start in range(0, len(delivery_ids), 100):
        webhooks_send_task.apply_async(
            kwargs={
                "tenant_id": tenant_id,
                "delivery_ids": list(delivery_ids[start : start + 100]),
            },
            **options,
        )


def _enqueue_due(tenant_id: int) -> None:
    from notifications.tasks import webhooks_send_task

    webhooks_send_task.apply_async(kwargs={"tenant_id": tenant_id})
