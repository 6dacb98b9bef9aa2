"""Subscription items (add-ons, issue 16 item 4) over months, hand-computed.

An add-on is a plan of the base plan's currency and interval, billed on the
same invoice as the base plan each period, one line per item. Added, removed or
re-quantified mid-period it is prorated as a plan change is (DESIGN.md
"Proration"): the period's fee × remaining / whole, rounded once with the
tenant's mode (half-even here). By day: calendar days in São Paulo, the day of
the change counts as remaining; by second: exact. Period [Jan 15 12:00,
Feb 15 12:00) is 31 days; [Feb 15, Mar 15) is 28.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import items as billing_items
from billing import subscriptions as billing_subs
from billing.models import CreditNote, Invoice, PendingLine
from billing.run import billing_run
from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import Customer
from subscriptions.models import Subscription, SubscriptionItem
from tenants.context import tenant_context
from tenants.models import Event
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
from tests.scenarios.helpers_money import coupon
from tests.support.billing import ACTOR, World, world


def add(w: World, sub: Subscription, plan: Any, **kw: Any) -> SubscriptionItem:
    return billing_items.subscription_item_add(
        tenant=w.tenant, subscription_id=sub.pk, plan=plan, actor=ACTOR, now=w.now, **kw
    )


def update(w: World, sub: Subscription, item: SubscriptionItem, **kw: Any) -> SubscriptionItem:
    return billing_items.subscription_item_update(
        tenant=w.tenant,
        subscription_id=sub.pk,
        item_id=item.public_id,
        actor=ACTOR,
        now=w.now,
        **kw,
    )


def remove(w: World, sub: Subscription, item: SubscriptionItem, **kw: Any) -> SubscriptionItem:
    return billing_items.subscription_item_remove(
        tenant=w.tenant,
        subscription_id=sub.pk,
        item_id=item.public_id,
        actor=ACTOR,
        now=w.now,
        **kw,
    )


def descriptions(inv: Invoice) -> list[str]:
    return [ln.description for ln in inv.lines.all()]


# --- added mid-period, with a setup fee ---------------------------------------------


def test_items_addon_added_mid_period_with_setup_fee_by_day(db):
    # Given basic (R$100) bought Jan 15 at noon; storage is R$31 a seat, R$5 setup
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100, pricing_model="per_seat", setup_fee_minor=500)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Feb 1 at noon 2 seats of storage are added (invoiced now)
        w.advance(sp(2026, 2, 1, 12))
        item = add(w, sub, storage, quantity=2)
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
        item.refresh_from_db()
    # Feb 1 .. Feb 14 remain: 14 of 31 days. 2 × 3100 = 6200 × 14/31 = 2800 exactly;
    # with the R$5 setup fee the update invoice is 3300. From Feb 15 each period
    # bills basic 10000 + storage 6200 = 16200 on one invoice.
    assert [doc(i)[1:] for i in got] == [
        ("2026-01-15 12:00", "subscription_create", "open", 10_000, 0, 0, 10_000, 0, 10_000),
        ("2026-02-01 12:00", "subscription_update", "open", 3_300, 0, 0, 3_300, 0, 3_300),
        ("2026-02-15 12:00", "subscription_cycle", "open", 16_200, 0, 0, 16_200, 0, 16_200),
        ("2026-03-15 12:00", "subscription_cycle", "open", 16_200, 0, 0, 16_200, 0, 16_200),
    ]
    assert lines(got[1]) == [("proration", 2, 2_800, 0, 0, 2_800), ("setup_fee", 1, 500, 0, 0, 500)]
    assert spans(got[1])[0] == ("proration", "2026-02-01 12:00", "2026-02-15 12:00")
    assert lines(got[2]) == [
        ("recurring", 1, 10_000, 0, 0, 10_000),
        ("recurring", 2, 6_200, 0, 0, 6_200),
    ]
    assert descriptions(got[2]) == ["Basic", "Storage"]
    assert spans(got[3]) == [
        ("recurring", "2026-03-15 12:00", "2026-04-15 12:00"),
        ("recurring", "2026-03-15 12:00", "2026-04-15 12:00"),
    ]
    # The prorated first part is not a full period: two full periods billed.
    assert (item.public_id[:3], item.cycles_billed, item.ended_at) == ("si_", 2, None)


def test_items_addon_added_mid_period_by_second(db):
    # Given a tenant prorating by the second; the same plans
    with world(sp(2026, 1, 15, 12), proration_precision="second") as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100, pricing_model="per_seat", setup_fee_minor=500)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When at midnight starting Feb 1 two seats are added
        w.advance(sp(2026, 2, 1, 0))
        add(w, sub, storage, quantity=2)
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # Feb 1 00:00 → Feb 15 12:00 = 14.5 of 31 days: 6200 × 14.5/31 = 2900 exactly; + 500 setup.
    assert lines(got[1]) == [("proration", 2, 2_900, 0, 0, 2_900), ("setup_fee", 1, 500, 0, 0, 500)]
    assert doc(got[1])[7] == 3_400
    assert doc(got[2])[7] == 16_200


# --- removed mid-period: a credit ----------------------------------------------------------


def test_items_addon_removed_mid_period_credit_by_day(db):
    # Given basic (R$100) with a support add-on (R$46.50 flat) from Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        support = w.plan("support", amount=4_650)
        sub = w.subscribe(basic, items=[(support, 1)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        # When on Mar 1 at noon the add-on is removed (credited now)
        w.advance(sp(2026, 3, 1, 12))
        remove(w, sub, item)
        after_removal = balance(w, sub.customer_id)
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
        item.refresh_from_db()
    # Jan 15 and Feb 15: 10000 + 4650 = 14650.
    # Mar 1 .. Mar 14 remain of [Feb 15, Mar 15): 14 of 28 days: 4650 × 14/28 = 2325 credited;
    # the negative invoice carries 2325 to the balance, which the Mar 15 invoice
    # (basic alone, 10000) takes: 7675 due.
    assert [doc(i)[7] for i in got] == [14_650, 14_650, 0, 10_000, 10_000]
    assert lines(got[2])[0] == ("proration", 1, -2_325, 0, 0, -2_325)
    assert after_removal == 2_325
    assert doc(got[3])[8:] == (2_325, 7_675)
    assert lines(got[3]) == [("recurring", 1, 10_000, 0, 0, 10_000)]
    assert lines(got[4]) == [("recurring", 1, 10_000, 0, 0, 10_000)]
    assert item.ended_at == sp(2026, 3, 1, 12)


def test_items_addon_removed_mid_period_by_second(db):
    # Given the same subscription on a tenant prorating by the second
    with world(sp(2026, 1, 15, 12), proration_precision="second") as w:
        basic = w.plan("basic", amount=10_000)
        support = w.plan("support", amount=4_650)
        sub = w.subscribe(basic, items=[(support, 1)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        # When at midnight starting Mar 1 the add-on is removed
        w.advance(sp(2026, 3, 1, 0))
        remove(w, sub, item)
        got = w.invoices(sub)
    # Mar 1 00:00 → Mar 15 12:00 = 14.5 of 28 days: 4650 × 14.5/28 = 2408.04 → 2408.
    assert lines(got[2])[0] == ("proration", 1, -2_408, 0, 0, -2_408)


# --- quantity change -------------------------------------------------------------------


def test_items_quantity_change_two_lines_by_day(db):
    # Given basic with 3 seats of an add-on at R$10 a seat
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        seats = w.plan("extra-seat", amount=1_000, pricing_model="per_seat")
        sub = w.subscribe(basic, items=[(seats, 3)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        # When on Feb 1 at noon it goes to 5 seats
        w.advance(sp(2026, 2, 1, 12))
        update(w, sub, item, quantity=5)
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # 14 of 31 days: credit 3000 × 14/31 = 1354.84 → 1355; charge 5000 × 14/31 = 2258.06 → 2258.
    # Update invoice 903; Feb 15: 10000 + 5000 = 15000.
    assert doc(got[0])[7] == 13_000
    assert lines(got[1]) == [
        ("proration", 3, -1_355, 0, 0, -1_355),
        ("proration", 5, 2_258, 0, 0, 2_258),
    ]
    assert doc(got[1])[7] == 903
    assert lines(got[2]) == [
        ("recurring", 1, 10_000, 0, 0, 10_000),
        ("recurring", 5, 5_000, 0, 0, 5_000),
    ]


def test_items_quantity_change_difference_line_by_second(db):
    # Given a tenant billing only what changed, prorating by the second
    with world(
        sp(2026, 1, 15, 12), proration_precision="second", quantity_change_lines="difference"
    ) as w:
        basic = w.plan("basic", amount=10_000)
        seats = w.plan("extra-seat", amount=1_000, pricing_model="per_seat")
        sub = w.subscribe(basic, items=[(seats, 3)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        # When at midnight starting Feb 1 it goes to 5 seats
        w.advance(sp(2026, 2, 1, 0))
        update(w, sub, item, quantity=5)
        got = w.invoices(sub)
    # 14.5 of 31 days: credit 3000 × 14.5/31 = 1403.23 → 1403; charge 5000 × 14.5/31 =
    # 2338.71 → 2339; one line for the 2 seats more: 2339 - 1403 = 936.
    assert lines(got[1]) == [("proration", 2, 936, 0, 0, 936)]


# --- a fixed term ----------------------------------------------------------------------


def test_items_addon_with_fixed_term_ends_by_itself(db):
    # Given basic with onboarding (R$20 a month, a 2-cycle term) from Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        onboarding = w.plan("onboarding", amount=2_000, term_cycles=2)
        sub = w.subscribe(basic, items=[(onboarding, 1)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        # When four months pass
        w.advance(sp(2026, 4, 20, 0))
        got = w.invoices(sub)
        item.refresh_from_db()
        ended = Event.objects.filter(tenant=w.tenant, type="subscription.item_ended").count()
        status = state(w, sub)[0]
    # Jan 15 and Feb 15 bill both (12000); from Mar 15 the add-on has served its two
    # periods and ends there: basic alone (10000). The subscription goes on.
    assert [doc(i)[7] for i in got] == [12_000, 12_000, 10_000, 10_000]
    assert (item.cycles_billed, item.ended_at) == (2, sp(2026, 3, 15, 12))
    assert ended == 1
    assert status == "active"


# --- month-end anchor and a leap year --------------------------------------------------


def test_items_jan_31_anchor_in_a_leap_year_by_day(db):
    # Given basic bought on Jan 31 2028 (a leap year) at noon
    with world(sp(2028, 1, 31, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=2_900)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When on Feb 15 at noon storage (R$29) is added
        w.advance(sp(2028, 2, 15, 12))
        add(w, sub, storage)
        w.advance(sp(2028, 4, 5, 0))
        got = w.invoices(sub)
    # [Jan 31, Feb 29) is 29 days; Feb 15 .. Feb 28 remain: 14 → 2900 × 14/29 = 1400.
    # Then Feb 29 and Mar 31 (the anchor clamped, then back to the 31st): 12900 each.
    assert [(doc(i)[1], doc(i)[7]) for i in got] == [
        ("2028-01-31 12:00", 10_000),
        ("2028-02-15 12:00", 1_400),
        ("2028-02-29 12:00", 12_900),
        ("2028-03-31 12:00", 12_900),
    ]
    assert spans(got[2])[1] == ("recurring", "2028-02-29 12:00", "2028-03-31 12:00")


def test_items_jan_31_anchor_in_a_leap_year_by_second(db):
    # Given the same, prorating by the second
    with world(sp(2028, 1, 31, 12), proration_precision="second") as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=2_900)
        sub = w.subscribe(basic, collection_method="send_invoice")
        # When at midnight starting Feb 15 storage is added
        w.advance(sp(2028, 2, 15, 0))
        add(w, sub, storage)
        got = w.invoices(sub)
    # Feb 15 00:00 → Feb 29 12:00 = 14.5 of 29 days: 2900 × 14.5/29 = 1450.
    assert lines(got[1]) == [("proration", 1, 1_450, 0, 0, 1_450)]


# --- cancel, pause and resume, a coupon, a plan change ----------------------------------


def test_items_cancel_now_credits_base_and_addon(db):
    # Given basic with a R$31 add-on from Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        # When on Feb 1 at noon it is canceled now with the unused time credited
        w.advance(sp(2026, 2, 1, 12))
        cancel(w, sub, prorate_credit=True)
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
        notes = credit_notes(w)
        status = state(w, sub)[0]
    # 14 of 31 days unused: basic 10000 × 14/31 = 4516.13 → 4516; storage 3100 × 14/31
    # = 1400; one credit note for the invoice, 5916. Nothing billed after.
    assert [doc(i)[7] for i in got] == [13_100]
    assert [(n[3], n[4], n[5]) for n in notes] == [(5_916, "2026-02-01 12:00", "2026-02-15 12:00")]
    assert status == "canceled"


def test_items_pause_now_and_resume_bill_the_addon_too(db):
    # Given basic (pausable) with a R$31 add-on from Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000, max_pauses=2, max_pause_cycles=3)
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        # When it is paused on Feb 1 at noon (unused time credited) until Mar 1 at noon
        w.advance(sp(2026, 2, 1, 12))
        billing_subs.subscription_pause_now(
            tenant=w.tenant,
            subscription_id=sub.pk,
            actor=ACTOR,
            now=w.now,
            resume_at=sp(2026, 3, 1, 12),
            unused="credit",
        )
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
        notes = credit_notes(w)
    # Pause: 14 of 31 days credited: 4516 + 1400 = 5916 (to the balance).
    # Resume Mar 1 noon in [Feb 15, Mar 15): 14 of 28 days: basic 5000, storage 1550 = 6550,
    # paid from the balance (5916), 634 due. Mar 15: 13100.
    assert [n[3] for n in notes] == [5_916]
    assert [(doc(i)[1], doc(i)[7]) for i in got] == [
        ("2026-01-15 12:00", 13_100),
        ("2026-03-01 12:00", 6_550),
        ("2026-03-15 12:00", 13_100),
    ]
    assert lines(got[1]) == [
        ("recurring", 1, 5_000, 0, 0, 5_000),
        ("recurring", 1, 1_550, 0, 0, 1_550),
    ]
    assert doc(got[1])[8:] == (5_916, 634)


def test_items_coupon_discounts_each_line(db):
    # Given a forever 15% coupon and basic with 3 seats of a R$10.35 add-on
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        seats = w.plan("extra-seat", amount=1_035, pricing_model="per_seat")
        coupon(w, "ALWAYS15", percent_off=Decimal("15"), duration="forever")
        sub = w.subscribe(
            basic, items=[(seats, 3)], coupon="ALWAYS15", collection_method="send_invoice"
        )
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # Each line takes its share of the discount, rounded once:
    #   basic 10000 × 15% = 1500; seats 3105 × 15% = 465.75 → 466. Total 13105 - 1966 = 11139.
    assert lines(got[0]) == [
        ("recurring", 1, 10_000, 1_500, 0, 8_500),
        ("recurring", 3, 3_105, 466, 0, 2_639),
    ]
    assert [doc(i)[4:8] for i in got] == [(13_105, 1_966, 0, 11_139)] * 2


def test_items_base_plan_change_keeps_the_addons(db):
    # Given basic (R$100) with a R$31 add-on from Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=25_000)
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        # When on Feb 1 at noon it moves to pro, invoiced now
        w.advance(sp(2026, 2, 1, 12))
        change(w, sub, plan=pro, proration="invoice_now")
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # 14 of 31 days: credit basic 4516, charge pro 25000 × 14/31 = 11290.32 → 11290: 6774.
    # Feb 15: pro 25000 + storage 3100 = 28100.
    assert lines(got[1]) == [
        ("proration", 1, -4_516, 0, 0, -4_516),
        ("proration", 1, 11_290, 0, 0, 11_290),
    ]
    assert lines(got[2]) == [
        ("recurring", 1, 25_000, 0, 0, 25_000),
        ("recurring", 1, 3_100, 0, 0, 3_100),
    ]
    assert descriptions(got[2]) == ["Pro", "Storage"]


def test_items_added_at_create_setup_fees_on_the_first_invoice_with_tax(db):
    # Given basic with a R$50 setup fee, an add-on with R$20 setup, both with 5% ISS on top
    with world(sp(2026, 1, 15, 12)) as w:
        tax = w.tax("5")
        basic = w.plan("basic", amount=10_000, setup_fee_minor=5_000, tax_rate=tax)
        storage = w.plan("storage", amount=3_100, setup_fee_minor=2_000, tax_rate=tax)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        w.advance(sp(2026, 2, 20, 0))
        got = w.invoices(sub)
    # First invoice: basic 10000 (tax 500), storage 3100 (tax 155), setup 5000 (250) and
    # 2000 (100): subtotal 20100, tax 1005, total 21105. Then 13100 + 655 = 13755.
    assert lines(got[0]) == [
        ("recurring", 1, 10_000, 0, 500, 10_500),
        ("recurring", 1, 3_100, 0, 155, 3_255),
        ("setup_fee", 1, 5_000, 0, 250, 5_250),
        ("setup_fee", 1, 2_000, 0, 100, 2_100),
    ]
    assert doc(got[0])[4:8] == (20_100, 0, 1_005, 21_105)
    assert doc(got[1])[4:8] == (13_100, 0, 655, 13_755)


# --- previews are what the action writes -----------------------------------------------


def test_items_previews_equal_what_the_actions_write(db):
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        seats = w.plan("extra-seat", amount=1_000, pricing_model="per_seat", setup_fee_minor=700)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        kw = {"tenant": w.tenant, "subscription_id": sub.pk, "now": w.now}

        def written() -> list[tuple[Any, ...]]:
            inv = w.invoices(sub)[-1]
            return [
                (
                    ln.kind,
                    ln.quantity,
                    ln.amount_minor,
                    ln.discount_minor,
                    ln.tax_minor,
                    ln.total_minor,
                )
                for ln in inv.lines.all()
            ]

        def shown(preview: Any) -> list[tuple[Any, ...]]:
            return [
                (
                    ln.kind,
                    ln.quantity,
                    ln.amount_minor,
                    ln.discount_minor,
                    ln.tax_minor,
                    ln.total_minor,
                )
                for ln in preview.lines
            ]

        before = Invoice.objects.count()
        p_add = billing_items.subscription_item_preview_add(plan=seats, quantity=4, **kw)
        assert Invoice.objects.count() == before
        assert not SubscriptionItem.objects.filter(subscription=sub).exists()
        item = add(w, sub, seats, quantity=4)
        assert shown(p_add) == written()
        # 4000 × 14/31 = 1806.45 → 1806, + setup 700
        assert shown(p_add) == [
            ("proration", 4, 1_806, 0, 0, 1_806),
            ("setup_fee", 1, 700, 0, 0, 700),
        ]

        p_upd = billing_items.subscription_item_preview_update(
            item_id=item.public_id, quantity=2, **kw
        )
        update(w, sub, item, quantity=2)
        assert shown(p_upd) == written()
        # credit 4000 × 14/31 → 1806, charge 2000 × 14/31 = 903.23 → 903
        assert shown(p_upd) == [
            ("proration", 4, -1_806, 0, 0, -1_806),
            ("proration", 2, 903, 0, 0, 903),
            ("credit_carried", 1, 903, 0, 0, 903),
        ]

        p_del = billing_items.subscription_item_preview_remove(item_id=item.public_id, **kw)
        remove(w, sub, item)
        assert shown(p_del) == written()
        assert p_del.total_minor == 0
        assert p_del.invoiced

        # Added to the next invoice instead: the preview shows the pending lines.
        p_next = billing_items.subscription_item_preview_add(
            plan=seats, quantity=1, proration="next_invoice", **kw
        )
        add(w, sub, seats, quantity=1, proration="next_invoice")
        pending = list(PendingLine.objects.filter(subscription=sub, invoice__isnull=True))
        assert not p_next.invoiced
        assert [(ln.kind, ln.amount_minor) for ln in p_next.lines] == [
            (p.kind, p.amount_minor) for p in pending
        ]
        # 1000 × 14/31 = 451.61 → 452, + setup 700
        assert [(p.kind, p.amount_minor) for p in pending] == [
            ("proration", 452),
            ("setup_fee", 700),
        ]


# --- entitlements ----------------------------------------------------------------------


def test_items_entitlements_are_the_union_and_pushed(db):
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000, entitlements={"seats": 5, "sso": False})
        storage = w.plan("storage", amount=3_100, entitlements={"storage_gb": 100, "sso": True})
        sub = w.subscribe(basic, collection_method="send_invoice")
        customer = sub.customer

        def pushed() -> list[dict[str, Any]]:
            return [
                e.data["features"]
                for e in Event.objects.filter(
                    tenant=w.tenant, type="customer.entitlements.updated"
                ).order_by("id")
            ]

        w.advance(sp(2026, 2, 1, 12))
        item = add(w, sub, storage)
        with_item = subs_entitlements(w, customer)
        remove(w, sub, item)
        without = subs_entitlements(w, customer)
        events = pushed()
    assert with_item == {"seats": 5, "sso": True, "storage_gb": 100}
    assert without == {"seats": 5, "sso": False}
    assert events[-2:] == [with_item, without]


def subs_entitlements(w: World, customer: Any) -> dict[str, Any]:
    from subscriptions.selectors import customer_entitlements

    return customer_entitlements(tenant=w.tenant, customer=customer).features


# --- bad input: a clear error, nothing changed -------------------------------------------


def _snapshot(w: World, sub: Subscription) -> tuple[Any, ...]:
    return (
        SubscriptionItem.objects.count(),
        Invoice.objects.count(),
        PendingLine.objects.count(),
        CreditNote.objects.count(),
        Event.objects.count(),
        state(w, sub),
    )


@pytest.mark.parametrize(
    ("_case", "make", "error", "param"),
    [
        ("quantity 0", lambda w, p: (p["seats"], {"quantity": 0}), ValidationFailed, "quantity"),
        (
            "quantity 10^9",
            lambda w, p: (p["seats"], {"quantity": 10**9}),
            ValidationFailed,
            "quantity",
        ),
        (
            "flat plan 2 seats",
            lambda w, p: (p["flat"], {"quantity": 2}),
            ValidationFailed,
            "quantity",
        ),
        ("another currency", lambda w, p: (p["usd"], {}), ValidationFailed, "plan"),
        ("another interval", lambda w, p: (p["yearly"], {}), ValidationFailed, "plan"),
        ("the base plan", lambda w, p: (p["basic"], {}), ValidationFailed, "plan"),
        (
            "bad proration",
            lambda w, p: (p["flat"], {"proration": "later"}),
            ValidationFailed,
            "proration",
        ),
    ],
)
def test_items_bad_input_changes_nothing(db, _case, make, error, param):
    with world(sp(2026, 1, 15, 12)) as w:
        plans = {
            "basic": w.plan("basic", amount=10_000),
            "seats": w.plan("extra-seat", amount=1_000, pricing_model="per_seat"),
            "flat": w.plan("support", amount=4_650),
            "usd": w.plan("usd-addon", amount=1_000, currency="USD"),
            "yearly": w.plan("yearly-addon", amount=1_000, interval="year"),
        }
        sub = w.subscribe(plans["basic"], collection_method="send_invoice")
        w.advance(sp(2026, 2, 1, 12))
        before = _snapshot(w, sub)
        plan, kw = make(w, plans)
        with pytest.raises(error) as raised:
            add(w, sub, plan, **kw)
        assert raised.value.param == param
        assert _snapshot(w, sub) == before


def test_items_another_tenants_plan_and_a_canceled_subscription_are_refused(db):
    with world(sp(2026, 1, 15, 12), slug="other") as other:
        foreign = other.plan("storage", amount=3_100)
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, collection_method="send_invoice")
        before = _snapshot(w, sub)
        with pytest.raises(NotFound) as raised:
            add(w, sub, foreign)
        assert raised.value.param == "plan"
        assert _snapshot(w, sub) == before
        cancel(w, sub)
        before = _snapshot(w, sub)
        with pytest.raises(StateConflict):
            add(w, sub, storage)
        assert _snapshot(w, sub) == before


def test_items_interval_change_of_the_base_with_addons_is_refused(db):
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        annual = w.plan("annual", amount=100_000, interval="year")
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        before = _snapshot(w, sub)
        with pytest.raises(ValidationFailed) as raised:
            change(w, sub, plan=annual)
        assert raised.value.code == "interval_change_with_items"
        assert _snapshot(w, sub) == before


def test_items_bad_item_at_create_creates_nothing(db):
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        usd = w.plan("usd-addon", amount=1_000, currency="USD")
        customer = w.customer()
        with pytest.raises(ValidationFailed), tenant_context(w.tenant):
            w.subscribe(basic, customer=customer, items=[(usd, 1)])
        assert (Subscription.objects.count(), SubscriptionItem.objects.count()) == (0, 0)


# --- the subscription stops: its add-ons end with it ------------------------------------


def test_items_cancel_now_ends_the_live_addons_at_that_moment(db):
    # Given basic with storage and support from Jan 15; a third add-on was removed on Jan 20
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100)
        support = w.plan("support", amount=4_650)
        backup = w.plan("backup", amount=1_000)
        sub = w.subscribe(
            basic, items=[(storage, 1), (support, 1), (backup, 1)], collection_method="send_invoice"
        )
        items = {i.plan.code: i for i in SubscriptionItem.objects.filter(subscription=sub)}
        w.advance(sp(2026, 1, 20, 12))
        remove(w, sub, items["backup"], proration="none")
        # When on Feb 1 at noon the subscription is canceled now
        w.advance(sp(2026, 2, 1, 12))
        cancel(w, sub)
        ended = dict(
            SubscriptionItem.objects.filter(subscription=sub).values_list("plan__code", "ended_at")
        )
        sub_ended = w.refresh(sub).ended_at
        w.advance(sp(2026, 3, 20, 0))
        got = w.invoices(sub)
    # Then the live add-ons end when the subscription does; the removed one keeps its date.
    assert sub_ended == sp(2026, 2, 1, 12)
    assert ended == {
        "storage": sp(2026, 2, 1, 12),
        "support": sp(2026, 2, 1, 12),
        "backup": sp(2026, 1, 20, 12),
    }
    # Jan 15: 10000 + 3100 + 4650 + 1000 = 18750; nothing after the cancellation.
    assert [doc(i)[7] for i in got] == [18_750]


def test_items_cancel_at_period_end_ends_the_addons_when_the_end_arrives(db):
    # Given basic with storage from Jan 15, canceled on Feb 1 at the period's end
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        w.advance(sp(2026, 2, 1, 12))
        cancel(w, sub, at_period_end=True)
        # When Feb 10 comes, the add-on is still live; then the period ends on Feb 15
        w.advance(sp(2026, 2, 10, 0))
        item.refresh_from_db()
        before_end = item.ended_at
        w.advance(sp(2026, 3, 20, 0))
        item.refresh_from_db()
        status, sub_ended = state(w, sub)[0], w.refresh(sub).ended_at
        got = w.invoices(sub)
    assert before_end is None
    # Then it ends with the subscription, at the period's end, and nothing more is billed.
    assert (status, sub_ended) == ("canceled", sp(2026, 2, 15, 12))
    assert item.ended_at == sp(2026, 2, 15, 12)
    assert [doc(i)[7] for i in got] == [13_100]


def test_items_end_with_a_fixed_term_subscription(db):
    # Given a 2-period contract (basic, term 2) with storage from Jan 15
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000, term_cycles=2)
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, items=[(storage, 1)], collection_method="send_invoice")
        item = SubscriptionItem.objects.get(subscription=sub)
        # When four months pass
        w.advance(sp(2026, 5, 20, 0))
        item.refresh_from_db()
        status, sub_ended = state(w, sub)[0], w.refresh(sub).ended_at
        got = w.invoices(sub)
    # Then the contract ends on Mar 15 after Jan 15 and Feb 15 (13100 each), and the add-on with it.
    assert (status, sub_ended) == ("ended", sp(2026, 3, 15, 12))
    assert item.ended_at == sp(2026, 3, 15, 12)
    assert [doc(i)[7] for i in got] == [13_100, 13_100]


def _canceling_batch(slug: str, count: int) -> tuple[Any, list[int]]:
    """``count`` subscriptions with two add-ons each, canceled at the period end."""
    with world(sp(2026, 1, 15, 12), slug=slug) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100)
        support = w.plan("support", amount=4_650)
        ids = []
        for i in range(count):
            sub = w.subscribe(
                basic,
                customer=Customer.objects.create(tenant=w.tenant, name=f"Customer {i}"),
                items=[(storage, 1), (support, 1)],
                collection_method="send_invoice",
            )
            cancel(w, sub, at_period_end=True)
            ids.append(sub.pk)
        return w.tenant, ids


def test_items_ending_at_cancellation_keeps_the_billing_run_set_based(db):
    # Given two tenants with 2 and 8 subscriptions (two add-ons each) canceling on Feb 15
    small, _ = _canceling_batch("small", 2)
    large, large_ids = _canceling_batch("large", 8)
    due = sp(2026, 2, 15, 12) + timedelta(minutes=1)
    # When the billing run reaches the period's end for each
    with CaptureQueriesContext(connection) as few:
        billing_run(now=due, tenant=small)
    with CaptureQueriesContext(connection) as many:
        billing_run(now=due, tenant=large)
    # Then four times the subscriptions cost the same statements, and every add-on ended
    assert len(many.captured_queries) == len(few.captured_queries)
    with tenant_context(large):
        ended = list(
            SubscriptionItem.objects.filter(subscription_id__in=large_ids).values_list(
                "ended_at", flat=True
            )
        )
        statuses = set(
            Subscription.objects.filter(pk__in=large_ids).values_list("status", flat=True)
        )
    assert ended == [sp(2026, 2, 15, 12)] * 16
    assert statuses == {"canceled"}
