"""Coupons: creation, the seller's cap, redemption on a subscription.

A coupon's discount is priced with each invoice (``billing.pricing``); here it
is created and redeemed, one redemption per subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.db.models import F, Q

from billing.models import Coupon, CouponRedemption, Invoice, SellerPlanCap
from billing.terms import seller_cap_exceeded
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.money import is_known_currency
from customers.models import Customer
from subscriptions.models import Plan, Subscription
from subscriptions.services.catalog import check_amount, is_whole
from tenants import audit
from tenants.models import Tenant


def _check_discount(
    *,
    percent_off: Decimal | None,
    amount_off_minor: int | None,
    currency: str,
    duration: str,
    duration_cycles: int | None,
    applies_to: str,
    setup_percent_off: Decimal | None,
) -> None:
    """A coupon's discount terms, checked as a whole (creation and the change
    of a coupon nobody redeemed yet)."""
    if (percent_off is None) == (amount_off_minor is None):
        raise ValidationFailed("Give either percent_off or amount_off_minor.", param="percent_off")
    for param, pct in (("percent_off", percent_off), ("setup_percent_off", setup_percent_off)):
        if pct is None:
            continue
        if (
            not isinstance(pct, Decimal | int)
            or isinstance(pct, bool)
            or not Decimal(pct).is_finite()
        ):
            raise ValidationFailed(f"{param} must be a decimal number.", param=param)
        # Finite (checked above), so its exponent is a number.
        exponent = cast(int, Decimal(pct).as_tuple().exponent)
        if not (Decimal(0) < Decimal(pct) <= Decimal(100)) or exponent < -2:
            raise ValidationFailed(
                f"{param} must be above 0 and at most 100, to two decimals.", param=param
            )
    if amount_off_minor is not None:
        check_amount(amount_off_minor, "amount_off_minor")
        if amount_off_minor == 0:
            raise ValidationFailed("amount_off_minor must be positive.", param="amount_off_minor")
        if not isinstance(currency, str) or not is_known_currency(currency):
            raise ValidationFailed("An amount-off coupon needs its currency.", param="currency")
    if duration not in Coupon.Duration.values:
        raise ValidationFailed(f"Unknown duration: {duration}", param="duration")
    if duration == Coupon.Duration.REPEATING and not is_whole(duration_cycles, 1, 120):
        raise ValidationFailed(
            "A repeating coupon needs duration_cycles, a whole number from 1 to 120.",
            param="duration_cycles",
        )
    if applies_to not in Coupon.AppliesTo.values:
        raise ValidationFailed(f"Unknown target: {applies_to}", param="applies_to")


@transaction.atomic
def coupon_create(
    *,
    tenant: Tenant,
    code: str,
    actor: Actor,
    now: datetime,
    percent_off: Decimal | None = None,
    amount_off_minor: int | None = None,
    currency: str = "",
    duration: str = "once",
    duration_cycles: int | None = None,
    applies_to: str = "recurring",
    setup_percent_off: Decimal | None = None,
    max_redemptions: int | None = None,
    redeem_by: datetime | None = None,
    plan_codes: Sequence[str] = (),
    first_purchase_only: bool = False,
    seller_id: int | None = None,
    name: str = "",
) -> Coupon:
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise ValidationFailed("A coupon needs a code of at most 64 characters.", param="code")
    _check_discount(
        percent_off=percent_off,
        amount_off_minor=amount_off_minor,
        currency=currency,
        duration=duration,
        duration_cycles=duration_cycles,
        applies_to=applies_to,
        setup_percent_off=setup_percent_off,
    )
    if max_redemptions is not None and not is_whole(max_redemptions, 1, 10**9):
        raise ValidationFailed(
            "max_redemptions must be a whole number from 1 to 1,000,000,000.",
            param="max_redemptions",
        )
    if Coupon.objects.filter(tenant=tenant, code=code).exists():
        raise StateConflict(f"The coupon code '{code}' exists.", code="coupon_code_taken")
    coupon = Coupon.objects.create(
        tenant=tenant,
        code=code,
        name=name,
        percent_off=percent_off,
        setup_percent_off=setup_percent_off,
        amount_off_minor=amount_off_minor,
        currency=currency if amount_off_minor is not None else "",
        duration=duration,
        duration_cycles=duration_cycles if duration == Coupon.Duration.REPEATING else None,
        applies_to=applies_to,
        max_redemptions=max_redemptions,
        redeem_by=redeem_by,
        plan_codes=list(plan_codes),
        first_purchase_only=first_purchase_only,
        seller_id=seller_id,
    )
    audit.record(tenant=tenant, actor=actor, action="coupon.created", target=coupon, at=now)
    return coupon


def _check_seller_cap(coupon: Coupon, plan: Plan, quantity: int) -> None:
    """A seller's coupon may not discount any fee of the plan beyond their cap."""
    seller_id = cast(int, coupon.seller_id)  # called for a seller's coupon only
    cap = SellerPlanCap.objects.filter(seller_id=seller_id, plan_code=plan.code).first()
    if seller_cap_exceeded(coupon, plan, quantity, cap):
        raise ValidationFailed(
            f"The seller's coupon {coupon.code} exceeds their maximum discount for this plan.",
            param="coupon",
            code="coupon_over_seller_cap",
        )


