"""Tax rates (ISS, VAT): create, edit, archive. One transaction each.

A plan points at its tax rate, and invoices copy the percentage onto their
lines when they are priced, so editing a rate changes what the next invoices
charge, never an issued one.
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


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("A tax rate needs a name.", param="name")
    if len(name.strip()) > 100:
        raise ValidationFailed("The name is at most 100 characters.", param="name")
    return name.strip()


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
) -> TaxRate:
    rate = TaxRate.objects.create(
        tenant=tenant,
        name=_clean_name(name),
        percent=_clean_percent(percent),
        inclusive=bool(inclusive),
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


@transaction.atomic
def tax_rate_update(
    *,
    tenant: Tenant,
    tax_rate_id: int,
    name: str,
    percent: Decimal,
    inclusive: bool,
    actor: Actor,
    now: datetime,
) -> TaxRate:
    """Rename or re-rate; invoices priced from now on use the new rate."""
    clean_name, clean_percent = _clean_name(name), _clean_percent(percent)
    rate = _locked(tenant, tax_rate_id)
    if not rate.active:
        raise StateConflict("An archived tax rate cannot change.", code="tax_rate_archived")
    old = {"name": rate.name, "percent": str(rate.percent), "inclusive": rate.inclusive}
    rate.name, rate.percent, rate.inclusive = clean_name, clean_percent, bool(inclusive)
    rate.save(update_fields=["name", "percent", "inclusive"])
    rate.refresh_from_db(fields=["percent"])
    new = {"name": rate.name, "percent": str(rate.percent), "inclusive": rate.inclusive}
    _record(
        tenant,
        rate,
        actor,
        now,
        event="tax_rate.updated",
        changes={k: [old[k], new[k]] for k in old if old[k] != new[k]},
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
