"""Tax rates (ISS, VAT): create, edit, archive. One transaction each.

A plan points at its tax rate, and invoices copy the percentage onto their
lines when they are priced, so editing a rate would change what the next
invoices charge, never an issued one. Once a rate has priced an invoice line
its percentage and its mode (inclusive or on top) are fixed: the same rate
must not mean two things on two invoices. A new rate is made instead; the
name and the description stay editable.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.db import transaction

from billing.models import TaxRate
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from tenants.changes import record_change
from tenants.models import Tenant

# What ``tax_rate_update`` leaves as it is (None is a bad value, not "unchanged").
KEEP: Any = object()


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("A tax rate needs a name.", param="name")
    if len(name.strip()) > 100:
        raise ValidationFailed("The name is at most 100 characters.", param="name")
    return name.strip()


def _clean_description(description: Any) -> str:
    if not isinstance(description, str):
        raise ValidationFailed("The description must be text.", param="description")
    if len(description.strip()) > 300:
        raise ValidationFailed("The description is at most 300 characters.", param="description")
    return description.strip()


def _clean_percent(percent: Any) -> Decimal:
    if (
        not isinstance(percent, Decimal | int)
        or isinstance(percent, bool)
        or not Decimal(percent).is_finite()
    ):
        raise ValidationFailed("The rate must be a decimal number.", param="percent")
    value = Decimal(percent)
    exponent = cast(int, value.as_tuple().exponent)  # finite, so a number
    if not Decimal(0) <= value <= Decimal(100) or exponent < -4:
        raise ValidationFailed(
            "The rate must be from 0 to 100 %, to at most four decimals.", param="percent"
        )
    return value


def _record(tenant: Tenant, rate: TaxRate, actor: Actor, now: datetime, **kw: Any) -> None:
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        subject_type="tax_rate",
        subject_id=rate.public_id,
        data={
            "tax_rate": rate.public_id,
            "name": rate.name,
            "description": rate.description,
            "percent": str(rate.percent),
            "inclusive": rate.inclusive,
            "active": rate.active,
        },
        target=rate,
        **kw,
    )


@transaction.atomic
def tax_rate_create(
    *,
    tenant: Tenant,
    name: str,
    percent: Decimal,
    actor: Actor,
    now: datetime,
    inclusive: bool = False,
    description: str = "",
) -> TaxRate:
    if not isinstance(inclusive, bool):
        raise ValidationFailed("inclusive is true or false.", param="inclusive")
    rate = TaxRate.objects.create(
        tenant=tenant,
        name=_clean_name(name),
        description=_clean_description(description),
        percent=_clean_percent(percent),
        inclusive=inclusive,
    )
    _record(
        tenant,
        rate,
        actor,
        now,
        event="tax_rate.created",
        changes={"name": rate.name, "percent": str(rate.percent), "inclusive": rate.inclusive},
    )
    return rate


def _locked(tenant: Tenant, tax_rate_id: int) -> TaxRate:
    rate = TaxRate.objects.select_for_update().filter(tenant=tenant, pk=tax_rate_id).first()
    if rate is None:
        raise NotFound("No such tax rate.", param="tax_rate")
    return rate


def tax_rate_used(*, rate: TaxRate) -> bool:
    """Whether the rate has priced an invoice line: a line of a plan (any version)
    that points at it, or a hand-made line at its very percentage and mode (those
    lines keep the percentage, not the rate, so a twin rate counts too: the safe side)."""
    from billing.models import InvoiceLine

    lines = InvoiceLine.objects.filter(tenant_id=rate.tenant_id, tax_percent__isnull=False)
    return (
        lines.filter(plan__tax_rate=rate).exists()
        or lines.filter(
            plan__isnull=True, tax_percent=rate.percent, tax_inclusive=rate.inclusive
        ).exists()
    )


@transaction.atomic
def tax_rate_update(
    *,
    tenant: Tenant,
    tax_rate_id: int,
    actor: Actor,
    now: datetime,
    name: Any = KEEP,
    percent: Any = KEEP,
    inclusive: Any = KEEP,
    description: Any = KEEP,
) -> TaxRate:
    """Rename, describe or re-rate (what is not given stays). Re-rating is for a
    rate no invoice used yet; after that, invoices priced from now on need a new rate."""
    clean_name = _clean_name(name) if name is not KEEP else KEEP
    clean_description = _clean_description(description) if description is not KEEP else KEEP
    clean_percent = _clean_percent(percent) if percent is not KEEP else KEEP
    if inclusive is not KEEP and not isinstance(inclusive, bool):
        raise ValidationFailed("inclusive is true or false.", param="inclusive")
    rate = _locked(tenant, tax_rate_id)
    if not rate.active:
        raise StateConflict("An archived tax rate cannot change.", code="tax_rate_archived")
    fields = ("name", "description", "percent", "inclusive")
    old = {k: getattr(rate, k) for k in fields}
    given = zip(fields, (clean_name, clean_description, clean_percent, inclusive), strict=True)
    new = old | {key: value for key, value in given if value is not KEEP}
    for key in ("percent", "inclusive"):
        if new[key] != old[key] and tax_rate_used(rate=rate):
            raise StateConflict(
                f"This tax rate is on issued invoices, so its {key} cannot change: "
                "create a new tax rate and point the plans at it "
                "(you may archive this one).",
                code="tax_rate_in_use",
                param=key,
            )
    changed = [k for k in fields if new[k] != old[k]]
    if not changed:
        return rate
    for key in changed:
        setattr(rate, key, new[key])
    rate.save(update_fields=changed)
    rate.refresh_from_db(fields=["percent"])
    shown = {
        k: str(v) if k == "percent" else v for k, v in {k: getattr(rate, k) for k in fields}.items()
    }
    before = {k: str(v) if k == "percent" else v for k, v in old.items()}
    _record(
        tenant,
        rate,
        actor,
        now,
        event="tax_rate.updated",
        changes={k: [before[k], shown[k]] for k in changed if before[k] != shown[k]},
    )
    return rate


@transaction.atomic
def tax_rate_archive(*, tenant: Tenant, tax_rate_id: int, actor: Actor, now: datetime) -> TaxRate:
    """An archived rate is offered to no new plan; the plans that use it keep it."""
    rate = _locked(tenant, tax_rate_id)
    if not rate.active:
        raise StateConflict("The tax rate is archived already.", code="tax_rate_archived")
    rate.active = False
    rate.save(update_fields=["active"])
    _record(
        tenant,
        rate,
        actor,
        now,
        event="tax_rate.updated",
        action="tax_rate.archived",
        changes={"active": [True, False]},
    )
    return rate
