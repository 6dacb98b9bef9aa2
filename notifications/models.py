from functools import partial

from django.db import models

from core.ids import new_public_id
from tenants.models import TenantOwned


class Event(TenantOwned):
    """A domain event, written in the same transaction as the change (the outbox).

    Delivery (email, SMS, webhooks) reads from here at least once and
    deduplicates by ``public_id``.
    """

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "evt")
    )
    type = models.CharField(max_length=64)
    at = models.DateTimeField()
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "at", "id"], name="event_tenant_at"),
            models.Index(fields=["tenant", "subject_id"], name="event_tenant_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_id}"
