"""Mid-cycle plan and quantity changes with proration, in both precisions and
with each behaviour (next_invoice, invoice_now, none), scheduled changes at
period end, tiered plans and the two rounding modes.

Rules (DESIGN.md "Proration"): credit = old period amount × remaining / whole,
charge = new period amount × remaining / whole, each rounded once with the
tenant's mode. By day, calendar days in São Paulo, the day of the change counts
as remaining; by second, exact. Period [Jan 15 12:00, Feb 15 12:00) is 31 days
= 2,678,400 s.
"""

from tenants.models import Event
from tests.scenarios.helpers_lifecycle import (
    balance,
    change,
    doc,
    events,
    lines,
    pending_changes,
    sp,
    spans,
    state,
)
from tests.support.billing import world

GRADUATED = [
    {"up_to": 5, "unit_amount_minor": 1_000},
    {"up_to": None, "unit_amount_minor": 800, "flat_amount_minor": 500},
]
VOLUME = [
    {"up_to": 10, "unit_amount_minor": 2_000},
    {"up_to": None, "unit_amount_minor": 1_500},
]


def test_lifecycle_upgrade_next_invoice_by_day(db):
    # Given basic (R$100) bought on Jan 15 at noon, day precision, half-even
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Feb 1 it is upgraded to pro, prorations added to the next invoice
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="next_invoice")
        # Then nothing is billed now; the plan is pro within the same period
        assert len(w.invoices(sub)) == 1
        assert state(w, sub) == ("active", "pro", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
    # Feb 1 .. Feb 14 remain: 14 of 31 days.
    #   credit 10000 × 14/31 = 4516.13 → 4516; charge 25000 × 14/31 = 11290.32 → 11290
    #   Feb 15 invoice: 25000 - 4516 + 11290 = 31774
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 31_774, 0, 0, 31_774, 0, 31_774),
        ("2026-03-15 12:00", "subscription_cycle", "open", 25_000, 0, 0, 25_000, 0, 25_000),
    ]
    assert lines(got[1]) == [
        ("recurring", 1, 25_000, 0, 0, 25_000),
        ("proration", 1, -4_516, 0, 0, -4_516),
        ("proration", 1, 11_290, 0, 0, 11_290),
    ]
    assert spans(got[1]) == [
        ("recurring", "2026-02-15 12:00", "2026-03-15 12:00"),
        ("proration", "2026-02-01 12:00", "2026-02-15 12:00"),
        ("proration", "2026-02-01 12:00", "2026-02-15 12:00"),
    ]
    assert lines(got[2]) == [("recurring", 1, 25_000, 0, 0, 25_000)]


def test_lifecycle_upgrade_next_invoice_keeps_tax_on_both_proration_lines(db):
    # Given basic (R$100) and pro (R$200), both with 5% ISS on top
    with world(sp(2026, 1, 15, 12)) as w:
        tax = w.tax("5")
        basic = w.plan("basic", amount=10_000, tax_rate=tax)
        pro = w.plan("pro", amount=20_000, tax_rate=tax)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Feb 1 it is upgraded, prorations on the next invoice
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="next_invoice")
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # 14 of 31 days remain:
    #   credit 10000 × 14/31 = 4516.13 → -4516, tax 5% = -225.8 → -226, total -4742
    #   charge 20000 × 14/31 = 9032.26 → 9032, tax 451.6 → 452, total 9484
    #   recurring 20000 + 1000 = 21000
    #   invoice: subtotal 24516, tax 1226, total 25742
    assert lines(got[1]) == [
        ("recurring", 1, 20_000, 0, 1_000, 21_000),
        ("proration", 1, -4_516, 0, -226, -4_742),
        ("proration", 1, 9_032, 0, 452, 9_484),
    ]
    assert doc(got[1])[1:] == (
        "2026-02-15 12:00",
        "subscription_cycle",
        "open",
        24_516,
        0,
        1_226,
        25_742,
        0,
        25_742,
    )


