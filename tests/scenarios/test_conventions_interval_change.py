"""Issue 16 "Conventions" on an interval change: with the day of a change counted
on the old state (``proration_change_day="old"``), the old plan's credit and the
new plan's charge split the day the same way. Both start at the next local
midnight, whether the anchor is kept (the new period prorated to the old
anchor's day) or reset (the new period anchored on the change, its first
period charged less the day of the change). The day is paid once, on the old
plan, and a change undone at the same instant nets to zero. The lines a change
writes serve from that midnight too, so a later credit (a cancellation now)
prorates each over the time it was charged for.

São Paulo time (UTC-3 all year, no DST), rounding half-even; every amount is
hand-computed below. The preview of each change is what the change writes.
"""

import pytest

from billing import items as billing_items
from billing.subscriptions import subscription_preview_change
from tests.scenarios.helpers_lifecycle import (
    balance,
    cancel,
    change,
    credit_notes,
    doc,
    lines,
    sp,
    spans,
    state,
)
from tests.support.billing import ACTOR, world


def _previewed_change(w, sub, **kw):
    """Preview the change, make it, and check the preview is the invoice written."""
    preview = subscription_preview_change(
        tenant=w.tenant, subscription=w.refresh(sub), now=w.now, **kw
    )
    change(w, sub, **kw)
    written = w.invoices(sub)[-1]
    assert [
        (p.kind, p.amount_minor, p.discount_minor, p.tax_minor, p.total_minor)
        for p in preview.lines
    ] == [(ln[0], ln[2], ln[3], ln[4], ln[5]) for ln in lines(written)]
    assert preview.total_minor == written.total_minor
    return written


@pytest.mark.parametrize(
    ("precision", "credit", "charge"),
    [
        # Basic R$100 bought Jan 15 at noon; period [Feb 15, Mar 15) = 28 days.
        # Change on Mar 3 at 18:00; Mar 3 is used on basic.
        # By day: credit Mar 4 .. Mar 14 = 11 of 28: 10000 × 11/28 = 3928.57 → 3929.
        #   The annual grid keeps the Jan 15 anchor: [Jan 15 2026, Jan 15 2027) = 365
        #   days; charged from Mar 4: Mar 4 .. Jan 14 = 28 (March) + 275 (Apr..Dec)
        #   + 14 = 317 days: 100000 × 317/365 = 86849.32 → 86849.
        #   (The day-new convention: 318/365 → 87123, credit 12/28 → 4286; before
        #   the fix the charge ignored the convention, 87123, billing Mar 3 twice.)
        #   Total 86849 - 3929 = 82920.
        pytest.param("day", 3_929, 86_849, id="day"),
        # By second: from Mar 4 00:00. Credit Mar 4 00:00 → Mar 15 12:00 = 11.5 days:
        #   10000 × 11.5/28 = 4107.14 → 4107. Charge Mar 4 00:00 → Jan 15 2027 12:00
        #   = 317.5 days: 100000 × 317.5/365 = 86986.30 → 86986. Total 82879.
        pytest.param("second", 4_107, 86_986, id="second"),
    ],
)
def test_old_change_day_monthly_to_annual_anchor_kept(db, precision, credit, charge):
    # Given basic monthly bought Jan 15 at noon on a tenant counting the day of a
    # change on the old state
    with world(sp(2026, 1, 15, 12), proration_precision=precision, proration_change_day="old") as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Mar 3 at 18:00 it moves to annual keeping the anchor's day
        w.advance(sp(2026, 3, 3, 18))
        written = _previewed_change(w, sub, plan=annual, anchor="keep")
        # Then credit and charge both start on Mar 4: the day is paid once, on basic
        assert lines(written) == [
            ("proration", 1, -credit, 0, 0, -credit),
            ("recurring", 1, charge, 0, 0, charge),
        ]
        assert doc(written)[2:8] == (
            "subscription_update",
            "open",
            charge - credit,
            0,
            0,
            charge - credit,
        )
        # Both lines serve from Mar 4, the day after the change (a later credit
        # prorates each over what it charged); the period itself starts at the change
        assert spans(written) == [
            ("proration", "2026-03-04 00:00", "2026-03-15 12:00"),
            ("recurring", "2026-03-04 00:00", "2027-01-15 12:00"),
        ]
        assert state(w, sub) == ("active", "annual", 1, "2026-03-03 18:00", "2027-01-15 12:00")
        # And the first full year is billed whole on the old anchor's day
        w.advance(sp(2027, 1, 16, 0))
        last = w.invoices(sub)[-1]
    assert doc(last)[1:3] == ("2027-01-15 12:00", "subscription_cycle")
    assert lines(last) == [("recurring", 1, 100_000, 0, 0, 100_000)]


