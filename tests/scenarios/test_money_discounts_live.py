"""Coupons on live subscriptions and on customers (issue 16, lifecycle 3).

Every subscription starts Jan 15 2026 at noon in São Paulo (UTC-3), R$ 100.00
monthly unless said otherwise, sent as invoices (active at once). The period
[Jan 15 12:00, Feb 15 12:00) is 31 days = 2,678,400 s. Half-even rounding.

"Now" prorates with ``remaining_fraction`` (as a plan change does): the rest of
the period is credited at the price it was charged (its discount's remaining
share, rounded once) and charged again at the new discount, on an invoice
written at once; a negative result is carried to the customer's balance and
taken by the next invoice. Applying now counts the current period as the
coupon's first cycle. Expectations are computed by hand in the comments.
"""

from decimal import Decimal

from billing import discounts
from billing.models import CouponRedemption, Seller, SellerPlanCap
from tests.scenarios.helpers_lifecycle import balance, doc, lines, sp, spans
from tests.scenarios.helpers_money import coupon, refused
from tests.support.billing import ACTOR, World, world

SEND = {"collection_method": "send_invoice"}


def apply(w: World, sub, code: str, proration: str = "next_invoice") -> CouponRedemption:
    return discounts.subscription_discount_apply(
        tenant=w.tenant,
        subscription_id=sub.pk,
        coupon=code,
        actor=ACTOR,
        now=w.now,
        proration=proration,
    )


def remove(w: World, sub, proration: str = "next_invoice") -> None:
    discounts.subscription_discount_remove(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, proration=proration
    )


def apply_customer(w: World, customer, code: str) -> CouponRedemption:
    return discounts.customer_discount_apply(
        tenant=w.tenant, customer_id=customer.pk, coupon=code, actor=ACTOR, now=w.now
    )


def totals(w: World, sub) -> list[tuple[str | None, str, int, int, int, int]]:
    """[(issued, reason, discount, total, credit applied, amount due)]."""
    return [(d[1], d[2], d[5], d[7], d[8], d[9]) for d in map(doc, w.invoices(sub))]


def test_apply_now_mid_period_by_day(db):
    # Given R$ 100.00 from Jan 15 and 20% off for 2 cycles
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        coupon(w, "TWENTY2", percent_off=Decimal("20"), duration="repeating", duration_cycles=2)
        sub = w.subscribe(plan, **SEND)
        # When on Feb 1 the coupon is applied now
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "TWENTY2", "now")
        credit_after_apply = balance(w, sub.customer_id)
        w.advance(sp(2026, 3, 20))
        got = w.invoices(sub)
        redemption = CouponRedemption.objects.get(subscription=sub)
        # Feb 1 .. Feb 14 remain: 14 of 31 days. X = 10000 × 14/31 = 4516.13 → 4516
        #   credit -4516 (charged without discount); charge 4516 - 20% (903.2 → 903) = 3613
        #   the invoice nets -903: carried to the balance, total 0
        # Feb 15 renewal: 10000 - 2000 = 8000, less the 903 credit: 7097 due (2nd cycle)
        # Mar 15: the 2 cycles are used: 10000
        assert lines(got[1]) == [
            ("proration", 1, -4_516, 0, 0, -4_516),
            ("proration", 1, 4_516, 903, 0, 3_613),
            ("credit_carried", 1, 903, 0, 0, 903),
        ]
        assert spans(got[1])[:2] == [
            ("proration", "2026-02-01 12:00", "2026-02-15 12:00"),
            ("proration", "2026-02-01 12:00", "2026-02-15 12:00"),
        ]
        assert credit_after_apply == 903
        assert totals(w, sub) == [
            ("2026-01-15 12:00", "subscription_create", 0, 10_000, 0, 10_000),
            ("2026-02-01 12:00", "subscription_update", 903, 0, 0, 0),
            ("2026-02-15 12:00", "subscription_cycle", 2_000, 8_000, 903, 7_097),
            ("2026-03-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000),
        ]
        assert (redemption.cycles_left, redemption.recurring_uses) == (0, 2)


def test_apply_now_mid_period_by_second(db):
    # Given second precision, R$ 100.00 from Jan 15 noon and 20% off for 2 cycles
    with world(sp(2026, 1, 15), proration_precision="second") as w:
        plan = w.plan(amount=10_000)
        coupon(w, "TWENTY2", percent_off=Decimal("20"), duration="repeating", duration_cycles=2)
        sub = w.subscribe(plan, **SEND)
        # When on Feb 1 at 18:00 the coupon is applied now
        w.advance(sp(2026, 2, 1, 18))
        apply(w, sub, "TWENTY2", "now")
        w.advance(sp(2026, 2, 20))
        got = w.invoices(sub)
        # Feb 1 18:00 .. Feb 15 12:00 = 13 d 18 h = 1,188,000 s of 2,678,400
        #   X = 10000 × 1188000/2678400 = 4435.48 → 4435; 20% = 887
        # Feb 15: 8000 - 887 credit = 7113 due
        assert lines(got[1]) == [
            ("proration", 1, -4_435, 0, 0, -4_435),
            ("proration", 1, 4_435, 887, 0, 3_548),
            ("credit_carried", 1, 887, 0, 0, 887),
        ]
        assert totals(w, sub)[2] == (
            "2026-02-15 12:00",
            "subscription_cycle",
            2_000,
            8_000,
            887,
            7_113,
        )


def test_apply_from_next_invoice(db):
    # Given R$ 99.90 from Jan 15 and 15% off once
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=9_990)
        coupon(w, "ONCE15", percent_off=Decimal("15"))
        sub = w.subscribe(plan, **SEND)
        # When on Feb 1 it is applied from the next invoice
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "ONCE15")
        invoices_after_apply = len(w.invoices(sub))
        w.advance(sp(2026, 3, 20))
        # Then nothing is invoiced now; Feb 15: 9990 × 15% = 1498.5 → 1498 (half-even): 8492
        assert invoices_after_apply == 1
        assert totals(w, sub) == [
            ("2026-01-15 12:00", "subscription_create", 0, 9_990, 0, 9_990),
            ("2026-02-15 12:00", "subscription_cycle", 1_498, 8_492, 0, 8_492),
            ("2026-03-15 12:00", "subscription_cycle", 0, 9_990, 0, 9_990),
        ]


