"""Price tables: a merchant's plans side by side on one hosted page, each
leading to that plan's checkout. Managed on the dashboard; the page lives at
``/t/<slug>/checkout/pricing/<ptab_id>/`` and may be shared, printed as a QR
code or embedded like a plan's checkout."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from checkout.models import PriceTable
from checkout.services import checkout_plan
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from subscriptions.models import Plan
from tenants.changes import record_change
from tenants.models import Tenant

MAX_PLANS = 6


def _name(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(_("Give the table a name."), param="name")
    if "\x00" in text or any(ord(c) < 32 for c in text):
        raise ValidationFailed(_("Remove the control characters."), param="name")
    if len(text) > 120:
        raise ValidationFailed(_("At most 120 characters."), param="name")
    return text


def _plans(tenant: Tenant, plan_ids: Any, highlighted: Any) -> tuple[list[str], str]:
    """The plans (active ones of ``tenant``, current versions, no repeats, in
    order) and the highlighted one (one of them, or none)."""
    if not isinstance(plan_ids, Sequence) or isinstance(plan_ids, str) or not plan_ids:
        raise ValidationFailed(_("Choose at least one plan."), param="plans")
    if len(plan_ids) > MAX_PLANS:
        raise ValidationFailed(
            _("At most %(n)d plans in one table.") % {"n": MAX_PLANS}, param="plans"
        )
    found: list[Plan] = []
    for plan_id in plan_ids:
        try:
            plan = checkout_plan(tenant=tenant, plan_id=plan_id)
        except NotFound:
            raise ValidationFailed(
                _("Choose active plans of this account."), param="plans"
            ) from None
        if any(plan.pk == seen.pk for seen in found):
            raise ValidationFailed(_("Each plan may appear once."), param="plans")
        found.append(plan)
    ids = [plan.public_id for plan in found]
    pick = highlighted if isinstance(highlighted, str) else ""
    if pick and pick not in ids:
        raise ValidationFailed(_("Highlight one of the table's plans."), param="highlighted")
    return ids, pick


@transaction.atomic
def price_table_create(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    name: Any,
    plans: Any,
    highlighted: Any = "",
) -> PriceTable:
    ids, pick = _plans(tenant, plans, highlighted)
    table = PriceTable.objects.create(
        tenant=tenant,
        name=_name(name),
        plans=ids,
        highlighted=pick,
        created_at=now,
        updated_at=now,
    )
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="price_table.created",
        subject_type="price_table",
        subject_id=table.public_id,
        data={"name": table.name, "plans": ids, "highlighted": pick},
        target=table,
    )
    return table


@transaction.atomic
def price_table_update(
    *,
    tenant: Tenant,
    table_id: int,
    actor: Actor,
    now: datetime,
    name: Any,
    plans: Any,
    highlighted: Any = "",
) -> PriceTable:
    table = PriceTable.objects.select_for_update().filter(tenant=tenant, pk=table_id).first()
    if table is None or not table.active:
        raise NotFound(_("No such price table."), param="id")
    ids, pick = _plans(tenant, plans, highlighted)
    before = {"name": table.name, "plans": table.plans, "highlighted": table.highlighted}
    table.name, table.plans, table.highlighted, table.updated_at = _name(name), ids, pick, now
    table.save(update_fields=["name", "plans", "highlighted", "updated_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="price_table.updated",
        subject_type="price_table",
        subject_id=table.public_id,
        data={"before": before, "name": table.name, "plans": ids, "highlighted": pick},
        target=table,
    )
    return table


@transaction.atomic
def price_table_archive(
    *, tenant: Tenant, table_id: int, actor: Actor, now: datetime
) -> PriceTable:
    """Its page stops answering; the row stays for the audit trail."""
    table = PriceTable.objects.select_for_update().filter(tenant=tenant, pk=table_id).first()
    if table is None:
        raise NotFound(_("No such price table."), param="id")
    if not table.active:
        return table
    table.active, table.updated_at = False, now
    table.save(update_fields=["active", "updated_at"])
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="price_table.archived",
        subject_type="price_table",
        subject_id=table.public_id,
        data={},
        target=table,
    )
    return table


def price_table_open(*, tenant: Tenant, table_id: Any) -> PriceTable:
    """An active table of ``tenant`` by its public id, for the hosted page."""
    table = (
        PriceTable.objects.filter(tenant=tenant, public_id=table_id, active=True).first()
        if isinstance(table_id, str) and "\x00" not in table_id and len(table_id) <= 64
        else None
    )
    if table is None:
        raise NotFound(_("No such price table."), param="id")
    return table


def price_table_plans(table: PriceTable) -> list[tuple[Plan, bool]]:
    """The plans to show now, each with whether it is the highlighted one:
    current versions, archived plans left out."""
    shown: list[tuple[Plan, bool]] = []
    for plan_id in table.plans:
        try:
            plan = checkout_plan(tenant=table.tenant, plan_id=plan_id)
        except NotFound:
            continue
        if all(plan.pk != seen.pk for seen, _h in shown):
            shown.append((plan, plan_id == table.highlighted))
    return shown