@pytest.mark.parametrize(
    ("precision", "credit", "charge"),
    [
        # The same change with the anchor reset to Mar 3 18:00: the new year is
        # [Mar 3 2026 18:00, Mar 3 2027 18:00) = 365 days, Mar 3 used on basic.
        # By day: credit 3929 (as above); charge Mar 4 .. Mar 2 2027 = 364 of 365:
        #   100000 × 364/365 = 99726.03 → 99726 (day-new: the whole 100000).
        #   Total 99726 - 3929 = 95797.
        pytest.param("day", 3_929, 99_726, id="day"),
        # By second: credit 4107 (as above); charge Mar 4 00:00 → Mar 3 2027 18:00 =
        #   365 days less the 6 h of Mar 3 after 18:00 = 364.75 days:
        #   100000 × 364.75/365 = 99931.51 → 99932. Total 99932 - 4107 = 95825.
        pytest.param("second", 4_107, 99_932, id="second"),
    ],
)
def test_old_change_day_monthly_to_annual_anchor_reset(db, precision, credit, charge):
    # Given the same subscription and tenant
    with world(sp(2026, 1, 15, 12), proration_precision=precision, proration_change_day="old") as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Mar 3 at 18:00 it moves to annual with the anchor reset
        w.advance(sp(2026, 3, 3, 18))
        written = _previewed_change(w, sub, plan=annual, anchor="reset")
        # Then the year starts now, its first charge less the day used on basic
        assert lines(written) == [
            ("proration", 1, -credit, 0, 0, -credit),
            ("recurring", 1, charge, 0, 0, charge),
        ]
        assert written.total_minor == charge - credit
        assert spans(written)[1] == ("recurring", "2026-03-04 00:00", "2027-03-03 18:00")
        assert state(w, sub) == ("active", "annual", 1, "2026-03-03 18:00", "2027-03-03 18:00")
        # And the renewal a year after the change is a whole year
        w.advance(sp(2027, 3, 4, 0))
        last = w.invoices(sub)[-1]
    assert doc(last)[1:3] == ("2027-03-03 18:00", "subscription_cycle")
    assert lines(last) == [("recurring", 1, 100_000, 0, 0, 100_000)]


