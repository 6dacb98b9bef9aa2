"""Price what the subscription engine decided and write the invoices.

The engine (``subscriptions.engine``) advances a batch of subscriptions and says
what they owe (``ToInvoice``) without pricing anything; here each is priced —
the plan's fee (prorated when it covers part of a period), the setup fee, the
prorations waiting, the coupon that applies — and the batch's invoices are
written with the subscriptions, in the caller's transaction. Used by the
billing run, test clocks and the subscription commands (``billing.subscriptions``).
A batch costs a fixed number of queries, whatever its size: one statement per
table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import cast

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from billing.domain.amounts import ChangeDay, prorate, remaining_fraction
from billing.domain.invoicing import (
    RECURRING,
    SETUP_FEE,
    TRIAL,
    Discount,
    ProposedLine,
    price,
)
from billing.models import CouponRedemption, Invoice, PendingLine, SellerPlanCap
from billing.services import InvoiceDraft, WrittenInvoice, invoices_write
from billing.terms import contract_terms, coupon_discount, plan_terms, seller_cap_exceeded
from core.bulk import bulk_set
from customers.models import Customer
from subscriptions import engine
from subscriptions.models import Plan, Subscription
from tenants.models import Tenant

REASONS = {
    engine.InvoiceReason.CREATE: Invoice.Reason.SUBSCRIPTION_CREATE,
    engine.InvoiceReason.CYCLE: Invoice.Reason.SUBSCRIPTION_CYCLE,
    engine.InvoiceReason.UPDATE: Invoice.Reason.SUBSCRIPTION_UPDATE,
}


@dataclass
class Batch:
    """A batch of subscriptions (the engine's) and what pricing reads beside it."""

    lifecycle: engine.Batch
    pending: dict[int, list[PendingLine]] = field(default_factory=dict)
    redemptions: dict[int, CouponRedemption] = field(default_factory=dict)
    # Customer-level discounts, by customer id (``billing.discounts``).
    customer_redemptions: dict[int, CouponRedemption] = field(default_factory=dict)
    # Seller caps, by (seller id, plan code), for the customer-level seller coupons.
    seller_caps: dict[tuple[int, str], SellerPlanCap] = field(default_factory=dict)
    locales: dict[int, str] = field(default_factory=dict)
    drafts: list[InvoiceDraft] = field(default_factory=list)
    touched_redemptions: list[CouponRedemption] = field(default_factory=list)
    priced: int = 0  # how many of the engine's ``to_invoice`` are drafts already

    @property
    def tenant(self) -> Tenant:
        return self.lifecycle.tenant


def load(tenant: Tenant, subs: Sequence[Subscription]) -> Batch:
    """The engine's rows, then pricing's: a fixed number of queries a batch."""
    batch = Batch(lifecycle=engine.load(tenant, subs))
    ids = [s.pk for s in subs]
    batch.locales = dict(
        Customer.objects.filter(pk__in={s.customer_id for s in subs}).values_list("id", "locale")
    )
    pending: dict[int, list[PendingLine]] = defaultdict(list)
    for line in PendingLine.objects.filter(subscription_id__in=ids, invoice__isnull=True).order_by(
        "created_at", "id"
    ):
        pending[line.subscription_id].append(line)
    batch.pending = pending
    batch.redemptions = {
        cast(int, r.subscription_id): r  # filtered on subscriptions: never None
        for r in CouponRedemption.objects.filter(
            subscription_id__in=ids, ended_at__isnull=True
        ).select_related("coupon")
    }
    batch.customer_redemptions = {
        r.customer_id: r
        for r in CouponRedemption.objects.filter(
            tenant=tenant,
            customer_id__in={s.customer_id for s in subs},
            subscription__isnull=True,
            ended_at__isnull=True,
        ).select_related("coupon")
    }
    sellers = {
        r.coupon.seller_id
        for r in batch.customer_redemptions.values()
        if r.coupon.seller_id is not None
    }
    if sellers:
        batch.seller_caps = {
            (c.seller_id, c.plan_code): c
            for c in SellerPlanCap.objects.filter(tenant=tenant, seller_id__in=sellers)
        }
    return batch


def recurring_line(
    *,
    tenant: Tenant,
    plan: Plan,
    quantity: int,
    start: datetime,
    end: datetime,
    nominal_start: datetime,
    nominal_end: datetime,
    unit_amount_minor: int | None = None,
    intro: tuple[int, int] | None = None,
    locale: str = "",
    split_start: bool = False,
    split_end: bool = False,
) -> ProposedLine:
    """The plan's charge for ``[start, end)`` (at the contract's readjusted unit
    price, if any); a short first period is prorated against the full period it
    is part of. In the plan's introductory phase (``intro``) the phase's price
    applies instead (a readjustment moves the evergreen price only) and the line
    says which cycle of the phase it is.

    In arrears, use split by a change or a cancellation (``split_start`` /
    ``split_end``: the tenant's change-day convention applies there) is the
    fee prorated from ``start`` less the fee prorated from ``end``, each rounded
    once: the segments of one period add up to what the prorations of the same
    changes in advance would net to, to the cent."""
    description = plan.name
    if intro is not None:
        unit_amount_minor = plan.intro_amount_minor
        description = f"{plan.name} — {intro_label(intro, locale or tenant.locale)}"
    terms = contract_terms(plan, unit_amount_minor)
    full = terms.period_amount(quantity)
    amount = full
    if split_start or split_end:

        def from_(at: datetime, split: bool) -> int:
            fraction = remaining_fraction(
                period_start=nominal_start,
                period_end=nominal_end,
                at=at,
                precision=tenant.proration_precision,
                tz=tenant.time_zone,
                day_count=tenant.proration_day_count,
                change_day=tenant.proration_change_day if split else ChangeDay.NEW,
            )
            return prorate(full, fraction, tenant.rounding_mode)

        amount = from_(start, split_start) - from_(end, split_end)
    elif (start, end) != (nominal_start, nominal_end):
        fraction = remaining_fraction(
            period_start=nominal_start,
            period_end=nominal_end,
            at=start,
            precision=tenant.proration_precision,
            tz=tenant.time_zone,
            day_count=tenant.proration_day_count,
        )
        amount = prorate(full, fraction, tenant.rounding_mode)
    return ProposedLine(
        kind=RECURRING,
        description=description,
        quantity=quantity,
        amount_minor=amount,
        tax_percent=terms.tax_percent,
        tax_inclusive=terms.tax_inclusive,
        period_start=start,
        period_end=end,
        plan_id=plan.pk,
    )


def intro_label(intro: tuple[int, int], locale: str) -> str:
    """ "Intro price, 1 of 3" in the customer's language (a partial period: no number)."""
    cycle, cycles = intro
    with translation.override(locale or None):
        if cycle == 0:
            return str(_("Intro price, partial period"))
        return str(_("Intro price, %(cycle)s of %(cycles)s") % {"cycle": cycle, "cycles": cycles})


def trial_line(charge: engine.TrialPeriod, locale: str) -> ProposedLine:
    """The zero line of a trial invoice: the trial's dates, nothing to pay."""
    with translation.override(locale or None):
        label = str(_("Trial period"))
    return ProposedLine(
        kind=TRIAL,
        description=f"{charge.plan.name} — {label}",
        quantity=charge.quantity,
        amount_minor=0,
        period_start=charge.start,
        period_end=charge.end,
        plan_id=charge.plan.pk,
    )


def setup_line(plan: Plan) -> ProposedLine:
    terms = plan_terms(plan)
    return ProposedLine(
        kind=SETUP_FEE,
        description=plan.name,
        amount_minor=plan.setup_fee_minor,
        tax_percent=terms.tax_percent,
        tax_inclusive=terms.tax_inclusive,
        plan_id=plan.pk,
    )


def charge_line(tenant: Tenant, charge: engine.Charge, locale: str = "") -> ProposedLine:
    if isinstance(charge, engine.SetupFee):
        return setup_line(charge.plan)
    if isinstance(charge, engine.TrialPeriod):
        return trial_line(charge, locale or tenant.locale)
    return recurring_line(
        tenant=tenant,
        plan=charge.plan,
        quantity=charge.quantity,
        start=charge.start,
        end=charge.end,
        nominal_start=charge.nominal_start,
        nominal_end=charge.nominal_end,
        unit_amount_minor=charge.unit_amount_minor,
        intro=charge.intro,
        locale=locale,
        split_start=charge.split_start,
        split_end=charge.split_end,
    )


def lines_pend(
    tenant: Tenant, sub: Subscription, lines: Sequence[ProposedLine], now: datetime
) -> None:
    """Keep priced-later ``lines`` (prorations billed with the next invoice) as
    the subscription's pending lines; ``pending_as_lines`` reads them back."""
    PendingLine.objects.bulk_create(
        [
            PendingLine(
                tenant=tenant,
                subscription=sub,
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                amount_minor=line.amount_minor,
                currency=sub.plan.currency,
                period_start=line.period_start,
                period_end=line.period_end,
                plan_id=line.plan_id,
                tax_percent=line.tax_percent,
                tax_inclusive=line.tax_inclusive,
                created_at=now,
            )
            for line in lines
        ]
    )


def pending_as_lines(lines: Sequence[PendingLine]) -> list[ProposedLine]:
    return [
        ProposedLine(
            kind=p.kind,
            description=p.description,
            quantity=p.quantity,
            amount_minor=p.amount_minor,
            period_start=p.period_start,
            period_end=p.period_end,
            plan_id=p.plan_id,
            tax_percent=p.tax_percent,
            tax_inclusive=p.tax_inclusive,
        )
        for p in lines
    ]


def active_discount(
    batch: Batch, sub: Subscription, *, first: bool
) -> tuple[Discount | None, CouponRedemption | None]:
    """The one discount an invoice of ``sub`` gets. As in Stripe, the
    subscription's own discount wins over the customer's: the customer-level
    one applies only while the subscription has none in force (none applied,
    or its cycles and carried remainder used up)."""
    own = batch.redemptions.get(sub.pk)
    if own is not None:
        discount = redemption_discount(own, first=first)
        if discount is not None:
            return discount, own
    shared = batch.customer_redemptions.get(sub.customer_id)
    if shared is not None and customer_coupon_fits(batch, shared, sub):
        discount = redemption_discount(shared, first=first)
        if discount is not None:
            return discount, shared
    return None, None


def customer_coupon_fits(batch: Batch, redemption: CouponRedemption, sub: Subscription) -> bool:
    """A customer-level coupon discounts only what it could discount at
    subscribe: the plans it lists, its currency, within a seller's cap."""
    coupon, plan = redemption.coupon, sub.plan
    if coupon.plan_codes and plan.code not in coupon.plan_codes:
        return False
    if coupon.amount_off_minor is not None and coupon.currency != plan.currency:
        return False
    if coupon.seller_id is not None:
        cap = batch.seller_caps.get((coupon.seller_id, plan.code))
        return not seller_cap_exceeded(coupon, plan, sub.quantity, cap)
    return True


def redemption_discount(redemption: CouponRedemption, *, first: bool) -> Discount | None:
    """What the redemption takes off the next invoice: its cycle (while cycles
    are left), the setup fee of a first invoice, and an amount-off coupon's
    remainder carried from earlier invoices (which outlives the cycles)."""
    recurring = redemption.cycles_left is None or redemption.cycles_left > 0
    setup = first and not redemption.setup_applied
    carried = redemption.carried_minor
    if not recurring and not setup and not carried:
        return None
    discount = coupon_discount(redemption.coupon, recurring=recurring or carried > 0)
    if not setup:
        discount = _without_setup(discount)
    if discount.amount_off_minor is not None:
        pool = discount.amount_off_minor if (recurring or setup) else 0
        if redemption.recurring_uses == 0 and redemption.setup_discount_minor:
            # The first cycle's pool was partly spent on the setup fee already.
            pool = max(0, pool - redemption.setup_discount_minor)
        discount = replace(discount, amount_off_minor=pool + carried)
    elif not recurring and not setup:
        return None
    return discount


def _without_setup(discount: Discount) -> Discount:
    return replace(discount, on_setup=False)


def bill(
    batch: Batch,
    sub: Subscription,
    *,
    at: datetime,
    reason: str,
    lines: list[ProposedLine],
    period: tuple[datetime, datetime] | None,
    first: bool = False,
    currency: str | None = None,
) -> None:
    """One invoice draft: ``lines``, the prorations waiting, the coupon — after
    whatever the engine decided earlier, which is billed first, in order."""
    price_owed(batch)
    _draft(
        batch, sub, at=at, reason=reason, lines=lines, period=period, first=first, currency=currency
    )


def bill_discounted(
    batch: Batch, sub: Subscription, *, at: datetime, lines: list[ProposedLine]
) -> None:
    """An update invoice of ``lines`` that carry their discount already (a
    coupon applied or removed now): no coupon is applied on top and the
    prorations waiting stay for the next invoice."""
    price_owed(batch)
    _draft(
        batch,
        sub,
        at=at,
        reason=Invoice.Reason.SUBSCRIPTION_UPDATE,
        lines=lines,
        period=None,
        first=False,
        currency=None,
        discounted=True,
    )


def _draft(
    batch: Batch,
    sub: Subscription,
    *,
    at: datetime,
    reason: str,
    lines: list[ProposedLine],
    period: tuple[datetime, datetime] | None,
    first: bool,
    currency: str | None,
    discounted: bool = False,
) -> None:
    tenant = batch.tenant
    # ``discounted``: the lines carry their discount already (a coupon applied or
    # removed now, ``billing.discounts``); the prorations waiting stay waiting.
    pending = [] if discounted else batch.pending.pop(sub.pk, [])
    all_lines = lines + pending_as_lines(pending)
    if not all_lines:
        return
    discount, redemption = (None, None) if discounted else active_discount(batch, sub, first=first)
    priced, carried = price(all_lines, discount=discount, rounding=tenant.rounding_mode)
    if redemption is not None and discount is not None:
        used_recurring = any(line.coupon_id and line.kind == RECURRING for line in priced)
        setup_off = sum(line.discount_minor for line in priced if line.kind == SETUP_FEE)
        used_setup = first and discount.on_setup and any(line.kind == SETUP_FEE for line in priced)
        if used_recurring:
            redemption.recurring_uses += 1
            if redemption.cycles_left:
                redemption.cycles_left -= 1
            if discount.amount_off_minor is not None:
                # What this invoice could not use waits for the next ones.
                used = sum(
                    line.discount_minor
                    for line in priced
                    if line.coupon_id == discount.coupon_id and line.kind in (RECURRING, SETUP_FEE)
                )
                redemption.carried_minor = max(0, discount.amount_off_minor - used)
        if used_setup:
            redemption.setup_applied = True
            redemption.setup_discount_minor = setup_off
        if used_recurring or used_setup:
            batch.touched_redemptions.append(redemption)
    batch.drafts.append(
        InvoiceDraft(
            customer_id=sub.customer_id,
            currency=currency or sub.plan.currency,
            reason=reason,
            lines=priced,
            issued_at=at,
            subscription_id=sub.pk,
            subscription_public_id=sub.public_id,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            credit_carried_minor=carried,
            locale=batch.locales.get(sub.customer_id, ""),
            pending_line_ids=[p.pk for p in pending],
        )
    )


def price_owed(batch: Batch) -> None:
    """Draft what the engine said is owed since the last call, in its order."""
    owed = batch.lifecycle.to_invoice
    while batch.priced < len(owed):
        item = owed[batch.priced]
        batch.priced += 1
        # Drafted here, not through ``bill``: a draft per item, in the engine's order
        # (``bill`` would first price the rest, reversing the order and recursing once per item).
        _draft(
            batch,
            item.subscription,
            at=item.at,
            reason=REASONS[item.reason],
            lines=[
                charge_line(batch.tenant, c, batch.locales.get(item.subscription.customer_id, ""))
                for c in item.charges
            ],
            period=item.period,
            first=item.first,
            currency=item.currency,
        )


def write(batch: Batch, now: datetime) -> list[WrittenInvoice]:
    """Write the invoices and what the engine decided: a few bulk statements for
    the whole batch; the new invoices due by card are charged after commit."""
    price_owed(batch)
    lifecycle = batch.lifecycle
    invoices = invoices_write(tenant=batch.tenant, drafts=batch.drafts, now=now)
    engine.write(
        lifecycle,
        now,
        first_invoice_paid={
            i.subscription_id
            for i in invoices
            if i.subscription_id is not None
            and i.status == Invoice.Status.PAID
            and i.billing_reason == Invoice.Reason.SUBSCRIPTION_CREATE
        },
    )
    bulk_set(
        CouponRedemption,
        list({r.pk: r for r in batch.touched_redemptions}.values()),
        ["cycles_left", "setup_applied", "setup_discount_minor", "recurring_uses", "carried_minor"],
    )
    auto = {s.pk for s in lifecycle.subs if s.collection_method == "charge_automatically"}
    _charge_after_commit(
        batch.tenant,
        [
            i.id
            for i in invoices
            if i.status == Invoice.Status.OPEN
            and i.amount_due_minor > 0
            and i.subscription_id in auto
        ],
    )
    return invoices


def _charge_after_commit(tenant: Tenant, invoice_ids: list[int]) -> None:
    """One charging task for the batch's new invoices, sent once the batch commits
    (a task sent inside the transaction could run before the rows exist)."""
    if not invoice_ids:
        return
    from billing.tasks import charge_invoices_task

    transaction.on_commit(
        lambda: charge_invoices_task.delay(tenant_id=tenant.pk, invoice_ids=invoice_ids)
    )