def coupon_check(
    *,
    tenant: Tenant,
    code: str,
    customer: Customer,
    plan: Plan | None,
    quantity: int,
    now: datetime,
) -> Coupon:
    """The coupon ``code`` if ``customer`` may redeem it now on ``plan`` (None: on
    the customer, whose plans pricing checks invoice by invoice); raises the
    field's ``ValidationFailed`` otherwise. Redemption limits are taken by
    ``coupon_take``."""
    if not isinstance(code, str) or not code:
        raise ValidationFailed("Give a coupon code.", param="coupon", code="coupon_invalid")
    coupon = Coupon.objects.select_related("seller").filter(tenant=tenant, code=code).first()
    if coupon is None or not coupon.active:
        raise ValidationFailed(f"No such coupon: {code}", param="coupon", code="coupon_invalid")
    if coupon.redeem_by is not None and now >= coupon.redeem_by:
        raise ValidationFailed(f"The coupon {code} expired.", param="coupon", code="coupon_expired")
    if plan is not None and coupon.plan_codes and plan.code not in coupon.plan_codes:
        raise ValidationFailed(
            f"The coupon {code} does not apply to this plan.",
            param="coupon",
            code="coupon_not_applicable",
        )
    if (
        plan is not None
        and coupon.amount_off_minor is not None
        and coupon.currency != plan.currency
    ):
        raise ValidationFailed(
            f"The coupon {code} is in {coupon.currency}.",
            param="coupon",
            code="coupon_not_applicable",
        )
    if coupon.first_purchase_only and Invoice.objects.filter(customer=customer).exists():
        raise ValidationFailed(
            f"The coupon {code} is for a first purchase only.",
            param="coupon",
            code="coupon_not_applicable",
        )
    if plan is not None and coupon.seller_id is not None:
        _check_seller_cap(coupon, plan, quantity)
    return coupon


def coupon_take(coupon: Coupon) -> None:
    """Count one redemption, within ``max_redemptions``."""
    # Conditional UPDATE: two checkouts cannot both take the last redemption.
    taken = (
        Coupon.objects.filter(pk=coupon.pk)
        .filter(Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions")))
        .update(times_redeemed=F("times_redeemed") + 1)
    )
    if not taken:
        raise ValidationFailed(
            f"The coupon {coupon.code} was fully redeemed.",
            param="coupon",
            code="coupon_exhausted",
        )


def redemption_cycles(coupon: Coupon) -> int | None:
    return {"once": 1, "repeating": coupon.duration_cycles, "forever": None}[coupon.duration]


def coupon_redeem(
    *, tenant: Tenant, code: str, customer: Customer, plan: Plan, sub: Subscription, now: datetime
) -> CouponRedemption:
    coupon = coupon_check(
        tenant=tenant, code=code, customer=customer, plan=plan, quantity=sub.quantity, now=now
    )
    coupon_take(coupon)
    return CouponRedemption.objects.create(
        tenant=tenant,
        coupon=coupon,
        customer=customer,
        subscription=sub,
        redeemed_at=now,
        cycles_left=redemption_cycles(coupon),
    )


# What a coupon can change at any time: who may still redeem it and until when.
# Its discount (amount or percentage, duration, target) is read by every renewal
# of the subscriptions that redeemed it, so it changes only before the first
# redemption (``coupon_discount_change``); after that a different discount is a
# new coupon.
COUPON_EDITABLE = ("name", "max_redemptions", "redeem_by", "plan_codes", "first_purchase_only")


def _coupon_value(coupon: Coupon, field: str, value: Any) -> Any:
    if field == "name":
        if not isinstance(value, str) or len(value.strip()) > 200:
            raise ValidationFailed("A coupon's name has at most 200 characters.", param=field)
        return value.strip()
    if field == "max_redemptions":
        if value is None:
            return None
        if not is_whole(value, 1, 10**9):
            raise ValidationFailed(
                "max_redemptions must be a whole number from 1 to 1,000,000,000.", param=field
            )
        if value < coupon.times_redeemed:
            raise ValidationFailed(
                f"The coupon was redeemed {coupon.times_redeemed} times already: "
                "the maximum cannot be lower.",
                param=field,
            )
        return value
    if field == "redeem_by":
        if value is not None and not isinstance(value, datetime):
            raise ValidationFailed("redeem_by must be a date and time.", param=field)
        return value
    if field == "plan_codes":
        if not isinstance(value, list | tuple) or not all(
            isinstance(c, str) and c and len(c) <= 64 for c in value
        ):
            raise ValidationFailed("plan_codes must be a list of plan codes.", param=field)
        return sorted(set(value))
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field} must be true or false.", param=field)
    return value


