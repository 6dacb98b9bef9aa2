"""Sellers' commissions, checked to the centavo: what a paid invoice earns under
each rule, what refunds reverse, and the statement per seller and period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing import commissions
from billing.coupons import coupon_create
from billing.gateways.sandbox import SandboxGateway
from billing.models import Commission, CommissionPlan, Invoice, PaymentAttempt, Sale
from billing.payments import payment_method_attach, payment_refund
from billing.sellers import seller_cap_set, seller_create
from core.errors import StateConflict, ValidationFailed
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 3, 10, 15)  # 12:00 in São Paulo


def _card(w: World, name: str = "Ana"):  # type: ignore[no-untyped-def]
    customer = w.customer(name)
    saved = SandboxGateway().tokenize_card(
        number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
    )
    payment_method_attach(
        tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=w.now
    )
    return customer


def _seller(w: World, rule: commissions.Rule, name: str = "Bia"):  # type: ignore[no-untyped-def]
    seller = seller_create(tenant=w.tenant, name=name, actor=ACTOR, now=w.now)
    commissions.seller_commission_set(
        tenant=w.tenant, seller_id=seller.pk, rule=rule, actor=ACTOR, now=w.now
    )
    return seller


def _sold(w: World, seller, sub) -> Sale:  # type: ignore[no-untyped-def]
    return commissions.sale_attribute(
        tenant=w.tenant, subscription_id=sub.pk, seller_id=seller.pk, actor=ACTOR, now=w.now
    )


def _ledger(seller) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    rows = Commission.objects.filter(seller=seller).order_by("occurred_at", "pk")
    return [(c.kind, c.base_minor, c.amount_minor) for c in rows]


def test_first_payment_percentage_is_earned_once_on_revenue_without_tax() -> None:
    with world(NOW) as w:
        rule = commissions.commission_rule_clean(kind="first_payment", percent="12.5")
        seller = _seller(w, rule)
        plan = w.plan(amount=9_990, tax_rate=w.tax("5"))  # 99,90 + 5 % ISS on top = 104,90
        sub = w.subscribe(plan, _card(w), trial_days=14)
        _sold(w, seller, sub)

        w.advance(utc(2026, 3, 24, 15))  # trial ends: first paid invoice
        w.advance(utc(2026, 4, 24, 15))  # a renewal earns nothing more

        totals = [(i.total_minor, i.tax_minor, i.status) for i in w.invoices(sub)]
        # The trial's R$ 0,00 invoice (if any) earns nothing and is not the "first payment".
        paid = [t for t in totals if t[0] > 0]
        assert paid == [(10_490, 500, "paid"), (10_490, 500, "paid")]
        # base 10 490 − 500 = 9 990; 12,5 % of it = 1 248,75 → 1 249 (half up)
        assert _ledger(seller) == [("earned", 9_990, 1_249)]


def test_recurring_percentage_runs_for_its_months_only() -> None:
    with world(NOW) as w:
        rule = commissions.commission_rule_clean(kind="recurring", percent="7.5", months=2)
        seller = _seller(w, rule)
        sub = w.subscribe(w.plan(amount=9_990), _card(w))
        _sold(w, seller, sub)
        for month in (4, 5, 6):
            w.advance(utc(2026, month, 10, 15))

        assert [i.status for i in w.invoices(sub)] == ["paid"] * 4
        # Sold 10/03; the window ends 10/05. Periods starting 10/03 and 10/04 earn
        # 7,5 % × 9 990 = 749,25 → 749; the ones starting 10/05 and 10/06 don't.
        assert _ledger(seller) == [("earned", 9_990, 749), ("earned", 9_990, 749)]


def test_fixed_amount_is_earned_once_per_sale() -> None:
    with world(NOW) as w:
        seller = _seller(w, commissions.commission_rule_clean(kind="fixed", amount_minor=5_000))
        sub = w.subscribe(w.plan(amount=2_990), _card(w))
        _sold(w, seller, sub)
        w.advance(utc(2026, 4, 10, 15))

        assert _ledger(seller) == [("earned", 2_990, 5_000)]


def test_a_sellers_coupon_attributes_the_sale_and_the_base_is_after_the_discount() -> None:
    with world(NOW) as w:
        seller = _seller(w, commissions.commission_rule_clean(kind="first_payment", percent="10"))
        plan = w.plan("pro", amount=20_000)
        seller_cap_set(
            tenant=w.tenant,
            seller_id=seller.pk,
            plan_code="pro",
            max_percent=Decimal("15"),
            actor=ACTOR,
            now=w.now,
        )
        coupon_create(
            tenant=w.tenant,
            code="BIA15",
            percent_off=Decimal("15"),
            seller_id=seller.pk,
            actor=ACTOR,
            now=w.now,
        )
        sub = w.subscribe(plan, _card(w), coupon="BIA15")

        sale = Sale.objects.get(subscription=sub)
        # 20 000 − 15 % = 17 000; 10 % of it = 1 700
        assert (sale.source, sale.seller_id, sale.kind) == ("coupon", seller.pk, "first_payment")
        assert _ledger(seller) == [("earned", 17_000, 1_700)]


def test_refunds_reverse_in_proportion_and_a_full_refund_reverses_everything() -> None:
    with world(NOW) as w:
        seller = _seller(w, commissions.commission_rule_clean(kind="first_payment", percent="10"))
        sub = w.subscribe(w.plan(amount=11_000, tax_rate=w.tax("10", inclusive=True)), _card(w))
        _sold(w, seller, sub)
        # Attributed after the first payment: that payment earns at attribution.
        invoice = Invoice.objects.get(subscription=sub)
        attempt = PaymentAttempt.objects.get(invoice=invoice)
        for amount in (3_333, 7_667):
            payment_refund(
                tenant=w.tenant,
                attempt_id=attempt.pk,
                amount_minor=amount,
                reason="Goodwill",
                actor=ACTOR,
                now=w.now,
            )

        # Total 11 000 with 10 % inside: tax 1 000, base 10 000, earned 1 000.
        # After 3 333: round(1 000 × 3 333 / 11 000) = round(303,0) = 303 reversed.
        # After 11 000: 1 000 reversed in all, so 697 more.
        assert _ledger(seller) == [
            ("earned", 10_000, 1_000),
            ("reversed", -3_333, -303),
            ("reversed", -7_667, -697),
        ]
        assert sum(c[2] for c in _ledger(seller)) == 0


def test_statement_takes_days_in_the_tenants_time_zone_with_totals() -> None:
    with world(utc(2026, 6, 30, 12)) as w:
        seller = _seller(
            w, commissions.commission_rule_clean(kind="recurring", percent="10", months=12)
        )
        sub = w.subscribe(w.plan(amount=10_000), _card(w))
        _sold(w, seller, sub)
        # Paid 30/06 23:30 in São Paulo, which is 01/07 02:30 UTC: a June commission.
        Commission.objects.filter(seller=seller).update(occurred_at=utc(2026, 7, 1, 2, 30))

        june = commissions.commission_statement(
            tenant=w.tenant, seller_id=seller.pk, start=date(2026, 6, 1), end=date(2026, 6, 30)
        )
        july = commissions.commission_statement(
            tenant=w.tenant, seller_id=seller.pk, start=date(2026, 7, 1), end=date(2026, 7, 31)
        )
        assert [(line.local_date, line.commission.amount_minor) for line in june.lines] == [
            (date(2026, 6, 30), 1_000)
        ]
        assert june.totals["BRL"].net_minor == 1_000
        assert july.lines == []
        assert july.totals == {}


def test_a_rule_changed_after_the_sale_does_not_rewrite_it() -> None:
    with world(NOW) as w:
        seller = _seller(w, commissions.commission_rule_clean(kind="first_payment", percent="10"))
        sub = w.subscribe(w.plan(amount=10_000), _card(w), trial_days=7)
        _sold(w, seller, sub)
        commissions.seller_commission_set(
            tenant=w.tenant,
            seller_id=seller.pk,
            rule=commissions.commission_rule_clean(kind="fixed", amount_minor=99_900),
            actor=ACTOR,
            now=w.now,
        )
        w.advance(utc(2026, 3, 17, 15))

        assert CommissionPlan.objects.get(seller=seller).kind == "fixed"
        assert _ledger(seller) == [("earned", 10_000, 1_000)]


def test_a_subscription_is_sold_once() -> None:
    with world(NOW) as w:
        one = _seller(w, commissions.commission_rule_clean(kind="none"))
        two = _seller(w, commissions.commission_rule_clean(kind="none"), name="Caio")
        sub = w.subscribe(w.plan(), _card(w))
        _sold(w, one, sub)
        with pytest.raises(StateConflict):
            _sold(w, two, sub)
        assert list(Sale.objects.values_list("seller_id", flat=True)) == [one.pk]


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        pytest.param({"kind": "bonus"}, "kind", id="unknown-kind"),
        pytest.param({"kind": "first_payment", "percent": "0"}, "percent", id="zero"),
        pytest.param({"kind": "first_payment", "percent": "100.01"}, "percent", id="over-100"),
        pytest.param({"kind": "first_payment", "percent": "1.234"}, "percent", id="3-decimals"),
        pytest.param({"kind": "first_payment", "percent": "abc"}, "percent", id="not-a-number"),
        pytest.param({"kind": "first_payment", "percent": "NaN"}, "percent", id="nan"),
        pytest.param({"kind": "first_payment", "percent": True}, "percent", id="bool"),
        pytest.param({"kind": "recurring", "percent": "5", "months": 0}, "months", id="months-0"),
        pytest.param({"kind": "recurring", "percent": "5", "months": 121}, "months", id="m-121"),
        pytest.param({"kind": "recurring", "percent": "5"}, "months", id="months-missing"),
        pytest.param({"kind": "fixed", "amount_minor": -1}, "amount_minor", id="negative"),
        pytest.param({"kind": "fixed", "amount_minor": 10**13}, "amount_minor", id="huge"),
        pytest.param({"kind": "fixed", "amount_minor": 1.5}, "amount_minor", id="float"),
    ],
)
def test_bad_rules_are_refused(kw, param) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as caught:
        commissions.commission_rule_clean(**kw)
    assert caught.value.param == param