def test_remove_now_charges_the_rest_of_the_period(db):
    # Given R$ 100.00 from Jan 15 with 20% off forever (Jan 15: 8000)
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        coupon(w, "ALWAYS20", percent_off=Decimal("20"), duration="forever")
        sub = w.subscribe(plan, coupon="ALWAYS20", **SEND)
        # When on Feb 1 the discount is removed now
        w.advance(sp(2026, 2, 1))
        remove(w, sub, "now")
        w.advance(sp(2026, 2, 20))
        got = w.invoices(sub)
        redemption = CouponRedemption.objects.get(subscription=sub)
        # 14 of 31 days remain: X = 4516; the discount left: 2000 × 14/31 = 903.23 → 903
        #   credit -4516 with -903 discount = -3613; charge 4516: the invoice is 903
        # Feb 15: no discount any more: 10000
        assert lines(got[1]) == [
            ("proration", 1, -4_516, -903, 0, -3_613),
            ("proration", 1, 4_516, 0, 0, 4_516),
        ]
        assert totals(w, sub) == [
            ("2026-01-15 12:00", "subscription_create", 2_000, 8_000, 0, 8_000),
            ("2026-02-01 12:00", "subscription_update", -903, 903, 0, 903),
            ("2026-02-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000),
        ]
        assert redemption.ended_at == sp(2026, 2, 1)


def test_replace_now_credits_the_old_discount_and_charges_the_new(db):
    # Given 10% off forever from Jan 15 (9000), and a 30%-once coupon
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        coupon(w, "TEN", percent_off=Decimal("10"), duration="forever")
        coupon(w, "THIRTY", percent_off=Decimal("30"))
        sub = w.subscribe(plan, coupon="TEN", **SEND)
        # When on Feb 1 the 30% coupon replaces it now
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "THIRTY", "now")
        w.advance(sp(2026, 3, 20))
        got = w.invoices(sub)
        # X = 4516; the old discount left: 1000 × 14/31 = 451.6 → 452; the new: 30% × 4516 =
        # 1354.8 → 1355. credit -4516 + 452 = -4064; charge 4516 - 1355 = 3161; nets -903
        # Feb 15: THIRTY was once (this period), TEN ended: 10000 - 903 credit = 9097
        assert lines(got[1]) == [
            ("proration", 1, -4_516, -452, 0, -4_064),
            ("proration", 1, 4_516, 1_355, 0, 3_161),
            ("credit_carried", 1, 903, 0, 0, 903),
        ]
        assert totals(w, sub)[2:] == [
            ("2026-02-15 12:00", "subscription_cycle", 0, 10_000, 903, 9_097),
            ("2026-03-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000),
        ]


def test_customer_coupon_across_two_subscriptions(db):
    # Given Ana on basic (R$ 100.00 from Jan 15) and pro (R$ 50.00 from Jan 22)
    with world(sp(2026, 1, 15)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=5_000)
        coupon(w, "CUST10", percent_off=Decimal("10"), duration="repeating", duration_cycles=3)
        ana = w.customer("Ana")
        sub_basic = w.subscribe(basic, ana, **SEND)
        w.advance(sp(2026, 1, 22))
        sub_pro = w.subscribe(pro, ana, **SEND)
        # When on Feb 1 a 10%-for-3-invoices coupon is put on Ana
        w.advance(sp(2026, 2, 1))
        redemption = apply_customer(w, ana, "CUST10")
        w.advance(sp(2026, 3, 25))
        redemption.refresh_from_db()
        # Then her next 3 invoices, whichever subscription: Feb 15 basic 9000,
        # Feb 22 pro 4500, Mar 15 basic 9000; Mar 22 pro is full: 5000
        assert totals(w, sub_basic)[1:] == [
            ("2026-02-15 12:00", "subscription_cycle", 1_000, 9_000, 0, 9_000),
            ("2026-03-15 12:00", "subscription_cycle", 1_000, 9_000, 0, 9_000),
        ]
        assert totals(w, sub_pro)[1:] == [
            ("2026-02-22 12:00", "subscription_cycle", 500, 4_500, 0, 4_500),
            ("2026-03-22 12:00", "subscription_cycle", 0, 5_000, 0, 5_000),
        ]
        assert (redemption.subscription_id, redemption.cycles_left) == (None, 0)


def test_amount_off_remainder_carried_over_two_invoices(db):
    # Given R$ 100.00 from Jan 15 and R$ 250.00 off once, applied from the next invoice
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        coupon(w, "R250", amount_off_minor=25_000, currency="BRL")
        sub = w.subscribe(plan, **SEND)
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "R250")
        # When four renewals pass
        w.advance(sp(2026, 5, 20))
        redemption = CouponRedemption.objects.get(subscription=sub)
        # Then Feb 15: 10000 off (15000 left); Mar 15: 10000 off (5000 left);
        # Apr 15: 5000 off → 5000; May 15: 10000. No invoice below zero.
        assert totals(w, sub)[1:] == [
            ("2026-02-15 12:00", "subscription_cycle", 10_000, 0, 0, 0),
            ("2026-03-15 12:00", "subscription_cycle", 10_000, 0, 0, 0),
            ("2026-04-15 12:00", "subscription_cycle", 5_000, 5_000, 0, 5_000),
            ("2026-05-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000),
        ]
        assert (redemption.cycles_left, redemption.carried_minor) == (0, 0)


def test_amount_off_applied_now_carries_what_the_rest_of_the_period_cannot_use(db):
    # Given R$ 100.00 from Jan 15 and R$ 80.00 off once
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        coupon(w, "R80", amount_off_minor=8_000, currency="BRL")
        sub = w.subscribe(plan, **SEND)
        # When on Feb 1 it is applied now
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "R80", "now")
        carried_now = CouponRedemption.objects.get(subscription=sub).carried_minor
        w.advance(sp(2026, 3, 20))
        got = w.invoices(sub)
        # X = 4516: the charge is fully discounted (4516), 8000 - 4516 = 3484 carries;
        # the invoice nets -4516 to the balance.
        # Feb 15: 10000 - 3484 = 6516, less the 4516 credit: 2000 due. Mar 15: 10000.
        assert lines(got[1]) == [
            ("proration", 1, -4_516, 0, 0, -4_516),
            ("proration", 1, 4_516, 4_516, 0, 0),
            ("credit_carried", 1, 4_516, 0, 0, 4_516),
        ]
        assert carried_now == 3_484
        assert totals(w, sub)[2:] == [
            ("2026-02-15 12:00", "subscription_cycle", 3_484, 6_516, 4_516, 2_000),
            ("2026-03-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000),
        ]


def test_repeating_three_expires(db):
    # Given R$ 99.90 from Jan 15 and 12% off for 3 cycles, applied from the next invoice
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=9_990)
        coupon(w, "TRI12", percent_off=Decimal("12"), duration="repeating", duration_cycles=3)
        sub = w.subscribe(plan, **SEND)
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "TRI12")
        w.advance(sp(2026, 5, 20))
        # Then 9990 × 12% = 1198.8 → 1199 on Feb, Mar, Apr 15; May 15 is full
        off = (1_199, 8_791, 0, 8_791)
        assert [t[2:] for t in totals(w, sub)] == [
            (0, 9_990, 0, 9_990),
            off,
            off,
            off,
            (0, 9_990, 0, 9_990),
        ]