@pytest.mark.parametrize(
    ("precision", "basic_part", "quarter_part"),
    [
        # Basic R$100 bought Jan 15 at noon: period [Jan 15, Feb 15) = 31 days; the
        # quarter on the Jan 15 anchor: [Jan 15, Apr 15) = 31 + 28 + 31 = 90 days.
        # Changed on Feb 10 at 18:00, Feb 10 used on the old state.
        # By day, both from Feb 11: basic Feb 11 .. Feb 14 = 4 of 31:
        #   10000 × 4/31 = 1290.32 → 1290; quarter Feb 11 .. Apr 14 = 18 + 31 + 14 =
        #   63 of 90: 27000 × 63/90 = 18900.
        pytest.param("day", 1_290, 18_900, id="day"),
        # By second, both from Feb 11 00:00: basic 4.5 of 31 days: 10000 × 4.5/31 =
        #   1451.61 → 1452; quarter 63.5 of 90: 27000 × 63.5/90 = 19050.
        pytest.param("second", 1_452, 19_050, id="second"),
    ],
)
def test_old_change_day_interval_change_and_its_reversal_net_to_zero(
    db, precision, basic_part, quarter_part
):
    # Given basic monthly bought Jan 15 at noon, on the old-day convention
    with world(sp(2026, 1, 15, 12), proration_precision=precision, proration_change_day="old") as w:
        basic = w.plan("basic", amount=10_000)
        quarterly = w.plan("quarterly", amount=27_000, interval="month", interval_count=3)
        customer = w.customer()
        sub = w.subscribe(basic, customer=customer, collection_method="send_invoice")
        # When on Feb 10 at 18:00 it moves to quarterly and straight back, anchor kept
        w.advance(sp(2026, 2, 10, 18))
        there = _previewed_change(w, sub, plan=quarterly, anchor="keep")
        back = _previewed_change(w, sub, plan=basic, anchor="keep")
        carried = balance(w, customer)
        after = state(w, sub)
    # Then the way there credits basic and charges the quarter from Feb 11 …
    assert lines(there) == [
        ("proration", 1, -basic_part, 0, 0, -basic_part),
        ("recurring", 1, quarter_part, 0, 0, quarter_part),
    ]
    assert there.total_minor == quarter_part - basic_part  # 17610 by day, 17598 by second
    # … the way back credits the quarter and charges basic from the same instant
    # (before the fix the quarter was charged from Feb 10 — 64/90 → 19200 by day —
    # and credited from Feb 11, and so was basic: the day was billed twice)
    net = quarter_part - basic_part
    assert lines(back) == [
        ("proration", 1, -quarter_part, 0, 0, -quarter_part),
        ("recurring", 1, basic_part, 0, 0, basic_part),
        ("credit_carried", 1, net, 0, 0, net),
    ]
    # And the two net to zero: the way back leaves nothing due and carries to the
    # balance exactly the way there's total
    assert back.total_minor == back.amount_due_minor == 0
    assert carried == net
    assert after == ("active", "basic", 1, "2026-02-10 18:00", "2026-02-15 12:00")


# --- what a change charged, credited later on the same convention ------------------


@pytest.mark.parametrize(
    ("precision", "update_lines", "notes"),
    [
        # Basic R$100 → pro R$200 on Feb 1 at noon, invoiced now; period [Jan 15,
        # Feb 15) = 31 days; Feb 1 used on basic. By day, from Feb 2: 13 of 31:
        #   credit 10000 × 13/31 = 4193.55 → -4194; charge 20000 × 13/31 = 8387.10 → 8387.
        # Both lines serve Feb 2 00:00 → Feb 15 12:00 (13 days by day).
        # Cancelled on Feb 5 at noon with credit; Feb 5 used: Feb 6 .. Feb 14 remain.
        #   Invoice 1, basic [Jan 15, Feb 15): 10000 × 9/31 = 2903.23 → 2903.
        #   Invoice 2, each line × 9/13: -4194 × 9/13 = -2903.54 → -2904;
        #     8387 × 9/13 = 5806.38 → 5806; note 2902.
        #   Together 5805: pro's 9 days, 20000 × 9/31 = 5806.45, within a unit a line.
        #   (Against the change's instant, 14 days, as before: 2903 + 2696 = 5599.)
        pytest.param("day", [-4_194, 8_387], [2_903, 2_902], id="day"),
        # By second, from Feb 2 00:00: 13.5 of 31 days: credit 10000 × 13.5/31 =
        #   4354.84 → -4355; charge 20000 × 13.5/31 = 8709.68 → 8710.
        # Cancelled Feb 5 12:00: from Feb 6 00:00, 9.5 days remain.
        #   Invoice 1: 10000 × 9.5/31 = 3064.52 → 3065.
        #   Invoice 2, × 9.5/13.5: -4355 → -3064.63 → -3065; 8710 → 6129.26 → 6129;
        #     note 3064. Together 6129 = 20000 × 9.5/31 = 6129.03.
        pytest.param("second", [-4_355, 8_710], [3_065, 3_064], id="second"),
    ],
)
def test_old_change_day_cancel_after_an_upgrade_credits_what_was_charged(
    db, precision, update_lines, notes
):
    # Given basic bought Jan 15 at noon, upgraded to pro on Feb 1 at noon
    with world(sp(2026, 1, 15, 12), proration_precision=precision, proration_change_day="old") as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        update = w.invoices(sub)[-1]
        # When it is cancelled on Feb 5 at noon with the unused time credited
        w.advance(sp(2026, 2, 5, 12))
        cancel(w, sub, prorate_credit=True)
        written = credit_notes(w)
    # Then the upgrade's lines serve the days after the day of the change
    assert [ln[2] for ln in lines(update)] == update_lines
    assert spans(update) == [
        ("proration", "2026-02-02 00:00", "2026-02-15 12:00"),
        ("proration", "2026-02-02 00:00", "2026-02-15 12:00"),
    ]
    # And the credit is pro's unused days, one note per invoice
    assert [(n[1], n[3]) for n in written] == [
        ("ACME-2026-000001", notes[0]),
        ("ACME-2026-000002", notes[1]),
    ]


