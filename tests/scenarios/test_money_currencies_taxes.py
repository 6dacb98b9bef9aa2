"""Zero- and three-decimal currencies, prorations, taxes (exclusive and inclusive) and
the credit balance. Hand-computed expectations; half-even unless the tenant says so."""

from decimal import Decimal

from tests.scenarios.helpers_money import amounts, change, coupon, line_periods, period
from tests.support.billing import summary, utc, world


def test_money_jpy_calendar_proration_with_exclusive_tax(db):
    # Given ¥1,980 monthly with a 10% tax added on top, calendar billing from Jan 20 2026
    with world(utc(2026, 1, 20, 15)) as w:
        tax = w.tax("10", name="Consumption tax")
        sub = w.subscribe(w.plan("jp", 1_980, "JPY", tax_rate=tax), calendar_billing=True)
        # When the clock passes Mar 1
        w.advance(utc(2026, 3, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
    # Then Jan 20 -> Feb 1 = 12 of 31 days: 1980 * 12 / 31 = 766.45 -> ¥766; tax 76.6 -> ¥77
    # full months: 1980 + 198
    full = [("recurring", 1_980, 0, 198, 2_178)]
    assert got == [
        ("2026-01-20", "subscription_create", 843, [("recurring", 766, 0, 77, 843)]),
        ("2026-02-01", "subscription_cycle", 2_178, full),
        ("2026-03-01", "subscription_cycle", 2_178, full),
    ]
    assert got_amounts[0] == (766, 0, 77, 843, 0, 843)


def test_money_kwd_anchor_day_proration_with_amount_off_coupon(db):
    # Given KWD 12.500 monthly (12500 fils), billed on the 1st (anchor_day=1) from Jan 20,
    # and KWD 1.250 off forever
    with world(utc(2026, 1, 20, 15)) as w:
        plan = w.plan("kw", 12_500, "KWD")
        coupon(w, "KWD1250", amount_off_minor=1_250, currency="KWD", duration="forever")
        sub = w.subscribe(plan, anchor_day=1, coupon="KWD1250")
        # When the clock passes Mar 1
        w.advance(utc(2026, 3, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then 12500 * 12 / 31 = 4838.71 -> 4839 fils, minus 1250 = 3589; then 12500 - 1250
    off = [("recurring", 12_500, 1_250, 0, 11_250)]
    assert got == [
        ("2026-01-20", "subscription_create", 3_589, [("recurring", 4_839, 1_250, 0, 3_589)]),
        ("2026-02-01", "subscription_cycle", 11_250, off),
        ("2026-03-01", "subscription_cycle", 11_250, off),
    ]
    assert got_periods == [
        (utc(2026, 1, 20, 15), utc(2026, 2, 1, 3)),
        (utc(2026, 2, 1, 3), utc(2026, 3, 1, 3)),
        (utc(2026, 3, 1, 3), utc(2026, 4, 1, 3)),
    ]


def test_money_jpy_upgrade_prorated_on_the_next_invoice(db):
    # Given ¥3,000 monthly from Jan 10 noon local (period Jan 10 -> Feb 10, 31 days)
    with world(utc(2026, 1, 10, 15)) as w:
        small = w.plan("small", 3_000, "JPY")
        big = w.plan("big", 5_000, "JPY")
        sub = w.subscribe(small)
        # When the customer upgrades to ¥5,000 on Jan 25, prorations added to the next invoice
        w.advance(utc(2026, 1, 25, 15))
        change(w, sub, plan=big, proration="next_invoice")
        w.advance(utc(2026, 2, 11))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_lines = line_periods(invoices[1])
    # Then 16 of 31 days remain: credit 3000 * 16 / 31 = 1548.39 -> ¥1548,
    # charge 5000 * 16 / 31 = 2580.65 -> ¥2581, both on the Feb 10 renewal
    assert got == [
        ("2026-01-10", "subscription_create", 3_000, [("recurring", 3_000, 0, 0, 3_000)]),
        (
            "2026-02-10",
            "subscription_cycle",
            6_033,
            [
                ("recurring", 5_000, 0, 0, 5_000),
                ("proration", -1_548, 0, 0, -1_548),
                ("proration", 2_581, 0, 0, 2_581),
            ],
        ),
    ]
    assert got_lines == [
        ("recurring", utc(2026, 2, 10, 15), utc(2026, 3, 10, 15)),
        ("proration", utc(2026, 1, 25, 15), utc(2026, 2, 10, 15)),
        ("proration", utc(2026, 1, 25, 15), utc(2026, 2, 10, 15)),
    ]


def test_money_kwd_upgrade_invoiced_now(db):
    # Given KWD 10.000 monthly from Jan 10 noon local
    with world(utc(2026, 1, 10, 15)) as w:
        low = w.plan("low", 10_000, "KWD")
        high = w.plan("high", 25_000, "KWD")
        sub = w.subscribe(low)
        # When it upgrades to KWD 25.000 on Jan 20, invoiced at once
        w.advance(utc(2026, 1, 20, 15))
        change(w, sub, plan=high, proration="invoice_now")
        w.advance(utc(2026, 2, 11))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_periods = [period(i) for i in invoices]
    # Then 21 of 31 days remain: credit 10000 * 21 / 31 = 6774.19 -> 6774 fils,
    # charge 25000 * 21 / 31 = 16935.48 -> 16935 fils; net 10161; Feb 10 at the new price
    assert got == [
        ("2026-01-10", "subscription_create", 10_000, [("recurring", 10_000, 0, 0, 10_000)]),
        (
            "2026-01-20",
            "subscription_update",
            10_161,
            [("proration", -6_774, 0, 0, -6_774), ("proration", 16_935, 0, 0, 16_935)],
        ),
        ("2026-02-10", "subscription_cycle", 25_000, [("recurring", 25_000, 0, 0, 25_000)]),
    ]
    assert got_periods[1] == (None, None)


def test_money_downgrade_credit_is_carried_and_applied_to_later_invoices(db):
    # Given R$ 200.00 monthly from Jan 10 noon local
    with world(utc(2026, 1, 10, 15)) as w:
        pro = w.plan("pro", 20_000)
        lite = w.plan("lite", 5_000)
        sub = w.subscribe(pro)
        # When it downgrades to R$ 50.00 on Jan 26, invoiced now, and three renewals pass
        w.advance(utc(2026, 1, 26, 15))
        change(w, sub, plan=lite, proration="invoice_now")
        w.advance(utc(2026, 4, 11))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
    # Then 15 of 31 days remain: credit 20000 * 15 / 31 = 9677.42 -> 9677,
    # charge 5000 * 15 / 31 = 2419.35 -> 2419; the 7258 below zero goes to the balance
    # and pays Feb (5000) and part of Mar (2258 of 5000)
    lite_line = [("recurring", 5_000, 0, 0, 5_000)]
    assert got == [
        ("2026-01-10", "subscription_create", 20_000, [("recurring", 20_000, 0, 0, 20_000)]),
        (
            "2026-01-26",
            "subscription_update",
            0,
            [
                ("proration", -9_677, 0, 0, -9_677),
                ("proration", 2_419, 0, 0, 2_419),
                ("credit_carried", 7_258, 0, 0, 7_258),
            ],
        ),
        ("2026-02-10", "subscription_cycle", 5_000, lite_line),
        ("2026-03-10", "subscription_cycle", 5_000, lite_line),
        ("2026-04-10", "subscription_cycle", 5_000, lite_line),
    ]
    assert got_amounts == [
        (20_000, 0, 0, 20_000, 0, 20_000),
        (0, 0, 0, 0, 0, 0),
        (5_000, 0, 0, 5_000, 5_000, 0),
        (5_000, 0, 0, 5_000, 2_258, 2_742),
        (5_000, 0, 0, 5_000, 0, 5_000),
    ]


def test_money_forever_coupon_follows_a_mid_period_downgrade(db):
    # Given R$ 200.00 monthly at 50% off forever, from Apr 10 2026 (period of 30 days)
    with world(utc(2026, 4, 10, 15)) as w:
        pro = w.plan("pro", 20_000)
        lite = w.plan("lite", 6_000)
        coupon(w, "HALF", percent_off=Decimal("50"), duration="forever")
        sub = w.subscribe(pro, coupon="HALF")
        # When it downgrades on Apr 25 (15 of 30 days left), invoiced now, then renews twice
        w.advance(utc(2026, 4, 25, 15))
        change(w, sub, plan=lite, proration="invoice_now")
        w.advance(utc(2026, 6, 11))
        invoices = w.invoices(sub)
        got = [(i.billing_reason, i.total_minor, i.credit_applied_minor) for i in invoices]
        carried = [
            line.amount_minor for line in invoices[1].lines.all() if line.kind == "credit_carried"
        ]
    # Then the unused half of what was paid (10000 / 2 = 5000) is credited and the new
    # plan's half period costs 6000 / 2 at 50% off = 1500: 3500 to the balance, which
    # pays the May renewal (6000 at 50% = 3000) and 500 of June's
    assert got == [
        ("subscription_create", 10_000, 0),
        ("subscription_update", 0, 0),
        ("subscription_cycle", 3_000, 3_000),
        ("subscription_cycle", 3_000, 500),
    ]
    assert carried == [3_500]


def test_money_exclusive_tax_after_discount_per_line(db):
    # Given R$ 100.00 monthly + R$ 33.33 setup, ISS 5% on top, 10% off the recurring fee forever
    with world(utc(2026, 1, 5, 15)) as w:
        iss = w.tax("5")
        plan = w.plan(amount=10_000, setup_fee_minor=3_333, tax_rate=iss)
        coupon(w, "TEN", percent_off=Decimal("10"), duration="forever")
        sub = w.subscribe(plan, coupon="TEN")
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
    # Then tax is on the discounted net: 5% of 9000 = 450; setup 5% of 3333 = 166.65 -> 167
    assert got == [
        (
            "2026-01-05",
            "subscription_create",
            12_950,
            [("recurring", 10_000, 1_000, 450, 9_450), ("setup_fee", 3_333, 0, 167, 3_500)],
        ),
        ("2026-02-05", "subscription_cycle", 9_450, [("recurring", 10_000, 1_000, 450, 9_450)]),
    ]
    assert got_amounts == [
        (13_333, 1_000, 617, 12_950, 0, 12_950),
        (10_000, 1_000, 450, 9_450, 0, 9_450),
    ]


def test_money_inclusive_tax_is_contained_in_the_discounted_price(db):
    # Given R$ 100.00 monthly with a 12% tax included in the price, 10% off once
    with world(utc(2026, 1, 5, 15)) as w:
        vat = w.tax("12", inclusive=True, name="VAT")
        plan = w.plan(amount=10_000, tax_rate=vat)
        coupon(w, "TEN", percent_off=Decimal("10"))
        sub = w.subscribe(plan, coupon="TEN")
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        got_amounts = [amounts(i) for i in invoices]
    # Then net 9000 contains 9000 - 9000/1.12 (8035.71 -> 8036) = 964; the total stays 9000;
    # undiscounted: 10000 - 8928.57 (-> 8929) = 1071, total 10000
    assert got == [
        ("2026-01-05", "subscription_create", 9_000, [("recurring", 10_000, 1_000, 964, 9_000)]),
        ("2026-02-05", "subscription_cycle", 10_000, [("recurring", 10_000, 0, 1_071, 10_000)]),
    ]
    assert got_amounts == [
        (10_000, 1_000, 964, 9_000, 0, 9_000),
        (10_000, 0, 1_071, 10_000, 0, 10_000),
    ]