def test_percent_on_subscription_wins_then_customer_amount_off_carries(db):
    # Given R$ 100.00 from Jan 15; on Feb 1 a 50%-once coupon on the subscription
    # and a R$ 150.00-once coupon on the customer
    with world(sp(2026, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        coupon(w, "HALF", percent_off=Decimal("50"))
        coupon(w, "R150", amount_off_minor=15_000, currency="BRL")
        sub = w.subscribe(plan, **SEND)
        w.advance(sp(2026, 2, 1))
        apply(w, sub, "HALF")
        apply_customer(w, sub.customer, "R150")
        w.advance(sp(2026, 5, 20))
        # Then Feb 15: the subscription's 50% wins (5000); the customer's waits.
        # Mar 15: the customer's R$ 150: 10000 off (5000 carried) → 0
        # Apr 15: 5000 off → 5000; May 15: 10000
        assert totals(w, sub)[1:] == [
            ("2026-02-15 12:00", "subscription_cycle", 5_000, 5_000, 0, 5_000),
            ("2026-03-15 12:00", "subscription_cycle", 10_000, 0, 0, 0),
            ("2026-04-15 12:00", "subscription_cycle", 5_000, 5_000, 0, 5_000),
            ("2026-05-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000),
        ]


def test_apply_then_remove_now_at_the_same_moment_nets_zero(db):
    # Given R$ 100.00 from Jan 15 and 25% off forever, second precision
    with world(sp(2026, 1, 15), proration_precision="second") as w:
        plan = w.plan(amount=10_000)
        coupon(w, "QUARTER", percent_off=Decimal("25"), duration="forever")
        sub = w.subscribe(plan, **SEND)
        # When on Feb 3 at 09:30 it is applied now, then removed now
        w.advance(sp(2026, 2, 3, 9, 30))
        apply(w, sub, "QUARTER", "now")
        remove(w, sub, "now")
        w.advance(sp(2026, 2, 20))
        got = w.invoices(sub)
        # Feb 3 09:30 .. Feb 15 12:00 = 12 d 2.5 h = 1,045,800 s: X = 3904.569 → 3905
        # apply: 25% × 3905 = 976.25 → 976 credited to the balance; remove: the line's
        # discount, whole (its own period is what is left): 976 charged back, paid by
        # that credit. Feb 15: 10000, no credit left.
        assert [d[2:] for d in totals(w, sub)[1:3]] == [(976, 0, 0, 0), (-976, 976, 976, 0)]
        assert totals(w, sub)[3] == (
            "2026-02-15 12:00",
            "subscription_cycle",
            0,
            10_000,
            0,
            10_000,
        )
        assert len(got) == 4


def test_seller_cap_and_validity_hold_on_live_paths(db):
    # Given Carla may give up to 20% on pro (none on basic); Ana on pro, Bia on basic
    with world(sp(2026, 1, 15)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        seller = Seller.objects.create(tenant=w.tenant, name="Carla")
        SellerPlanCap.objects.create(
            tenant=w.tenant, seller=seller, plan_code="pro", max_percent=Decimal("20")
        )
        coupon(w, "CARLA25", percent_off=Decimal("25"), seller_id=seller.pk)
        coupon(w, "CARLA20", percent_off=Decimal("20"), seller_id=seller.pk)
        coupon(w, "FIRST", percent_off=Decimal("10"), first_purchase_only=True)
        coupon(w, "ONE", percent_off=Decimal("10"), max_redemptions=1)
        ana = w.customer("Ana")
        bia = w.customer("Bia")
        sub_pro = w.subscribe(pro, ana, **SEND)
        sub_basic = w.subscribe(basic, bia, **SEND)
        w.advance(sp(2026, 2, 1))
        # When coupons beyond the cap, for a first purchase, or fully redeemed are applied
        codes = [
            refused(lambda: apply(w, sub_pro, "CARLA25", "now")),
            refused(lambda: apply(w, sub_basic, "CARLA20")),
            refused(lambda: apply(w, sub_pro, "FIRST")),
            refused(lambda: apply_customer(w, ana, "FIRST")),
        ]
        apply(w, sub_pro, "ONE")
        codes.append(refused(lambda: apply(w, sub_basic, "ONE")))
        nothing_for_bia = not CouponRedemption.objects.filter(customer=bia).exists()
        # And Carla's 20% put on Bia as a customer: it never discounts basic (no cap)
        apply_customer(w, bia, "CARLA20")
        w.advance(sp(2026, 2, 20))
        basic_feb = totals(w, sub_basic)[1]
    assert codes == [
        "coupon_over_seller_cap",
        "coupon_over_seller_cap",
        "coupon_not_applicable",
        "coupon_not_applicable",
        "coupon_exhausted",
    ]
    assert nothing_for_bia
    # basic has no cap for Carla: the customer-level coupon does not discount it
    assert basic_feb == ("2026-02-15 12:00", "subscription_cycle", 0, 10_000, 0, 10_000)
