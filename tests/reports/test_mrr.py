"""One subscription's MRR (reports/README.md): normalised to a month, after a
forever coupon, zero unless active or past due; and the past-due → cancelled
path through dunning, which is churn when the subscription actually ends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.coupons import coupon_create
from reports import selectors
from reports.models import MrrMovement
from reports.movements import subscription_mrr
from subscriptions.models import Plan
from tests.dunning.helpers import DECLINED_CARD, GOOD_CARD, attach_card
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import ACTOR, world

MOVES = ("new", "expansion", "contraction", "churn", "reactivation")


def _plan(**kw: object) -> Plan:
    fields = {
        "currency": "BRL",
        "amount_minor": 10_000,
        "interval": "month",
        "interval_count": 1,
        "pricing_model": "flat",
        "tiers": [],
        **kw,
    }
    return Plan(**fields)


@pytest.mark.parametrize(
    ("plan", "quantity", "expected"),
    [
        (_plan(), 1, 10_000),
        (_plan(interval="year", amount_minor=120_000), 1, 10_000),  # 120_000 / 12
        (_plan(interval="month", interval_count=3, amount_minor=30_000), 1, 10_000),
        (_plan(interval="week", amount_minor=1_000), 1, 4_333),  # 1_000 × 52 / 12 = 4_333.3
        (_plan(interval="day", amount_minor=100), 1, 3_042),  # 100 × 365 / 12 = 3_041.7
        (_plan(pricing_model="per_seat", amount_minor=2_500), 4, 10_000),
        (
            _plan(
                pricing_model="graduated",
                tiers=[
                    {"up_to": 2, "unit_amount_minor": 1_000},
                    {"up_to": None, "unit_amount_minor": 500},
                ],
            ),
            5,
            3_500,  # 2 × 1_000 + 3 × 500
        ),
    ],
)
def test_mrr_is_the_recurring_price_normalised_to_a_month(
    plan: Plan, quantity: int, expected: int
) -> None:
    assert subscription_mrr(plan=plan, quantity=quantity, status="active") == expected
    assert subscription_mrr(plan=plan, quantity=quantity, status="past_due") == expected
    for status in ("trialing", "paused", "incomplete", "canceled", "ended"):
        assert subscription_mrr(plan=plan, quantity=quantity, status=status) == 0


@pytest.mark.django_db
def test_a_forever_coupon_lowers_mrr_and_a_once_coupon_does_not() -> None:
    with world(sp(2026, 1, 5, 12)) as w:
        plan = w.plan("basic", 10_000)
        for code, duration in (("FOREVER10", "forever"), ("FIRST50", "once")):
            coupon_create(
                tenant=w.tenant,
                code=code,
                actor=ACTOR,
                now=w.now,
                percent_off=Decimal(10 if duration == "forever" else 50),
                duration=duration,
            )
        w.subscribe(plan, w.customer("Ana"), coupon="FOREVER10", collection_method="send_invoice")
        w.subscribe(plan, w.customer("Bia"), coupon="FIRST50", collection_method="send_invoice")
        logged = list(
            MrrMovement.objects.order_by("id").values_list("customer__name", "kind", "delta_minor")
        )

    # Ana: 10_000 − 10 % forever = 9_000. Bia: the 50 % off her first invoice is
    # a promotion, not recurring revenue: 10_000.
    assert logged == [("Ana", "new", 9_000), ("Bia", "new", 10_000)]


@pytest.mark.django_db(transaction=True)
def test_past_due_counts_until_dunning_cancels_then_it_is_churn() -> None:
    with world(sp(2026, 1, 5, 12)) as w:
        customer = w.customer()
        attach_card(w, customer, GOOD_CARD)
        w.subscribe(w.plan(amount=9_990), customer)
        attach_card(w, customer, DECLINED_CARD)
        # Declined on Feb 5 and at every retry; the régua cancels on D+15 (Feb 20).
        w.advance(sp(2026, 2, 19, 12))
        past_due = selectors.series(
            tenant=w.tenant,
            currency="BRL",
            start=date(2026, 1, 1),
            end=date(2026, 2, 19),
            grain="month",
            now=w.now,
        )
        w.advance(sp(2026, 3, 1, 12))
        after = selectors.series(
            tenant=w.tenant,
            currency="BRL",
            start=date(2026, 1, 1),
            end=date(2026, 2, 28),
            grain="month",
            now=w.now,
        )
        status = w.refresh(w.invoices()[0].subscription).status  # type: ignore[arg-type]

    assert status == "canceled"
    # Until the cancellation the past-due subscription keeps its 9_990.
    assert [r["mrr"] for r in past_due.rows] == [9_990, 9_990]
    jan, feb = after.rows
    assert (feb["churn"], feb["mrr"], feb["customers"], feb["churned_customers"]) == (
        -9_990,
        0,
        0,
        1,
    )
    assert feb["logo_churn"] == Decimal("1.0000")
    for row, previous in ((jan, 0), (feb, jan["mrr"])):
        assert sum(row[k] for k in MOVES) == row["mrr"] - previous


def test_a_readjusted_contract_counts_at_its_own_unit_price() -> None:
    # Readjustment (issue 17): the contract's unit price replaces the plan's.
    per_seat = _plan(pricing_model="per_seat", amount_minor=2_500)
    assert subscription_mrr(plan=per_seat, quantity=4, status="active") == 10_000
    assert (
        subscription_mrr(plan=per_seat, quantity=4, status="active", unit_amount_minor=2_616)
        == 10_464
    )
    yearly = _plan(interval="year", amount_minor=120_000)
    # 125 545 / 12 = 10 462.08 → 10 462
    assert (
        subscription_mrr(plan=yearly, quantity=1, status="active", unit_amount_minor=125_545)
        == 10_462
    )