def test_lifecycle_upgrade_invoice_now_by_second_half_up_with_tax(db):
    # Given a tenant prorating by the second and rounding half-up, plans with 10% on top
    with world(sp(2026, 1, 15, 12), proration_precision="second", rounding_mode="half_up") as w:
        tax = w.tax("10")
        basic = w.plan("basic", amount=10_000, tax_rate=tax)
        pro = w.plan("pro", amount=20_000, tax_rate=tax)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When at midnight starting Feb 1 it is upgraded and invoiced at once
        w.advance(sp(2026, 2, 1, 0))
        change(w, sub, plan=pro, proration="invoice_now")
        assert state(w, sub) == ("active", "pro", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # Remaining: Feb 1 00:00 → Feb 15 12:00 = 14.5 days = 1,252,800 s of 2,678,400 s.
    #   credit 10000 × 14.5/31 = 4677.42 → -4677; tax -467.7 → -468; total -5145
    #   charge 20000 × 14.5/31 = 9354.84 → 9355; tax 935.5 → 936 (half-up); total 10291
    #   update invoice: subtotal 4678, tax 468, total 5146
    assert [i.number for i in got] == [
        "ACME-2026-000001",
        "ACME-2026-000002",
        "ACME-2026-000003",
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 1_000, 11_000, 0, 11_000),
        ("2026-02-01 00:00", "subscription_update", "open", 4_678, 0, 468, 5_146, 0, 5_146),
        ("2026-02-15 12:00", "subscription_cycle", "open", 20_000, 0, 2_000, 22_000, 0, 22_000),
    ]
    assert lines(got[1]) == [
        ("proration", 1, -4_677, 0, -468, -5_145),
        ("proration", 1, 9_355, 0, 936, 10_291),
    ]
    assert spans(got[1]) == [
        ("proration", "2026-02-01 00:00", "2026-02-15 12:00"),
        ("proration", "2026-02-01 00:00", "2026-02-15 12:00"),
    ]
    assert (got[1].period_start, got[1].period_end) == (None, None)
    assert lines(got[2]) == [("recurring", 1, 20_000, 0, 2_000, 22_000)]


def test_lifecycle_downgrade_invoice_now_carries_credit_to_next_invoice(db):
    # Given pro (R$250) bought on Jan 15, day precision
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        customer = w.customer()
        sub = w.subscribe(pro, customer, collection_method="send_invoice")
        # When on Feb 1 it is downgraded to basic and invoiced at once
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=basic, proration="invoice_now")
        # Then (14 of 31 days) credit 25000 × 14/31 = 11290.32 → -11290,
        # charge 10000 × 14/31 = 4516.13 → 4516; net -6774 → a zero invoice that
        # carries 6774 to the customer's balance
        [_, update] = w.invoices(sub)
        assert doc(update) == (
            "ACME-2026-000002",
            "2026-02-01 12:00",
            "subscription_update",
            "paid",
            0,
            0,
            0,
            0,
            0,
            0,
        )
        assert lines(update) == [
            ("proration", 1, -11_290, 0, 0, -11_290),
            ("proration", 1, 4_516, 0, 0, 4_516),
            ("credit_carried", 1, 6_774, 0, 0, 6_774),
        ]
        assert balance(w, customer) == 6_774
        # And the credit reduces the next renewal
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
        assert balance(w, customer) == 0
    assert [doc(i)[1:] for i in got[2:]] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 6_774, 3_226),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert lines(got[2]) == [("recurring", 1, 10_000, 0, 0, 10_000)]


def test_lifecycle_downgrade_next_invoice_credit_exceeding_renewal_spans_invoices(db):
    # Given pro (R$250) bought on Jan 15 and a mini plan of R$10
    with world(sp(2026, 1, 15, 12)) as w:
        pro = w.plan("pro", amount=25_000)
        mini = w.plan("mini", amount=1_000)
        customer = w.customer()
        sub = w.subscribe(pro, customer, collection_method="send_invoice")
        # When on Jan 17 it moves to mini, prorations on the next invoice
        w.advance(sp(2026, 1, 17, 12))
        change(w, sub, plan=mini, proration="next_invoice")
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
        left = balance(w, customer)
    # Jan 17 .. Feb 14 remain: 29 of 31 days.
    #   credit 25000 × 29/31 = 23387.10 → -23387; charge 1000 × 29/31 = 935.48 → 935
    #   Feb 15: 1000 - 23387 + 935 = -21452 → credit carried 21452, total 0
    #   Mar 15 and Apr 15: 1000 each, paid from the balance: 21452 - 2000 = 19452 left
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 25_000, 0, 0, 25_000, 0, 25_000),
        ("2026-02-15 12:00", "subscription_cycle", "paid", 0, 0, 0, 0, 0, 0),
        ("2026-03-15 12:00", "subscription_cycle", "paid", 1_000, 0, 0, 1_000, 1_000, 0),
        ("2026-04-15 12:00", "subscription_cycle", "paid", 1_000, 0, 0, 1_000, 1_000, 0),
    ]
    assert lines(got[1]) == [
        ("recurring", 1, 1_000, 0, 0, 1_000),
        ("proration", 1, -23_387, 0, 0, -23_387),
        ("proration", 1, 935, 0, 0, 935),
        ("credit_carried", 1, 21_452, 0, 0, 21_452),
    ]
    assert left == 19_452


