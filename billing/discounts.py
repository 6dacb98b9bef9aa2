"""Coupons on live subscriptions and on customers: apply or remove a discount.

On a subscription, from the next invoice or now with proration; on a customer,
from their next invoices (all their subscriptions'). One discount applies to an
invoice: the subscription's own wins over the customer's, as in Stripe
("a subscription-level discount takes precedence over a customer-level one"),
and the customer's applies to the invoices of subscriptions that have none in
force. A customer-level coupon's duration counts the customer's invoices it
discounts (``once``: the next one, whichever subscription it is for).

"Now" prorates the rest of the current period with the function every change
uses (``remaining_fraction`` through ``change_lines``): the rest of the period
is credited at the price it was charged (its discount included, the share of it
left) and charged again at the new discount, on an invoice written at once.
Applying now counts the current period as the coupon's first cycle. Removing
now charges the rest of the period without discount (a customer-level coupon
takes over from the next invoice).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from billing import pricing
from billing.coupons import coupon_check, coupon_take, redemption_cycles
from billing.domain.amounts import percent_of, remaining_fraction, round_minor
from billing.domain.invoicing import ProposedLine, price
from billing.models import Coupon, CouponRedemption, Invoice, InvoiceLine
from billing.subscriptions import change_lines
from core.actors import Actor
from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import Customer
from subscriptions import engine
from subscriptions.models import Subscription, SubscriptionStatus
from subscriptions.services.lifecycle import lock_subscription
from tenants.changes import record_change
from tenants.models import Tenant

Status = SubscriptionStatus
NOW = "now"
NEXT_INVOICE = "next_invoice"
PRORATIONS = (NOW, NEXT_INVOICE)
# A discount is put on or taken off subscriptions that still bill.
LIVE = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE, Status.INCOMPLETE, Status.PAUSED)
# "Now" prorates only a period that was charged.
CHARGED = (Status.ACTIVE, Status.PAST_DUE)


@dataclass(frozen=True, slots=True)
class DiscountPreview:
    """What applying or removing now invoices at once (no lines: nothing)."""

    lines: list[ProposedLine]
    currency: str
    total_minor: int  # the invoice's total (0 when it only carries credit)
    credit_carried_minor: int  # what goes to the customer's balance


def _check_proration(proration: object) -> str:
    if proration not in PRORATIONS:
        raise ValidationFailed(
            "proration must be now or next_invoice.", param="proration", code="invalid"
        )
    return str(proration)


def _check_live(sub: Subscription) -> None:
    if sub.status not in LIVE:
        raise StateConflict(
            f"A {sub.status} subscription takes no discount.", code="subscription_not_changeable"
        )


def _discount_left(tenant: Tenant, sub: Subscription, now: datetime) -> tuple[int, int | None]:
    """The discount given on the current period's lines for the time left after
    ``now`` (each line's own share, rounded once), and the coupon that gave it."""
    lines = InvoiceLine.objects.filter(
        tenant=tenant,
        invoice__subscription=sub,
        invoice__status__in=[Invoice.Status.OPEN, Invoice.Status.PAID],
        kind__in=[InvoiceLine.Kind.RECURRING, InvoiceLine.Kind.PRORATION],
        coupon__isnull=False,
        period_end=sub.current_period_end,
        period_start__isnull=False,
    ).order_by("invoice_id", "position", "pk")
    share = Decimal(0)
    coupon_id = None
    for line in lines:
        assert line.period_start is not None  # asked for by the query
        assert line.period_end is not None
        fraction = remaining_fraction(
            period_start=line.period_start,
            period_end=line.period_end,
            at=now,
            precision=tenant.proration_precision,
            tz=tenant.time_zone,
            day_count=tenant.proration_day_count,
            change_day=tenant.proration_change_day,
        )
        share += Decimal(line.discount_minor) * fraction.part / fraction.whole
        coupon_id = line.coupon_id
    return round_minor(share, tenant.rounding_mode), coupon_id


def _now_lines(
    tenant: Tenant, sub: Subscription, now: datetime, new: CouponRedemption | None
) -> tuple[list[ProposedLine], int]:
    """The credit for the rest of the period (at the discount it was charged
    with) and its charge at ``new``'s discount; and the discount ``new`` gives."""
    if sub.status not in CHARGED:
        return [], 0
    change = engine.plan_change(sub, sub.plan, sub.quantity, now, tenant.time_zone)
    lines = change_lines(tenant, change)  # same plan: credit -X, charge +X (none when X is 0)
    if len(lines) != 2:
        return [], 0
    credit, charge = lines
    old_off, old_coupon = _discount_left(tenant, sub, now)
    new_off = 0
    discount = pricing.redemption_discount(new, first=False) if new is not None else None
    if new is not None and discount is not None and discount.on_recurring:
        if discount.amount_off_minor is not None:
            new_off = min(discount.amount_off_minor, charge.amount_minor)
        else:
            new_off = percent_of(
                charge.amount_minor, discount.percent_off or Decimal(0), tenant.rounding_mode
            )
    if old_off == 0 and new_off == 0:
        return [], 0
    if old_off:
        credit = replace(credit, discount_minor=-old_off, coupon_id=old_coupon)
    if new_off and new is not None:
        charge = replace(charge, discount_minor=new_off, coupon_id=new.coupon_id)
    return [credit, charge], new_off


def _use_now(redemption: CouponRedemption, used: int) -> None:
    """The current period was this coupon's first cycle."""
    discount = pricing.redemption_discount(redemption, first=False)
    redemption.recurring_uses += 1
    if redemption.cycles_left:
        redemption.cycles_left -= 1
    if discount is not None and discount.amount_off_minor is not None:
        redemption.carried_minor = max(0, discount.amount_off_minor - used)


def _new_redemption(
    tenant: Tenant, coupon: Coupon, customer: Customer, sub: Subscription | None, now: datetime
) -> CouponRedemption:
    return CouponRedemption(
        tenant=tenant,
        coupon=coupon,
        customer=customer,
        subscription=sub,
        redeemed_at=now,
        cycles_left=redemption_cycles(coupon),
    )


def _preview(tenant: Tenant, sub: Subscription, lines: list[ProposedLine]) -> DiscountPreview:
    priced, carried = price(lines, discount=None, rounding=tenant.rounding_mode)
    return DiscountPreview(
        lines=priced,
        currency=sub.plan.currency,
        total_minor=sum(line.total_minor for line in priced),
        credit_carried_minor=carried,
    )


def subscription_discount_preview(
    *,
    tenant: Tenant,
    subscription: Subscription,
    now: datetime,
    coupon: str | None,
) -> DiscountPreview:
    """The exact invoice applying ``coupon`` now (None: removing the discount
    now) would write, priced as the action prices it; saves nothing. Raises the
    same errors the action would."""
    _check_live(subscription)
    new = None
    if coupon is not None:
        checked = coupon_check(
            tenant=tenant,
            code=coupon,
            customer=subscription.customer,
            plan=subscription.plan,
            quantity=subscription.quantity,
            now=now,
        )
        new = _new_redemption(tenant, checked, subscription.customer, subscription, now)
    lines, _used = _now_lines(tenant, subscription, now, new)
    return _preview(tenant, subscription, lines)


def _live(tenant: Tenant, **where: object) -> CouponRedemption | None:
    return (
        CouponRedemption.objects.select_for_update()
        .select_related("coupon")
        .filter(tenant=tenant, ended_at__isnull=True, **where)
        .first()
    )


def _bill_now(tenant: Tenant, sub: Subscription, lines: list[ProposedLine], now: datetime) -> None:
    if not lines:
        return
    batch = pricing.load(tenant, [sub])
    pricing.bill_discounted(batch, sub, at=now, lines=lines)
    pricing.write(batch, now)


def _record(
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    event: str,
    target: Subscription | Customer,
    coupon: Coupon,
    **data: str,
) -> None:
    subject = "subscription" if isinstance(target, Subscription) else "customer"
    record_change(
        tenant=tenant,
        actor=actor,
        at=now,
        event=event,
        subject_type=subject,
        subject_id=target.public_id,
        data={subject: target.public_id, "coupon": coupon.code, **data},
        target=target,
        changes={"coupon": coupon.code, **data},
    )


@transaction.atomic
def subscription_discount_apply(
    *,
    tenant: Tenant,
    subscription_id: int,
    coupon: str,
    actor: Actor,
    now: datetime,
    proration: str = NEXT_INVOICE,
) -> CouponRedemption:
    """Put ``coupon`` on a live subscription (replacing the discount it has):
    from its next invoice, or now, prorated. Checked as at subscribe: the
    plans, expiry, redemption limit, first purchase, the seller's cap."""
    proration = _check_proration(proration)
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    _check_live(sub)
    checked = coupon_check(
        tenant=tenant,
        code=coupon,
        customer=sub.customer,
        plan=sub.plan,
        quantity=sub.quantity,
        now=now,
    )
    old = _live(tenant, subscription=sub)
    new = _new_redemption(tenant, checked, sub.customer, sub, now)
    lines: list[ProposedLine] = []
    if proration == NOW:
        lines, used = _now_lines(tenant, sub, now, new)
        if lines:
            _use_now(new, used)
    coupon_take(checked)
    if old is not None:
        old.ended_at = now
        old.save(update_fields=["ended_at"])
    new.save()
    _bill_now(tenant, sub, lines, now)
    _record(tenant, actor, now, "subscription.discount_applied", sub, checked, proration=proration)
    return new


@transaction.atomic
def subscription_discount_remove(
    *,
    tenant: Tenant,
    subscription_id: int,
    actor: Actor,
    now: datetime,
    proration: str = NEXT_INVOICE,
) -> Subscription:
    """Take the subscription's discount off from its next invoice, or now,
    prorated. Without a discount, nothing happens."""
    proration = _check_proration(proration)
    sub = lock_subscription(tenant=tenant, subscription_id=subscription_id)
    old = _live(tenant, subscription=sub)
    if old is None:
        return sub
    _check_live(sub)
    lines = _now_lines(tenant, sub, now, None)[0] if proration == NOW else []
    old.ended_at = now
    old.save(update_fields=["ended_at"])
    _bill_now(tenant, sub, lines, now)
    _record(
        tenant, actor, now, "subscription.discount_removed", sub, old.coupon, proration=proration
    )
    return sub


@transaction.atomic
def customer_discount_apply(
    *, tenant: Tenant, customer_id: int, coupon: str, actor: Actor, now: datetime
) -> CouponRedemption:
    """Put ``coupon`` on the customer (replacing the customer-level discount):
    it discounts their next invoices, of any subscription without its own."""
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    checked = coupon_check(
        tenant=tenant, code=coupon, customer=customer, plan=None, quantity=1, now=now
    )
    _check_fits_customer(tenant, customer, checked)
    old = _live(tenant, customer=customer, subscription__isnull=True)
    coupon_take(checked)
    if old is not None:
        old.ended_at = now
        old.save(update_fields=["ended_at"])
    new = _new_redemption(tenant, checked, customer, None, now)
    new.save()
    _record(tenant, actor, now, "customer.discount_applied", customer, checked)
    return new


def _check_fits_customer(tenant: Tenant, customer: Customer, coupon: Coupon) -> None:
    """A coupon limited to some plans (or, amount off, to one currency) is refused
    on a customer whose live subscriptions it could discount none of: it would
    wait there discounting nothing. A customer with no live subscription may
    take it for the ones to come (``pricing.customer_coupon_fits`` decides per
    invoice)."""
    if not coupon.plan_codes and coupon.amount_off_minor is None:
        return
    plans = list(
        Subscription.objects.filter(tenant=tenant, customer=customer, status__in=LIVE)
        .values_list("plan__code", "plan__currency")
        .distinct()
    )
    if not plans or any(
        (not coupon.plan_codes or code in coupon.plan_codes)
        and (coupon.amount_off_minor is None or currency == coupon.currency)
        for code, currency in plans
    ):
        return
    raise ValidationFailed(
        f"The coupon {coupon.code} applies to none of this customer's subscriptions.",
        param="coupon",
        code="coupon_not_applicable",
    )


@transaction.atomic
def customer_discount_remove(
    *, tenant: Tenant, customer_id: int, actor: Actor, now: datetime
) -> Customer:
    """Take the customer-level discount off from their next invoices."""
    customer = Customer.objects.select_for_update().filter(tenant=tenant, pk=customer_id).first()
    if customer is None:
        raise NotFound("No such customer.", param="customer")
    old = _live(tenant, customer=customer, subscription__isnull=True)
    if old is None:
        return customer
    old.ended_at = now
    old.save(update_fields=["ended_at"])
    _record(tenant, actor, now, "customer.discount_removed", customer, old.coupon)
    return customer


def live_discount(
    *, tenant_id: int, subscription_id: int | None = None, customer_id: int | None = None
) -> CouponRedemption | None:
    """The discount in place on a subscription, or on a customer (reads only)."""
    where: dict[str, object] = (
        {"subscription_id": subscription_id}
        if subscription_id is not None
        else {"customer_id": customer_id, "subscription__isnull": True}
    )
    return (
        CouponRedemption.objects.select_related("coupon", "subscription")
        .filter(tenant_id=tenant_id, ended_at__isnull=True, **where)
        .first()
    )