@transaction.atomic
def coupon_update(
    *, tenant: Tenant, coupon_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Coupon:
    """Change some of ``COUPON_EDITABLE``; a change to the values it has is a no-op."""
    coupon = Coupon.objects.select_for_update().filter(tenant=tenant, pk=coupon_id).first()
    if coupon is None:
        raise NotFound("No such coupon.", param="coupon")
    unknown = sorted(set(changes) - set(COUPON_EDITABLE))
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]} cannot be changed: a different discount is a new coupon.",
            param=unknown[0],
        )
    values = {field: _coupon_value(coupon, field, raw) for field, raw in changes.items()}
    diff = {
        field: [getattr(coupon, field), value]
        for field, value in values.items()
        if getattr(coupon, field) != value
    }
    if not diff:
        return coupon
    for field, (_old, new) in diff.items():
        setattr(coupon, field, new)
    coupon.save(update_fields=list(diff))
    audit.record(
        tenant=tenant, actor=actor, action="coupon.updated", target=coupon, at=now, changes=diff
    )
    return coupon


@transaction.atomic
def coupon_set_active(
    *, tenant: Tenant, coupon_id: int, active: bool, actor: Actor, now: datetime
) -> Coupon:
    """Archive a coupon (no new redemptions; the subscriptions that redeemed it
    keep their discount) or make it redeemable again. Idempotent."""
    coupon = Coupon.objects.select_for_update().filter(tenant=tenant, pk=coupon_id).first()
    if coupon is None:
        raise NotFound("No such coupon.", param="coupon")
    if coupon.active == active:
        return coupon
    coupon.active = active
    coupon.save(update_fields=["active"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="coupon.unarchived" if active else "coupon.archived",
        target=coupon,
        at=now,
        changes={"active": [not active, active]},
    )
    return coupon


@transaction.atomic
def coupon_discount_change(
    *,
    tenant: Tenant,
    coupon_id: int,
    actor: Actor,
    now: datetime,
    percent_off: Decimal | None = None,
    amount_off_minor: int | None = None,
    currency: str = "",
    duration: str = "once",
    duration_cycles: int | None = None,
    applies_to: str = "recurring",
    setup_percent_off: Decimal | None = None,
) -> Coupon:
    """Change the discount of a coupon nobody has redeemed yet. Once redeemed,
    every renewal of those subscriptions prices it: it never changes again."""
    coupon = Coupon.objects.select_for_update().filter(tenant=tenant, pk=coupon_id).first()
    if coupon is None:
        raise NotFound("No such coupon.", param="coupon")
    if coupon.times_redeemed or CouponRedemption.objects.filter(coupon=coupon).exists():
        raise StateConflict(
            "The coupon was redeemed: its discount cannot change. Create a new coupon.",
            code="coupon_redeemed",
        )
    _check_discount(
        percent_off=percent_off,
        amount_off_minor=amount_off_minor,
        currency=currency,
        duration=duration,
        duration_cycles=duration_cycles,
        applies_to=applies_to,
        setup_percent_off=setup_percent_off,
    )
    values = {
        "percent_off": percent_off,
        "amount_off_minor": amount_off_minor,
        "currency": currency if amount_off_minor is not None else "",
        "duration": duration,
        "duration_cycles": duration_cycles if duration == Coupon.Duration.REPEATING else None,
        "applies_to": applies_to,
        "setup_percent_off": setup_percent_off,
    }
    diff = {k: [getattr(coupon, k), v] for k, v in values.items() if getattr(coupon, k) != v}
    if not diff:
        return coupon
    for field, (_old, new) in diff.items():
        setattr(coupon, field, new)
    coupon.save(update_fields=list(diff))
    audit.record(
        tenant=tenant,
        actor=actor,
        action="coupon.discount_changed",
        target=coupon,
        at=now,
        changes=diff,
    )
    return coupon