def test_lifecycle_per_seat_quantity_down_next_invoice_by_second(db):
    # Given R$30 per seat, 5 seats, bought on Mar 1 at noon; prorating by the second
    with world(sp(2026, 3, 1, 12), proration_precision="second") as w:
        plan = w.plan("seat", amount=3_000, pricing_model="per_seat")
        sub = w.subscribe(plan, quantity=5, collection_method="send_invoice")
        # When on Mar 20 at 18:00 it goes down to 3 seats, prorations on the next invoice
        w.advance(sp(2026, 3, 20, 18))
        change(w, sub, quantity=3, proration="next_invoice")
        assert state(w, sub) == ("active", "seat", 3, "2026-03-01 12:00", "2026-04-01 12:00")
        assert len(w.invoices(sub)) == 1
        w.advance(sp(2026, 5, 2, 0))
        got = w.invoices(sub)
    # Remaining: Mar 20 18:00 → Apr 1 12:00 = 11.75 days of 31 (1,015,200 s of 2,678,400 s)
    #   credit 15000 × 11.75/31 = 5685.48 → -5685; charge 9000 × 11.75/31 = 3411.29 → 3411
    #   Apr 1: 9000 - 5685 + 3411 = 6726
    assert [doc(i)[1:] for i in got] == [
        ("2026-03-01 12:00", "subscription_create", "open", 15_000, 0, 0, 15_000, 0, 15_000),
        ("2026-04-01 12:00", "subscription_cycle", "open", 6_726, 0, 0, 6_726, 0, 6_726),
        ("2026-05-01 12:00", "subscription_cycle", "open", 9_000, 0, 0, 9_000, 0, 9_000),
    ]
    assert lines(got[0]) == [("recurring", 5, 15_000, 0, 0, 15_000)]
    assert lines(got[1]) == [
        ("recurring", 3, 9_000, 0, 0, 9_000),
        ("proration", 5, -5_685, 0, 0, -5_685),
        ("proration", 3, 3_411, 0, 0, 3_411),
    ]
    assert spans(got[1]) == [
        ("recurring", "2026-04-01 12:00", "2026-05-01 12:00"),
        ("proration", "2026-03-20 18:00", "2026-04-01 12:00"),
        ("proration", "2026-03-20 18:00", "2026-04-01 12:00"),
    ]
    assert lines(got[2]) == [("recurring", 3, 9_000, 0, 0, 9_000)]


def test_lifecycle_upgrade_without_proration_by_second(db):
    # Given basic bought on Jan 15, a tenant prorating by the second
    with world(sp(2026, 1, 15, 12), proration_precision="second") as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Feb 1 at 00:00 it is upgraded with proration "none"
        w.advance(sp(2026, 2, 1, 0))
        change(w, sub, plan=pro, proration="none")
        assert state(w, sub) == ("active", "pro", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
    # Then nothing for the rest of January's period; pro from the next renewal
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 25_000, 0, 0, 25_000, 0, 25_000),
        ("2026-03-15 12:00", "subscription_cycle", "open", 25_000, 0, 0, 25_000, 0, 25_000),
    ]
    assert [lines(i) for i in got[1:]] == [[("recurring", 1, 25_000, 0, 0, 25_000)]] * 2


