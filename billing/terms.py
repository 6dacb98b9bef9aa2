"""Snapshots of catalog rows (plan versions, coupons) as the pricing domain sees them."""

from dataclasses import replace
from decimal import Decimal

from billing.domain.invoicing import Discount, PlanTerms
from billing.models import Coupon, SellerPlanCap
from subscriptions.domain.catalog import tiers_of
from subscriptions.models import Plan


def plan_terms(plan: Plan) -> PlanTerms:
    """The pricing view of a plan version, computed once per loaded instance
    (a billing-run batch shares one instance per plan)."""
    cached = plan.__dict__.get("_ciclo_terms")
    if cached is None:
        cached = plan.__dict__["_ciclo_terms"] = _terms(plan)
    return cached


def contract_terms(plan: Plan, unit_amount_minor: int | None) -> PlanTerms:
    """The plan's terms at a contract's own readjusted unit price, when it has one."""
    terms = plan_terms(plan)
    if unit_amount_minor is None or unit_amount_minor == terms.amount_minor:
        return terms
    return replace(terms, amount_minor=unit_amount_minor)


def _terms(plan: Plan) -> PlanTerms:
    tax = plan.tax_rate
    return PlanTerms(
        id=plan.pk,
        name=plan.name,
        code=plan.code,
        currency=plan.currency,
        amount_minor=plan.amount_minor,
        pricing_model=plan.pricing_model,
        tiers=tiers_of(plan.tiers),
        setup_fee_minor=plan.setup_fee_minor,
        interval=plan.interval,
        interval_count=plan.interval_count,
        tax_percent=Decimal(tax.percent) if tax is not None and tax.active else None,
        tax_inclusive=bool(tax and tax.inclusive),
    )


def coupon_discount(coupon: Coupon, *, recurring: bool = True) -> Discount:
    applies = coupon.applies_to
    return Discount(
        coupon_id=coupon.pk,
        code=coupon.code,
        percent_off=coupon.percent_off,
        setup_percent_off=coupon.setup_percent_off,
        amount_off_minor=coupon.amount_off_minor,
        on_recurring=recurring and applies in (Coupon.AppliesTo.RECURRING, Coupon.AppliesTo.BOTH),
        on_setup=applies in (Coupon.AppliesTo.SETUP, Coupon.AppliesTo.BOTH),
    )


def seller_cap_exceeded(
    coupon: Coupon, plan: Plan, quantity: int, cap: SellerPlanCap | None
) -> bool:
    """Whether a seller's coupon discounts any fee of ``plan`` beyond the seller's
    cap for it (no cap for the plan: the seller may not discount it at all)."""
    terms = plan_terms(plan)
    percents = []
    targets = {
        "recurring": (terms.period_amount(quantity), coupon.percent_off),
        "setup": (plan.setup_fee_minor, coupon.setup_percent_off or coupon.percent_off),
    }
    wanted = {"recurring": ["recurring"], "setup": ["setup"], "both": ["recurring", "setup"]}
    for target in wanted[coupon.applies_to]:
        fee, percent = targets[target]
        if coupon.amount_off_minor is not None:
            if fee:
                percents.append(Decimal(min(coupon.amount_off_minor, fee)) * 100 / fee)
        elif percent is not None:
            percents.append(Decimal(percent))
    return cap is None or any(p > cap.max_percent for p in percents)
