"""Entitlements pushed, not only pulled: ``customer.entitlements.updated``.

``tenants.outbox.emit_many`` calls ``events_written`` (``settings.OUTBOX_LISTENERS``)
with the events it just wrote, in their transaction. For the customers whose
subscriptions those events are about, this module works out what each may use
now (``subscriptions.selectors``, the same as ``GET /customers/{id}/entitlements``),
compares it with what was last pushed (``EntitlementState``) and, only when it
differs, writes the state and emits one ``customer.entitlements.updated`` — a
webhook like every event. So activation, suspension, reactivation, cancellation,
pause, resume and plan changes push once each, and a renewal that changes
nothing pushes nothing. A batch of events costs a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from customers.models import Customer
from subscriptions.models import EntitlementState, Subscription
from subscriptions.selectors import entitled_subscriptions, entitlements_of
from tenants.context import current_tenant, tenant_context
from tenants.models import Tenant
from tenants.outbox import PendingEvent, emit_many

EVENT = "customer.entitlements.updated"


def events_written(events: Sequence[PendingEvent]) -> None:
    """``settings.OUTBOX_LISTENERS``: push the entitlements these events changed."""
    by_tenant: dict[int, dict[str, datetime]] = defaultdict(dict)
    for event in events:
        if event.subject_type == "subscription" and event.subject_id and event.type != EVENT:
            seen = by_tenant[event.tenant_id]
            seen[event.subject_id] = max(seen.get(event.subject_id, event.at), event.at)
    for tenant_id, subjects in by_tenant.items():
        current = current_tenant()
        tenant = (
            current
            if current is not None and current.pk == tenant_id
            else Tenant.objects.filter(pk=tenant_id).only("pk").first()
        )
        if tenant is None:
            continue
        with tenant_context(tenant):
            _push(tenant, subjects)


def _push(tenant: Tenant, subjects: dict[str, datetime]) -> None:
    at_by_customer: dict[int, datetime] = {}
    customers = dict(
        Subscription.objects.for_tenant(tenant)
        .filter(public_id__in=list(subjects))
        .values_list("public_id", "customer_id")
    )
    for public_id, customer_id in customers.items():
        at = subjects[public_id]
        at_by_customer[customer_id] = max(at_by_customer.get(customer_id, at), at)
    if not at_by_customer:
        return
    grouped: dict[int, list[Subscription]] = defaultdict(list)
    for sub in entitled_subscriptions(tenant=tenant, customer_ids=at_by_customer):
        grouped[sub.customer_id].append(sub)
    states = {
        s.customer_id: s
        for s in EntitlementState.objects.for_tenant(tenant).filter(
            customer_id__in=list(at_by_customer)
        )
    }
    public = dict(
        Customer.objects.for_tenant(tenant)
        .filter(pk__in=list(at_by_customer))
        .values_list("pk", "public_id")
    )
    created, updated, pushed = [], [], []
    for customer_id in sorted(at_by_customer):
        now = entitlements_of(grouped.get(customer_id, []))
        state = states.get(customer_id)
        if state is None and not now.subscriptions:
            continue  # never had anything, still has nothing: nothing to say
        if state is not None and (state.features, state.subscriptions) == (
            now.features,
            now.subscriptions,
        ):
            continue
        at = at_by_customer[customer_id]
        if state is None:
            created.append(
                EntitlementState(
                    tenant=tenant,
                    customer_id=customer_id,
                    features=now.features,
                    subscriptions=now.subscriptions,
                    updated_at=at,
                )
            )
        else:
            state.features, state.subscriptions, state.updated_at = (
                now.features,
                now.subscriptions,
                at,
            )
            updated.append(state)
        customer = public.get(customer_id, "")
        pushed.append(
            PendingEvent(
                tenant.pk,
                EVENT,
                at,
                "customer",
                customer,
                {
                    "customer": customer,
                    "features": now.features,
                    "subscriptions": now.subscriptions,
                    "plans": now.plans,
                    "has_access": bool(now.subscriptions),
                },
            )
        )
    if created:
        EntitlementState.objects.bulk_create(created)
    if updated:
        EntitlementState.objects.bulk_update(updated, ["features", "subscriptions", "updated_at"])
    if pushed:
        emit_many(pushed)