@pytest.mark.parametrize(
    ("precision", "charge", "notes"),
    [
        # Storage (R$31 a seat, R$5 setup) × 2 added on Feb 1 at noon to basic bought
        # Jan 15 at noon; period [Jan 15, Feb 15) = 31 days; Feb 1 used without it.
        # By day, from Feb 2: 6200 × 13/31 = 2600; with the setup fee, 3100.
        # Cancelled on Feb 5 at noon with credit (Feb 6 .. Feb 14 remain, 9 days):
        #   invoice 1, basic: 10000 × 9/31 = 2903.23 → 2903;
        #   invoice 2, storage over its 13 days: 2600 × 9/13 = 1800 (= 6200 × 9/31);
        #   the setup fee is not time, not credited.
        #   (Against the add's instant, 14 days: 2600 × 9/14 = 1671.43 → 1671.)
        pytest.param("day", 2_600, [2_903, 1_800], id="day"),
        # By second, from Feb 2 00:00: 6200 × 13.5/31 = 2700. Cancelled Feb 5 12:00,
        # from Feb 6 00:00 (9.5 days): basic 10000 × 9.5/31 = 3064.52 → 3065;
        # storage 2700 × 9.5/13.5 = 1900 (= 6200 × 9.5/31).
        pytest.param("second", 2_700, [3_065, 1_900], id="second"),
    ],
)
def test_old_change_day_addon_added_then_cancelled_credits_what_was_charged(
    db, precision, charge, notes
):
    # Given basic bought Jan 15 at noon on the old-day convention
    with world(sp(2026, 1, 15, 12), proration_precision=precision, proration_change_day="old") as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100, pricing_model="per_seat", setup_fee_minor=500)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When 2 seats of storage are added on Feb 1 at noon (invoiced now)
        w.advance(sp(2026, 2, 1, 12))
        billing_items.subscription_item_add(
            tenant=w.tenant,
            subscription_id=sub.pk,
            plan=storage,
            actor=ACTOR,
            now=w.now,
            quantity=2,
        )
        update = w.invoices(sub)[-1]
        # And the subscription is cancelled on Feb 5 at noon with credit
        w.advance(sp(2026, 2, 5, 12))
        cancel(w, sub, prorate_credit=True)
        written = credit_notes(w)
    # Then the add-on is charged from Feb 2, and credited for the days it had left
    assert lines(update) == [
        ("proration", 2, charge, 0, 0, charge),
        ("setup_fee", 1, 500, 0, 0, 500),
    ]
    assert spans(update)[0] == ("proration", "2026-02-02 00:00", "2026-02-15 12:00")
    assert [(n[1], n[3]) for n in written] == [
        ("ACME-2026-000001", notes[0]),
        ("ACME-2026-000002", notes[1]),
    ]