def test_lifecycle_scheduled_downgrade_at_period_end(db):
    # Given pro (R$250) bought on Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        sub = w.subscribe(pro, collection_method="send_invoice")
        # When on Feb 1 a downgrade to basic is scheduled for the period end
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=basic, when="period_end")
        # Then nothing changes until Feb 15
        assert state(w, sub) == ("active", "pro", 1, "2026-01-15 12:00", "2026-02-15 12:00")
        assert pending_changes(sub) == [("change", "2026-02-15 12:00")]
        assert len(w.invoices(sub)) == 1
        # And from Feb 15 basic is billed, without any proration
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
        final = state(w, sub)
        outbox = events(w)
        assert pending_changes(sub) == []
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 25_000, 0, 0, 25_000, 0, 25_000),
        ("2026-02-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-03-15 12:00", "subscription_cycle", "open", 10_000, 0, 0, 10_000, 0, 10_000),
    ]
    assert [lines(i) for i in got[1:]] == [[("recurring", 1, 10_000, 0, 0, 10_000)]] * 2
    assert final == ("active", "basic", 1, "2026-03-15 12:00", "2026-04-15 12:00")
    assert outbox == [
        ("2026-01-15 12:00", "invoice.finalized"),
        ("2026-01-15 12:00", "subscription.created"),
        ("2026-02-01 12:00", "subscription.change_scheduled"),
        ("2026-02-15 12:00", "invoice.finalized"),
        ("2026-02-15 12:00", "subscription.updated"),
        ("2026-03-15 12:00", "invoice.finalized"),
    ]


def test_lifecycle_graduated_seats_up_invoice_now_by_day(db):
    # Given a graduated plan: seats 1-5 at R$10, from the 6th R$8 plus R$5 flat;
    # 4 seats (4 × 1000 = 4000) bought on Apr 10 at noon
    with world(sp(2026, 4, 10, 12)) as w:
        plan = w.plan("team", amount=0, pricing_model="graduated", tiers=GRADUATED)
        sub = w.subscribe(plan, quantity=4, collection_method="send_invoice")
        # When on Apr 25 (09:00) it goes up to 8 seats, invoiced at once
        w.advance(sp(2026, 4, 25, 9))
        change(w, sub, quantity=8, proration="invoice_now")
        w.advance(sp(2026, 6, 11, 0))
        got = w.invoices(sub)
    # 8 seats: 5 × 1000 + 3 × 800 + 500 = 7900. Apr 25 .. May 9: 15 of 30 days.
    #   credit 4000 × 15/30 = 2000; charge 7900 × 15/30 = 3950; update invoice 1950
    assert [doc(i)[1:] for i in got] == [
        ("2026-04-10 12:00", "subscription_create", "open", 4_000, 0, 0, 4_000, 0, 4_000),
        ("2026-04-25 09:00", "subscription_update", "open", 1_950, 0, 0, 1_950, 0, 1_950),
        ("2026-05-10 12:00", "subscription_cycle", "open", 7_900, 0, 0, 7_900, 0, 7_900),
        ("2026-06-10 12:00", "subscription_cycle", "open", 7_900, 0, 0, 7_900, 0, 7_900),
    ]
    assert lines(got[1]) == [
        ("proration", 4, -2_000, 0, 0, -2_000),
        ("proration", 8, 3_950, 0, 0, 3_950),
    ]
    assert spans(got[1]) == [
        ("proration", "2026-04-25 09:00", "2026-05-10 12:00"),
        ("proration", "2026-04-25 09:00", "2026-05-10 12:00"),
    ]
    assert lines(got[2]) == [("recurring", 8, 7_900, 0, 0, 7_900)]


def test_lifecycle_volume_seats_up_lowers_price_next_invoice_by_day(db):
    # Given a volume plan: up to 10 seats R$20 each, 11 or more R$15 each;
    # 10 seats (20000) bought on Jun 5 at noon
    with world(sp(2026, 6, 5, 12)) as w:
        plan = w.plan("fleet", amount=0, pricing_model="volume", tiers=VOLUME)
        sub = w.subscribe(plan, quantity=10, collection_method="send_invoice")
        # When on Jun 20 (15:00) it goes to 12 seats (12 × 1500 = 18000), on the next invoice
        w.advance(sp(2026, 6, 20, 15))
        change(w, sub, quantity=12)
        w.advance(sp(2026, 8, 6, 0))
        got = w.invoices(sub)
    # Jun 20 .. Jul 4: 15 of 30 days.
    #   credit 20000 × 15/30 = 10000; charge 18000 × 15/30 = 9000
    #   Jul 5: 18000 - 10000 + 9000 = 17000
    assert [doc(i)[1:] for i in got] == [
        ("2026-06-05 12:00", "subscription_create", "open", 20_000, 0, 0, 20_000, 0, 20_000),
        ("2026-07-05 12:00", "subscription_cycle", "open", 17_000, 0, 0, 17_000, 0, 17_000),
        ("2026-08-05 12:00", "subscription_cycle", "open", 18_000, 0, 0, 18_000, 0, 18_000),
    ]
    assert lines(got[1]) == [
        ("recurring", 12, 18_000, 0, 0, 18_000),
        ("proration", 10, -10_000, 0, 0, -10_000),
        ("proration", 12, 9_000, 0, 0, 9_000),
    ]


