"""Sellers' commissions: the rule on each seller, the sale that ties a
subscription to its seller, what a paid invoice earns and what a refund reverses,
and the statement per seller and period. One transaction per service call.

Rules (after the Brazilian buying guides' "comissão por vendedor"):
- ``first_payment``: a percentage of the first paid invoice with revenue;
- ``recurring``: a percentage of every paid invoice whose period starts within
  ``months`` months of the sale;
- ``fixed``: a fixed amount once per sale, earned on its first paid invoice.

The base is the invoice's revenue without tax (total − tax): a seller earns on
what the merchant keeps, and a $0 trial invoice earns nothing and is not the
"first payment". A sale copies the seller's rule when it is attributed, so a
later change of the rule never rewrites what was agreed.

A refund reverses the commission in proportion to the money given back:
after each refund, the reversed total is round(earned × refunded ÷ total), so
a full refund, in one step or several, reverses exactly what was earned.
Amounts round half up to the minor unit (a commission is not an invoice and
does not follow the tenant's invoice rounding mode).

A lost chargeback (``billing.payments.disputes``) reverses the same way as a
refund; an open or won one reverses nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum

from billing.models import (
    Commission,
    CommissionKind,
    CommissionPlan,
    CouponRedemption,
    Dispute,
    Invoice,
    PaymentAttempt,
    Refund,
    Sale,
    Seller,
)
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from core.localtime import add_months, from_local, to_local
from subscriptions.models import Subscription
from tenants.changes import record_change
from tenants.models import Tenant

MAX_FIXED_MINOR = 10**12
MAX_MONTHS = 120
MAX_STATEMENT_DAYS = 366 * 2


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the rule -----------------------------------------------------------------------------------


def _percent(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValidationFailed("The percentage must be a number.", param="percent")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed("The percentage must be a number.", param="percent") from None
    if not number.is_finite() or not Decimal(0) < number <= Decimal(100):
        raise ValidationFailed("The percentage must be above 0 and at most 100.", param="percent")
    if number != number.quantize(Decimal("0.01")):
        raise ValidationFailed("The percentage has at most two decimals.", param="percent")
    return number.quantize(Decimal("0.01"))


def _whole(value: Any, *, param: str, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{what} must be a whole number from {low} to {high}.", param=param)
    return value


@dataclass(frozen=True)
class Rule:
    kind: str
    percent: Decimal | None = None
    amount_minor: int | None = None
    months: int | None = None


def commission_rule_clean(
    *, kind: Any, percent: Any = None, amount_minor: Any = None, months: Any = None
) -> Rule:
    """The rule as given, checked: only the fields its kind uses, each in range."""
    if kind not in CommissionKind.values:
        raise ValidationFailed(
            "The commission kind must be one of: " + ", ".join(CommissionKind.values) + ".",
            param="kind",
        )
    if kind == CommissionKind.NONE:
        return Rule(kind=kind)
    if kind == CommissionKind.FIXED:
        amount = _whole(
            amount_minor,
            param="amount_minor",
            low=1,
            high=MAX_FIXED_MINOR,
            what="The fixed commission",
        )
        return Rule(kind=kind, amount_minor=amount)
    pct = _percent(percent)
    if kind == CommissionKind.RECURRING:
        n = _whole(months, param="months", low=1, high=MAX_MONTHS, what="The number of months")
        return Rule(kind=kind, percent=pct, months=n)
    return Rule(kind=kind, percent=pct)


def _seller(tenant: Tenant, seller_id: int) -> Seller:
    seller = Seller.objects.filter(tenant=tenant, pk=seller_id).first()
    if seller is None:
        raise NotFound("No such seller.", param="seller")
    return seller


def seller_rule(*, tenant: Tenant, seller: Seller) -> Rule:
    plan = CommissionPlan.objects.filter(tenant=tenant, seller=seller).first()
    if plan is None:
        return Rule(kind=CommissionKind.NONE)
    return Rule(
        kind=plan.kind, percent=plan.percent, amount_minor=plan.amount_minor, months=plan.months
    )


@transaction.atomic
def seller_commission_set(
    *, tenant: Tenant, seller_id: int, rule: Rule, actor: Actor, now: datetime
) -> CommissionPlan:
    """Set a seller's commission rule (already checked by ``commission_rule_clean``).
    Sales attributed from now on copy it; earlier sales keep theirs."""
    seller = Seller.objects.select_for_update().filter(tenant=tenant, pk=seller_id).first()
    if seller is None:
        raise NotFound("No such seller.", param="seller")
    plan, _ = CommissionPlan.objects.get_or_create(tenant=tenant, seller=seller)
    old = seller_rule(tenant=tenant, seller=seller)
    plan.kind, plan.percent, plan.amount_minor, plan.months = (
        rule.kind,
        rule.percent,
        rule.amount_minor,
        rule.months,
    )
    plan.save()
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="seller.updated",
        action="seller.commission_set",
        subject_type="seller",
        subject_id=seller.public_id,
        data={"seller": seller.public_id, "name": seller.name},
        target=seller,
        changes={"commission": [_rule_dict(old), _rule_dict(rule)]},
    )
    return plan


def _rule_dict(rule: Rule) -> dict[str, Any]:
    return {
        "kind": rule.kind,
        "percent": None if rule.percent is None else str(rule.percent),
        "amount_minor": rule.amount_minor,
        "months": rule.months,
    }


# --- sales --------------------------------------------------------------------------------------


def _new_sale(
    *, tenant: Tenant, seller: Seller, subscription: Subscription, at: datetime, source: str
) -> Sale:
    rule = seller_rule(tenant=tenant, seller=seller)
    return Sale.objects.create(
        tenant=tenant,
        seller=seller,
        subscription=subscription,
        kind=rule.kind,
        percent=rule.percent,
        amount_minor=rule.amount_minor,
        months=rule.months,
        sold_at=at,
        source=source,
    )


@transaction.atomic
def sale_attribute(
    *, tenant: Tenant, subscription_id: int, seller_id: int, actor: Actor, now: datetime
) -> Sale:
    """Record that ``seller`` sold the subscription (when no seller's coupon says so).

    A subscription has one seller. Once attributed, it stays: moving a sale
    would move commissions already earned, which is a manual adjustment."""
    subscription = (
        Subscription.objects.select_for_update().filter(tenant=tenant, pk=subscription_id).first()
    )
    if subscription is None:
        raise NotFound("No such subscription.", param="subscription")
    seller = _seller(tenant, seller_id)
    existing = Sale.objects.filter(tenant=tenant, subscription=subscription).first()
    if existing is not None:
        raise StateConflict(
            "This subscription is already attributed to a seller.", code="sale_exists"
        )
    sale = _new_sale(
        tenant=tenant,
        seller=seller,
        subscription=subscription,
        at=subscription.start_at,
        source="manual",
    )
    # Attributed late, the sale still began with the subscription: invoices
    # already paid earn now, under the same rule, in the order they were paid.
    for invoice in Invoice.objects.filter(
        tenant=tenant, subscription=subscription, status=Invoice.Status.PAID
    ).order_by("paid_at", "pk"):
        commission_earn(tenant=tenant, invoice=invoice, now=now)
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event="subscription.updated",
        action="subscription.seller_attributed",
        subject_type="subscription",
        subject_id=subscription.public_id,
        data={"subscription": subscription.public_id, "seller": seller.public_id},
        target=subscription,
        changes={"seller": seller.public_id},
    )
    return sale


def _sale_for(*, tenant: Tenant, subscription_id: int) -> Sale | None:
    """The subscription's sale; a seller's coupon redeemed on it attributes the
    sale the first time it is needed (the coupon's redemption date is the sale's)."""
    sale = Sale.objects.filter(tenant=tenant, subscription_id=subscription_id).first()
    if sale is not None:
        return sale
    redemption = (
        CouponRedemption.objects.filter(
            tenant=tenant, subscription_id=subscription_id, coupon__seller__isnull=False
        )
        .select_related("coupon__seller", "subscription")
        .order_by("redeemed_at", "pk")
        .first()
    )
    if redemption is None or redemption.coupon.seller is None or redemption.subscription is None:
        return None
    return _new_sale(
        tenant=tenant,
        seller=redemption.coupon.seller,
        subscription=redemption.subscription,
        at=redemption.redeemed_at,
        source="coupon",
    )


# --- earning and reversing ----------------------------------------------------------------------


def _earned_amount(sale: Sale, invoice: Invoice, base: int) -> int | None:
    """What ``invoice`` earns under the sale's rule, or None when it earns nothing."""
    if sale.kind == CommissionKind.NONE:
        return None
    first = not Commission.objects.filter(sale=sale, kind=Commission.Kind.EARNED).exists()
    if sale.kind == CommissionKind.FIXED:
        return sale.amount_minor if first else None
    assert sale.percent is not None
    if sale.kind == CommissionKind.FIRST_PAYMENT and not first:
        return None
    if sale.kind == CommissionKind.RECURRING:
        assert sale.months is not None
        starts = invoice.period_start or invoice.issued_at or invoice.paid_at
        # Months on the calendar of UTC are close enough for a "for N months"
        # window; the boundary is the same instant N months after the sale.
        if starts is None or starts >= add_months(sale.sold_at, sale.months):
            return None
    return _round(Decimal(base) * sale.percent / Decimal(100))


def commission_earn(*, tenant: Tenant, invoice: Invoice, now: datetime) -> Commission | None:
    """Record what a just-paid subscription invoice earns its seller (inside
    billing's transaction, with the invoice locked; idempotent per invoice)."""
    if invoice.status != Invoice.Status.PAID or not invoice.subscription_id:
        return None
    base = invoice.total_minor - invoice.tax_minor
    if base <= 0:
        return None
    sale = _sale_for(tenant=tenant, subscription_id=invoice.subscription_id)
    if sale is None:
        return None
    if Commission.objects.filter(invoice=invoice, kind=Commission.Kind.EARNED).exists():
        return None
    amount = _earned_amount(sale, invoice, base)
    if not amount:
        return None
    return Commission.objects.create(
        tenant=tenant,
        seller_id=sale.seller_id,
        sale=sale,
        invoice=invoice,
        kind=Commission.Kind.EARNED,
        base_minor=base,
        amount_minor=amount,
        currency=invoice.currency,
        occurred_at=invoice.paid_at or now,
    )


class CommissionListener:
    """Registered in ``settings.BILLING_LISTENERS``: a paid invoice earns."""

    def invoice_settled(self, *, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
        commission_earn(tenant=tenant, invoice=invoice, now=now)

    def payment_unsettled(self, *, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
        return None


def commission_reverse_for_refund(
    *, tenant: Tenant, refund: Refund, invoice: Invoice, now: datetime
) -> Commission | None:
    """Reverse the part of the invoice's commission a succeeded refund gives back
    (inside the refund's transaction, with the invoice locked)."""
    if Commission.objects.filter(refund=refund).exists():
        return None
    return _reverse(
        tenant=tenant,
        invoice=invoice,
        taken_minor=refund.amount_minor,
        at=refund.settled_at or now,
        refund=refund,
    )


def commission_reverse_for_dispute(
    *, tenant: Tenant, dispute: Dispute, invoice: Invoice, now: datetime
) -> Commission | None:
    """Reverse the part of the invoice's commission a lost chargeback took."""
    if Commission.objects.filter(dispute=dispute).exists():
        return None
    return _reverse(
        tenant=tenant,
        invoice=invoice,
        taken_minor=dispute.amount_minor,
        at=dispute.closed_at or now,
        dispute=dispute,
    )


def _reverse(
    *,
    tenant: Tenant,
    invoice: Invoice,
    taken_minor: int,
    at: datetime,
    refund: Refund | None = None,
    dispute: Dispute | None = None,
) -> Commission | None:
    """After money left the invoice (a refund, a lost chargeback), bring the
    reversed total to round(earned × taken ÷ total), taken counting every
    succeeded refund and lost chargeback so far: a full return, in one step or
    several, reverses exactly what was earned."""
    earned = Commission.objects.filter(invoice=invoice, kind=Commission.Kind.EARNED).first()
    if earned is None or invoice.total_minor <= 0:
        return None
    refunded = (
        Refund.objects.filter(
            tenant=tenant, attempt__invoice=invoice, status=Refund.Status.SUCCEEDED
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    charged_back = (
        Dispute.objects.filter(
            tenant=tenant, attempt__invoice=invoice, status=Dispute.Status.LOST
        ).aggregate(s=Sum("amount_minor"))["s"]
        or 0
    )
    reversed_so_far = -(
        Commission.objects.filter(invoice=invoice, kind=Commission.Kind.REVERSED).aggregate(
            s=Sum("amount_minor")
        )["s"]
        or 0
    )
    share = min(Decimal(refunded + charged_back) / Decimal(invoice.total_minor), Decimal(1))
    due = _round(Decimal(earned.amount_minor) * share) - reversed_so_far
    if due <= 0:
        return None
    return Commission.objects.create(
        tenant=tenant,
        seller_id=earned.seller_id,
        sale_id=earned.sale_id,
        invoice=invoice,
        refund=refund,
        dispute=dispute,
        kind=Commission.Kind.REVERSED,
        base_minor=-taken_minor,
        amount_minor=-due,
        currency=earned.currency,
        occurred_at=at,
    )


# --- the statement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    commission: Commission
    local_date: date


@dataclass
class StatementTotals:
    earned_minor: int = 0
    reversed_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.earned_minor + self.reversed_minor


@dataclass
class Statement:
    seller: Seller
    start: date
    end: date
    lines: list[StatementLine] = field(default_factory=list)
    totals: dict[str, StatementTotals] = field(default_factory=dict)


def statement_period(start: Any, end: Any) -> tuple[date, date]:
    """A statement's first and last day (inclusive), checked."""
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValidationFailed("Give the period as two dates.", param="from")
    if end < start:
        raise ValidationFailed("The period ends before it starts.", param="to")
    if (end - start).days > MAX_STATEMENT_DAYS:
        raise ValidationFailed("A statement covers at most two years.", param="to")
    return start, end


def commission_statement(*, tenant: Tenant, seller_id: int, start: date, end: date) -> Statement:
    """Every commission line of a seller from ``start`` to ``end`` (days in the
    tenant's time zone, both included), with totals per currency."""
    seller = _seller(tenant, seller_id)
    start, end = statement_period(start, end)
    low = from_local(datetime.combine(start, time.min), tenant.time_zone)
    high = from_local(datetime.combine(end + timedelta(days=1), time.min), tenant.time_zone)
    rows = (
        Commission.objects.filter(
            tenant=tenant, seller=seller, occurred_at__gte=low, occurred_at__lt=high
        )
        .select_related("invoice", "invoice__customer", "sale__subscription", "refund")
        .order_by("occurred_at", "pk")
    )
    totals: dict[str, StatementTotals] = defaultdict(StatementTotals)
    lines = []
    for row in rows:
        local = to_local(row.occurred_at, tenant.time_zone).date()
        lines.append(StatementLine(commission=row, local_date=local))
        bucket = totals[row.currency]
        if row.kind == Commission.Kind.EARNED:
            bucket.earned_minor += row.amount_minor
        else:
            bucket.reversed_minor += row.amount_minor
    return Statement(seller=seller, start=start, end=end, lines=lines, totals=dict(totals))
