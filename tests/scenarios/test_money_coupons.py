"""Coupons: each duration and target, amount off, and the refusals.

Half-even is the default rounding; expectations are hand-computed.
"""

from decimal import Decimal

from billing.models import Coupon, CouponRedemption, Invoice, Seller, SellerPlanCap
from subscriptions.models import Subscription
from tests.scenarios.helpers_money import amounts, coupon, refused
from tests.support.billing import summary, utc, world


def _lines_coupon(invoices: list[Invoice]) -> list[list[int | None]]:
    return [[line.coupon_id for line in i.lines.all()] for i in invoices]


def test_money_coupon_once_on_recurring(db):
    # Given a R$ 100.00 monthly plan and a 20% coupon for one cycle
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000)
        c = coupon(w, "WELCOME20", percent_off=Decimal("20"), duration="once")
        sub = w.subscribe(plan, coupon="WELCOME20")
        # When two renewals pass
        w.advance(utc(2026, 3, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
        c.refresh_from_db()
        redemption = CouponRedemption.objects.get(subscription=sub)
    # Then only the first invoice is discounted: 10000 * 20% = 2000
    assert got == [
        ("2026-01-05", "subscription_create", 8_000, [("recurring", 10_000, 2_000, 0, 8_000)]),
        ("2026-02-05", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
        ("2026-03-05", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
    ]
    assert got_amounts[0] == (10_000, 2_000, 0, 8_000, 0, 8_000)
    assert c.times_redeemed == 1
    assert redemption.cycles_left == 0


def test_money_coupon_repeating_three_cycles_half_even(db):
    # Given R$ 99.90 monthly and 15% off for 3 cycles (half-even rounding)
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=9_990)
        c = coupon(w, "TRI15", percent_off=Decimal("15"), duration="repeating", duration_cycles=3)
        sub = w.subscribe(plan, coupon="TRI15")
        # When three renewals pass
        w.advance(utc(2026, 4, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_coupons = _lines_coupon(invoices)
    # Then 9990 * 15% = 1498.5 -> 1498 (half-even) on three invoices, the fourth is full
    off = [("recurring", 9_990, 1_498, 0, 8_492)]
    assert got == [
        ("2026-01-05", "subscription_create", 8_492, off),
        ("2026-02-05", "subscription_cycle", 8_492, off),
        ("2026-03-05", "subscription_cycle", 8_492, off),
        ("2026-04-05", "subscription_cycle", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
    ]
    assert got_coupons == [[c.pk], [c.pk], [c.pk], [None]]


def test_money_coupon_forever_half_up(db):
    # Given a tenant rounding half-up, R$ 99.90 monthly and 15% off forever
    with world(utc(2026, 1, 5, 15), rounding_mode="half_up") as w:
        plan = w.plan(amount=9_990)
        coupon(w, "ALWAYS15", percent_off=Decimal("15"), duration="forever")
        sub = w.subscribe(plan, coupon="ALWAYS15")
        # When three renewals pass
        w.advance(utc(2026, 4, 6))
        got = [summary(i) for i in w.invoices(sub)]
    # Then 9990 * 15% = 1498.5 -> 1499 (half-up) on every invoice
    off = [("recurring", 9_990, 1_499, 0, 8_491)]
    assert got == [
        ("2026-01-05", "subscription_create", 8_491, off),
        ("2026-02-05", "subscription_cycle", 8_491, off),
        ("2026-03-05", "subscription_cycle", 8_491, off),
        ("2026-04-05", "subscription_cycle", 8_491, off),
    ]


def test_money_coupon_both_targets_with_a_different_setup_percent(db):
    # Given R$ 100.00 monthly with a R$ 500.00 setup fee, and a forever coupon:
    # 10% off the recurring fee, 50% off the setup fee
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000, setup_fee_minor=50_000)
        coupon(
            w,
            "BOTH",
            percent_off=Decimal("10"),
            setup_percent_off=Decimal("50"),
            applies_to="both",
            duration="forever",
        )
        sub = w.subscribe(plan, coupon="BOTH")
        # When two renewals pass
        w.advance(utc(2026, 3, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
    # Then the first invoice: 10000 - 1000 and 50000 - 25000; renewals: 10000 - 1000
    assert got == [
        (
            "2026-01-05",
            "subscription_create",
            34_000,
            [("recurring", 10_000, 1_000, 0, 9_000), ("setup_fee", 50_000, 25_000, 0, 25_000)],
        ),
        ("2026-02-05", "subscription_cycle", 9_000, [("recurring", 10_000, 1_000, 0, 9_000)]),
        ("2026-03-05", "subscription_cycle", 9_000, [("recurring", 10_000, 1_000, 0, 9_000)]),
    ]
    assert got_amounts[0] == (60_000, 26_000, 0, 34_000, 0, 34_000)


def test_money_coupon_on_setup_fee_only(db):
    # Given R$ 100.00 monthly with a R$ 200.00 setup fee and a 100%-off-setup coupon
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000, setup_fee_minor=20_000)
        coupon(w, "FREESETUP", percent_off=Decimal("100"), applies_to="setup")
        sub = w.subscribe(plan, coupon="FREESETUP")
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        got = [summary(i) for i in w.invoices(sub)]
    # Then the setup fee is waived and the recurring fee is never discounted
    assert got == [
        (
            "2026-01-05",
            "subscription_create",
            10_000,
            [("recurring", 10_000, 0, 0, 10_000), ("setup_fee", 20_000, 20_000, 0, 0)],
        ),
        ("2026-02-05", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
    ]


def test_money_amount_off_coupon_repeating_in_usd(db):
    # Given US$ 25.00 monthly and US$ 10.00 off for 2 cycles
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan("usd", 2_500, "USD")
        coupon(
            w,
            "TEN",
            amount_off_minor=1_000,
            currency="USD",
            duration="repeating",
            duration_cycles=2,
        )
        sub = w.subscribe(plan, coupon="TEN")
        # When two renewals pass
        w.advance(utc(2026, 3, 6))
        got = [summary(i) for i in w.invoices(sub)]
    # Then 2500 - 1000 twice, then 2500
    assert got == [
        ("2026-01-05", "subscription_create", 1_500, [("recurring", 2_500, 1_000, 0, 1_500)]),
        ("2026-02-05", "subscription_cycle", 1_500, [("recurring", 2_500, 1_000, 0, 1_500)]),
        ("2026-03-05", "subscription_cycle", 2_500, [("recurring", 2_500, 0, 0, 2_500)]),
    ]


def test_money_amount_off_on_both_is_one_pool_across_lines(db):
    # Given R$ 100.00 monthly + R$ 50.00 setup, and R$ 120.00 off once on both
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000, setup_fee_minor=5_000)
        coupon(w, "R120", amount_off_minor=12_000, currency="BRL", applies_to="both")
        sub = w.subscribe(plan, coupon="R120")
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        got = [summary(i) for i in w.invoices(sub)]
    # Then the pool is spread over both lines in proportion to their amounts
    # (issue 16, item 3; it used to go to the lines in order, 10000 then 2000):
    #   recurring 12000 × 10000/15000 = 8000; setup 12000 × 5000/15000 = 4000;
    #   no rounding remainder. Total 15000 - 12000 = 3000 either way.
    assert got == [
        (
            "2026-01-05",
            "subscription_create",
            3_000,
            [("recurring", 10_000, 8_000, 0, 2_000), ("setup_fee", 5_000, 4_000, 0, 1_000)],
        ),
        ("2026-02-05", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
    ]


def test_money_amount_off_above_price_floors_at_zero_and_activates(db):
    # Given US$ 25.00 monthly and US$ 30.00 off once
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan("usd", 2_500, "USD")
        coupon(w, "BIG", amount_off_minor=3_000, currency="USD")
        sub = w.subscribe(plan, coupon="BIG")
        status_at_signup = w.refresh(sub).status
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
        got_status = [i.status for i in invoices]
    # Then the discount is capped at the line (2500), the invoice is 0 and paid at once,
    # so the subscription is active; the extra 500 carries to the next invoice: 2500 - 500
    assert got == [
        ("2026-01-05", "subscription_create", 0, [("recurring", 2_500, 2_500, 0, 0)]),
        ("2026-02-05", "subscription_cycle", 2_000, [("recurring", 2_500, 500, 0, 2_000)]),
    ]
    assert got_amounts == [(2_500, 2_500, 0, 0, 0, 0), (2_500, 500, 0, 2_000, 0, 2_000)]
    assert got_status == ["paid", "open"]
    assert status_at_signup == Subscription.Status.ACTIVE


def test_money_coupon_refused_when_fully_redeemed(db):
    # Given a coupon with one redemption, already taken by Ana
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000)
        c = coupon(w, "ONLYONE", percent_off=Decimal("50"), max_redemptions=1)
        ana_sub = w.subscribe(plan, w.customer("Ana"), coupon="ONLYONE")
        bia = w.customer("Bia")
        # When Bia tries it
        code = refused(lambda: w.subscribe(plan, bia, coupon="ONLYONE"))
        c.refresh_from_db()
        bia_subs = Subscription.objects.filter(customer=bia).count()
        bia_invoices = Invoice.objects.filter(customer=bia).count()
        ana = [summary(i) for i in w.invoices(ana_sub)]
    # Then a clear refusal, nothing created for Bia, the count unchanged
    assert code == "coupon_exhausted"
    assert (bia_subs, bia_invoices, c.times_redeemed) == (0, 0, 1)
    assert ana == [
        ("2026-01-05", "subscription_create", 5_000, [("recurring", 10_000, 5_000, 0, 5_000)])
    ]


def test_money_coupon_refused_after_redeem_by(db):
    # Given a coupon valid until Jan 31 2026 local midnight, and the clock on Feb 1
    with world(utc(2026, 2, 1, 15)) as w:
        plan = w.plan(amount=10_000)
        c = coupon(w, "JANUARY", percent_off=Decimal("30"), redeem_by=utc(2026, 1, 31, 3))
        # When a customer subscribes with it
        code = refused(lambda: w.subscribe(plan, coupon="JANUARY"))
        c.refresh_from_db()
        counts = (
            Subscription.objects.count(),
            Invoice.objects.count(),
            CouponRedemption.objects.count(),
            c.times_redeemed,
        )
    # Then it is expired and nothing is created
    assert code == "coupon_expired"
    assert counts == (0, 0, 0, 0)


def test_money_coupon_restricted_to_a_plan(db):
    # Given a coupon only for plan "pro"
    with world(utc(2026, 1, 5, 15)) as w:
        basic = w.plan("basic", 5_000)
        pro = w.plan("pro", 20_000)
        c = coupon(w, "PROONLY", percent_off=Decimal("25"), plan_codes=["pro"], duration="forever")
        # When it is used on "basic", then on "pro"
        code = refused(lambda: w.subscribe(basic, coupon="PROONLY"))
        counts = (Subscription.objects.count(), Invoice.objects.count())
        sub = w.subscribe(pro, coupon="PROONLY")
        w.advance(utc(2026, 2, 6))
        got = [summary(i) for i in w.invoices(sub)]
        c.refresh_from_db()
    # Then "basic" is refused with nothing created; "pro" gets 20000 * 25% = 5000 off
    assert code == "coupon_not_applicable"
    assert counts == (0, 0)
    assert got == [
        ("2026-01-05", "subscription_create", 15_000, [("recurring", 20_000, 5_000, 0, 15_000)]),
        ("2026-02-05", "subscription_cycle", 15_000, [("recurring", 20_000, 5_000, 0, 15_000)]),
    ]
    assert c.times_redeemed == 1


def test_money_amount_off_coupon_in_another_currency_is_refused(db):
    # Given a US$ 10.00 coupon and a BRL plan
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000)
        c = coupon(w, "USD10", amount_off_minor=1_000, currency="USD")
        # When used on the BRL plan
        code = refused(lambda: w.subscribe(plan, coupon="USD10"))
        c.refresh_from_db()
        counts = (Subscription.objects.count(), Invoice.objects.count(), c.times_redeemed)
    # Then it is refused and nothing is created
    assert code == "coupon_not_applicable"
    assert counts == (0, 0, 0)


def test_money_first_purchase_only_coupon(db):
    # Given Ana already has a subscription (and an invoice), and a first-purchase coupon
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000)
        addon = w.plan("addon", 3_000)
        ana = w.customer("Ana")
        w.subscribe(plan, ana)
        c = coupon(w, "FIRST", percent_off=Decimal("40"), first_purchase_only=True)
        # When Ana uses it on a second subscription, and Bia (new) uses it
        code = refused(lambda: w.subscribe(addon, ana, coupon="FIRST"))
        ana_counts = (
            Subscription.objects.filter(customer=ana).count(),
            Invoice.objects.filter(customer=ana).count(),
        )
        bia_sub = w.subscribe(addon, w.customer("Bia"), coupon="FIRST")
        bia = [summary(i) for i in w.invoices(bia_sub)]
        c.refresh_from_db()
    # Then Ana is refused with nothing created; Bia gets 3000 * 40% = 1200 off
    assert code == "coupon_not_applicable"
    assert ana_counts == (1, 1)
    assert bia == [
        ("2026-01-05", "subscription_create", 1_800, [("recurring", 3_000, 1_200, 0, 1_800)])
    ]
    assert c.times_redeemed == 1


def test_money_seller_coupons_within_the_cap(db):
    # Given a seller allowed at most 20% on plan "pro" (R$ 100.00 monthly)
    with world(utc(2026, 1, 5, 15)) as w:
        pro = w.plan("pro", 10_000)
        seller = Seller.objects.create(tenant=w.tenant, name="Carla")
        SellerPlanCap.objects.create(
            tenant=w.tenant, seller=seller, plan_code="pro", max_percent=Decimal("20")
        )
        coupon(w, "CARLA15", percent_off=Decimal("15"), seller_id=seller.pk, duration="forever")
        coupon(w, "CARLA20", amount_off_minor=2_000, currency="BRL", seller_id=seller.pk)
        # When one customer uses the 15% coupon and another R$ 20.00 off (exactly 20%)
        a = w.subscribe(pro, coupon="CARLA15")
        b = w.subscribe(pro, coupon="CARLA20")
        w.advance(utc(2026, 2, 6))
        got_a = [summary(i) for i in w.invoices(a)]
        got_b = [summary(i) for i in w.invoices(b)]
    # Then both are accepted: 15% forever; R$ 20.00 once
    assert got_a == [
        ("2026-01-05", "subscription_create", 8_500, [("recurring", 10_000, 1_500, 0, 8_500)]),
        ("2026-02-05", "subscription_cycle", 8_500, [("recurring", 10_000, 1_500, 0, 8_500)]),
    ]
    assert got_b == [
        ("2026-01-05", "subscription_create", 8_000, [("recurring", 10_000, 2_000, 0, 8_000)]),
        ("2026-02-05", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
    ]


def test_money_seller_coupons_above_the_cap_are_refused(db):
    # Given a seller allowed at most 20% on "pro" and no cap at all on "basic"
    with world(utc(2026, 1, 5, 15)) as w:
        pro = w.plan("pro", 10_000)
        basic = w.plan("basic", 5_000)
        seller = Seller.objects.create(tenant=w.tenant, name="Carla")
        SellerPlanCap.objects.create(
            tenant=w.tenant, seller=seller, plan_code="pro", max_percent=Decimal("20")
        )
        over = coupon(w, "CARLA25", percent_off=Decimal("25"), seller_id=seller.pk)
        amount = coupon(w, "CARLA2001", amount_off_minor=2_001, currency="BRL", seller_id=seller.pk)
        small = coupon(w, "CARLA5", percent_off=Decimal("5"), seller_id=seller.pk)
        # When they are used beyond the cap (25%; R$ 20.01 = 20.01%) or on an uncapped plan
        codes = [
            refused(lambda: w.subscribe(pro, coupon="CARLA25")),
            refused(lambda: w.subscribe(pro, coupon="CARLA2001")),
            refused(lambda: w.subscribe(basic, coupon="CARLA5")),
        ]
        counts = (Subscription.objects.count(), Invoice.objects.count())
        redeemed = [Coupon.objects.get(pk=c.pk).times_redeemed for c in (over, amount, small)]
    # Then every one is refused with the seller-cap code and nothing is created
    assert codes == ["coupon_over_seller_cap"] * 3
    assert counts == (0, 0)
    assert redeemed == [0, 0, 0]


def test_money_amount_off_once_on_both_never_exceeds_its_value_across_a_trial(db):
    # Given R$ 100.00 monthly + R$ 50.00 setup with a 14-day trial, and R$ 120.00 off once
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan(amount=10_000, setup_fee_minor=5_000, trial_days=14)
        coupon(w, "R120", amount_off_minor=12_000, currency="BRL", applies_to="both")
        sub = w.subscribe(plan, coupon="R120")
        # When the trial ends and a month passes
        w.advance(utc(2026, 3, 1))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        total_off = sum(i.discount_minor for i in invoices)
    # Then 5000 of the R$ 120.00 goes to the setup fee at signup, the remaining 7000
    # to the first recurring charge at trial end; never more than 12000 in all
    assert got == [
        ("2026-01-05", "subscription_create", 0, [("setup_fee", 5_000, 5_000, 0, 0)]),
        ("2026-01-19", "subscription_cycle", 3_000, [("recurring", 10_000, 7_000, 0, 3_000)]),
        ("2026-02-19", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
    ]
    assert total_off == 12_000


def test_money_seller_cap_also_bounds_the_setup_fee_discount(db):
    # Given a seller capped at 20% on "pro" (R$ 100.00 monthly + R$ 300.00 setup fee)
    with world(utc(2026, 1, 5, 15)) as w:
        pro = w.plan("pro", 10_000, setup_fee_minor=30_000)
        seller = Seller.objects.create(tenant=w.tenant, name="Carla")
        SellerPlanCap.objects.create(
            tenant=w.tenant, seller=seller, plan_code="pro", max_percent=Decimal("20")
        )
        c = coupon(
            w,
            "CARLAFREESETUP",
            percent_off=Decimal("10"),
            setup_percent_off=Decimal("100"),
            applies_to="both",
            seller_id=seller.pk,
        )
        # When a customer uses the seller's coupon: 10% recurring but 100% off the setup fee
        code = refused(lambda: w.subscribe(pro, coupon="CARLAFREESETUP"))
        c.refresh_from_db()
        counts = (Subscription.objects.count(), Invoice.objects.count(), c.times_redeemed)
    # Then it is refused as above the seller's cap and nothing is created
    assert code == "coupon_over_seller_cap"
    assert counts == (0, 0, 0)