def test_lifecycle_rounding_half_even_on_half_cent_proration(db):
    # Given basic R$10.01 and pro R$20.03 bought on Apr 1 at noon; half-even (default)
    with world(sp(2026, 4, 1, 12)) as w:
        basic = w.plan("basic", amount=1_001)
        pro = w.plan("pro", amount=2_003)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Apr 16 it is upgraded and invoiced at once
        w.advance(sp(2026, 4, 16, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        w.advance(sp(2026, 5, 2, 0))
        got = w.invoices(sub)
    # Apr 16 .. Apr 30: 15 of 30 days.
    #   credit 1001 × 15/30 = 500.5 → 500 (to even); charge 2003 / 2 = 1001.5 → 1002 (to even)
    assert lines(got[1]) == [
        ("proration", 1, -500, 0, 0, -500),
        ("proration", 1, 1_002, 0, 0, 1_002),
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-04-01 12:00", "subscription_create", "open", 1_001, 0, 0, 1_001, 0, 1_001),
        ("2026-04-16 12:00", "subscription_update", "open", 502, 0, 0, 502, 0, 502),
        ("2026-05-01 12:00", "subscription_cycle", "open", 2_003, 0, 0, 2_003, 0, 2_003),
    ]


def test_lifecycle_rounding_half_up_on_half_cent_proration(db):
    # Given the same plans and dates, on a tenant rounding half-up
    with world(sp(2026, 4, 1, 12), rounding_mode="half_up") as w:
        basic = w.plan("basic", amount=1_001)
        pro = w.plan("pro", amount=2_003)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 4, 16, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        w.advance(sp(2026, 5, 2, 0))
        got = w.invoices(sub)
    # credit 500.5 → 501 (half-up); charge 1001.5 → 1002; invoice 501
    assert lines(got[1]) == [
        ("proration", 1, -501, 0, 0, -501),
        ("proration", 1, 1_002, 0, 0, 1_002),
    ]
    assert [doc(i)[1:] for i in got] == [
        ("2026-04-01 12:00", "subscription_create", "open", 1_001, 0, 0, 1_001, 0, 1_001),
        ("2026-04-16 12:00", "subscription_update", "open", 501, 0, 0, 501, 0, 501),
        ("2026-05-01 12:00", "subscription_cycle", "open", 2_003, 0, 0, 2_003, 0, 2_003),
    ]


def test_lifecycle_change_during_trial_bills_new_plan_at_trial_end(db):
    # Given a 14-day trial of basic from Feb 1 (no proration during a trial)
    with world(sp(2026, 2, 1, 12)) as w:
        basic = w.plan("basic", amount=10_000, trial_days=14)
        pro = w.plan("pro", amount=25_000)
        sub = w.subscribe(basic)
        # When on Feb 5 it switches to pro "now", invoicing prorations at once
        w.advance(sp(2026, 2, 5, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        # Then nothing is billed (a trial has no charge to prorate)
        assert w.invoices(sub) == []
        assert state(w, sub) == ("trialing", "pro", 1, "2026-02-01 12:00", "2026-02-15 12:00")
        w.advance(sp(2026, 3, 1, 0))
        got = w.invoices(sub)
    # And the trial converts to pro on Feb 15
    assert [doc(i)[1:] for i in got] == [
        ("2026-02-15 12:00", "subscription_cycle", "open", 25_000, 0, 0, 25_000, 0, 25_000),
    ]


def test_lifecycle_subscription_updated_events_name_plans_alike(db):
    # Given basic bought on Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When it moves to pro now, then schedules a move back to basic at period end
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="none")
        change(w, sub, plan=basic, when="period_end")
        w.advance(sp(2026, 2, 16, 0))
        updated = [
            (e.data["previous_plan"], e.data["plan"])
            for e in Event.objects.filter(tenant=w.tenant, type="subscription.updated").order_by(
                "at", "id"
            )
        ]
        ids = (basic.public_id, pro.public_id)
    # Then both subscription.updated events identify the plan versions the same way
    assert updated == [(ids[0], ids[1]), (ids[1], ids[0])]
