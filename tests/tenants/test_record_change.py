"""One call tells a state change to the outbox and to the audit log."""

from __future__ import annotations

import pytest

from core import clock
from core.actors import Actor
from tenants.changes import record_change
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event

pytestmark = pytest.mark.django_db


def test_writes_the_event_and_the_audit_entry(acme) -> None:
    tenant, now = acme.tenant, clock.now()
    with tenant_context(tenant):
        event_id = record_change(
            tenant=tenant,
            actor=Actor.system("tests"),
            at=now,
            event="tenant.poked",
            subject_type="tenant",
            subject_id=tenant.slug,
            data={"why": "test"},
            target=tenant,
            changes={"poked": True},
        )
        record_change(
            tenant=tenant,
            actor=Actor.system("tests"),
            at=now,
            event="tenant.poked",
            subject_type="tenant",
            subject_id=tenant.slug,
            data={},
            target=tenant,
            action="tenant.poked_again",
        )
        event = Event.objects.get(public_id=event_id)
        actions = list(
            AuditEntry.objects.filter(action__startswith="tenant.poked")
            .order_by("id")
            .values_list("action", "changes", "target_id")
        )

    assert (event.type, event.subject_type, event.subject_id, event.data) == (
        "tenant.poked",
        "tenant",
        "acme",
        {"why": "test"},
    )
    assert actions == [
        ("tenant.poked", {"poked": True}, str(tenant.pk)),
        ("tenant.poked_again", {}, str(tenant.pk)),
    ]
