"""Sellers (vendedores) and the most each may discount a plan. One transaction each.

A seller's coupon is checked against these caps when it is redeemed
(``billing.coupons``); a plan without a cap for the seller takes none of their coupons.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billing.models import Seller, SellerPlanCap
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from subscriptions.models import Plan
from tenants.changes import record_change
from tenants.models import Tenant


def _clean(name: Any, email: Any) -> tuple[str, str]:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("A seller needs a name.", param="name")
    if len(name.strip()) > 200:
        raise ValidationFailed("The name is at most 200 characters.", param="name")
    if not isinstance(email, str):
        raise ValidationFailed("Enter a valid email address.", param="email")
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed("Enter a valid email address.", param="email") from None
    return name.strip(), email


def _record(tenant: Tenant, seller: Seller, actor: Actor, now: datetime, **kw: Any) -> None:
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        subject_type="seller",
        subject_id=seller.public_id,
        data={"seller": seller.public_id, "name": seller.name},
        target=seller,
        **kw,
    )


@transaction.atomic
def seller_create(
    *, tenant: Tenant, name: str, actor: Actor, now: datetime, email: str = ""
) -> Seller:
    clean_name, clean_email = _clean(name, email)
    seller = Seller.objects.create(tenant=tenant, name=clean_name, email=clean_email)
    _record(tenant, seller, actor, now, event="seller.created", changes={"name": seller.name})
    return seller


def _locked(tenant: Tenant, seller_id: int) -> Seller:
    seller = Seller.objects.select_for_update().filter(tenant=tenant, pk=seller_id).first()
    if seller is None:
        raise NotFound("No such seller.", param="seller")
    return seller


@transaction.atomic
def seller_update(
    *, tenant: Tenant, seller_id: int, name: str, email: str, actor: Actor, now: datetime
) -> Seller:
    clean_name, clean_email = _clean(name, email)
    seller = _locked(tenant, seller_id)
    old = {"name": seller.name, "email": seller.email}
    seller.name, seller.email = clean_name, clean_email
    seller.save(update_fields=["name", "email"])
    new = {"name": seller.name, "email": seller.email}
    _record(
        tenant,
        seller,
        actor,
        now,
        event="seller.updated",
        # The log keeps that the email changed, not the address (personal data).
        changes={
            k: [old[k], new[k]] if k == "name" else "changed" for k in old if old[k] != new[k]
        },
    )
    return seller


@transaction.atomic
def seller_cap_set(
    *,
    tenant: Tenant,
    seller_id: int,
    plan_code: str,
    max_percent: Decimal | None,
    actor: Actor,
    now: datetime,
) -> SellerPlanCap | None:
    """Set the most ``seller`` may discount the plan ``plan_code`` (every version
    of it); ``None`` removes the cap, and with it the seller's coupons for that plan."""
    seller = _locked(tenant, seller_id)
    if (
        not isinstance(plan_code, str)
        or not Plan.objects.filter(tenant=tenant, code=plan_code).exists()
    ):
        raise ValidationFailed("No such plan.", param="plan_code")
    if max_percent is not None:
        if (
            not isinstance(max_percent, Decimal | int)
            or isinstance(max_percent, bool)
            or not Decimal(max_percent).is_finite()
        ):
            raise ValidationFailed("The cap must be a decimal number.", param="max_percent")
        value = Decimal(max_percent)
        exponent = cast(int, value.as_tuple().exponent)  # finite, so a number
        if not Decimal(0) <= value <= Decimal(100) or exponent < -2:
            raise ValidationFailed(
                "The cap must be from 0 to 100 %, to at most two decimals.", param="max_percent"
            )
    cap = SellerPlanCap.objects.filter(tenant=tenant, seller=seller, plan_code=plan_code).first()
    old = str(cap.max_percent) if cap is not None else None
    if max_percent is None:
        if cap is not None:
            cap.delete()
        cap = None
    elif cap is None:
        cap = SellerPlanCap.objects.create(
            tenant=tenant, seller=seller, plan_code=plan_code, max_percent=Decimal(max_percent)
        )
    else:
        cap.max_percent = Decimal(max_percent)
        cap.save(update_fields=["max_percent"])
    new = None if cap is None else str(Decimal(max_percent or 0).quantize(Decimal("0.01")))
    _record(
        tenant,
        seller,
        actor,
        now,
        event="seller.updated",
        action="seller.cap_set",
        changes={"plan_code": plan_code, "max_percent": [old, new]},
    )
    return cap
