"""The catalog's price versions and the change preview.

plan_change_price: an unused plan is edited in place; a used one gets a new
version (new public id) that new subscriptions buy, while existing subscribers
keep renewing at the price they bought.

subscription_preview_change: the very lines subscription_change writes, priced
with the tenant's tax and the subscription's coupon, and nothing is saved.

Tenant: São Paulo, day precision, half-even. Subscriptions start on Jan 15
12:00 and change on Feb 1 12:00, when 14 of the period's 31 days remain.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing import coupons as billing_coupons
from billing import subscriptions as billing_subs
from billing.models import CouponRedemption, Invoice, PendingLine
from core.errors import StateConflict
from subscriptions import services as subs
from subscriptions.models import Plan, ScheduledChange, Subscription
from tenants.models import AuditEntry, Event
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import ACTOR, World, world

START = sp(2026, 1, 15, 12)
CHANGE_AT = sp(2026, 2, 1, 12)
PERIOD_END = sp(2026, 2, 15, 12)

Line = tuple[str, int, int, int, int, datetime | None, datetime | None]


def change_price(w: World, plan: Plan, amount: int) -> Plan:
    return subs.plan_change_price(
        tenant=w.tenant, plan_id=plan.pk, amount_minor=amount, actor=ACTOR, now=w.now
    )


def plan_row(pk: int) -> tuple[Any, ...]:
    """(code, version, amount, active, superseded_by id, public id)."""
    p = Plan.objects.get(pk=pk)
    return (p.code, p.version, p.amount_minor, p.active, p.superseded_by_id, p.public_id)


def totals(w: World, sub: Subscription) -> list[int]:
    return [i.total_minor for i in w.invoices(sub)]


def preview_lines(lines: Any) -> list[Line]:
    return [
        (
            ln.kind,
            ln.amount_minor,
            ln.discount_minor,
            ln.tax_minor,
            ln.total_minor,
            ln.period_start,
            ln.period_end,
        )
        for ln in lines
    ]


def invoice_lines(invoice: Invoice, kinds: tuple[str, ...]) -> list[Line]:
    return preview_lines(ln for ln in invoice.lines.all() if ln.kind in kinds)


# --- plan_change_price ----------------------------------------------------------


def test_change_price_of_an_unused_plan_edits_it_in_place(db):
    # Given a plan nobody subscribed to
    with world(START) as w:
        plan = w.plan("basic", amount=10_000)
        # When its price changes
        changed = change_price(w, plan, 12_000)
        got = plan_row(plan.pk)
        versions = Plan.objects.filter(code="basic").count()
        event = list(Event.objects.filter(type="plan.updated").values_list("subject_id", "data"))
    # Then it is the same plan, version 1, at the new price
    assert (changed.pk, changed.public_id, changed.version) == (plan.pk, plan.public_id, 1)
    assert got == ("basic", 1, 12_000, True, None, plan.public_id)
    assert versions == 1
    assert event == [(plan.public_id, {"plan": plan.public_id, "version": 1})]


def test_change_price_of_an_unused_plan_audits_old_and_new_price(db):
    # Given a plan nobody subscribed to, at R$ 100.00
    with world(START) as w:
        plan = w.plan("basic", amount=10_000)
        # When its price changes to R$ 120.00
        change_price(w, plan, 12_000)
        audit = list(
            AuditEntry.objects.filter(action="plan.price_changed").values_list("changes", flat=True)
        )
    # Then the audit entry records the old and the new price
    assert audit == [{"amount_minor": [10_000, 12_000], "version": 1}]


def test_change_price_of_a_used_plan_makes_version_two_and_keeps_subscribers_price(db):
    # Given Ana subscribed to basic at R$ 100.00
    with world(START) as w:
        old = w.plan("basic", amount=10_000)
        ana = w.subscribe(old, w.customer("Ana"), collection_method="send_invoice")
        # When its price becomes R$ 120.00 and Bia subscribes afterwards
        new = change_price(w, old, 12_000)
        with pytest.raises(StateConflict) as inactive:
            w.subscribe(Plan.objects.get(pk=old.pk), w.customer("Caio"))
        bia = w.subscribe(new, w.customer("Bia"), collection_method="send_invoice")
        old_row, new_row = plan_row(old.pk), plan_row(new.pk)
        audit = list(
            AuditEntry.objects.filter(action="plan.price_changed").values_list(
                "target_id", "changes"
            )
        )
        # And two months pass on the clock
        w.advance(sp(2026, 3, 20, 12))
        ana_totals, bia_totals = totals(w, ana), totals(w, bia)
        ana_plan = w.refresh(ana).plan_id
    # Then version 2 is a new plan with its own public id; version 1 is retired
    assert new.pk != old.pk
    assert new.public_id != old.public_id
    assert old_row == ("basic", 1, 10_000, False, new.pk, old.public_id)
    assert new_row == ("basic", 2, 12_000, True, None, new.public_id)
    assert inactive.value.code == "plan_inactive"
    assert audit == [(str(new.pk), {"amount_minor": [10_000, 12_000], "version": 2})]
    # and Ana keeps paying R$ 100.00 while Bia pays R$ 120.00
    assert ana_plan == old.pk
    assert ana_totals == [10_000, 10_000, 10_000]
    assert bia_totals == [12_000, 12_000, 12_000]


def test_change_price_of_a_superseded_version_is_refused(db):
    # Given basic v1 (used) superseded by v2
    with world(START) as w:
        v1 = w.plan("basic", amount=10_000)
        w.subscribe(v1)
        v2 = change_price(w, v1, 12_000)
        # When v1's price is changed again
        with pytest.raises(StateConflict) as err:
            change_price(w, v1, 15_000)
        got = [plan_row(pk)[:5] for pk in (v1.pk, v2.pk)]
        versions = Plan.objects.filter(code="basic").count()
    # Then it is refused and nothing changes
    assert err.value.code == "plan_superseded"
    assert got == [("basic", 1, 10_000, False, v2.pk), ("basic", 2, 12_000, True, None)]
    assert versions == 2


def test_a_second_plan_with_an_existing_code_is_refused(db):
    # Given a plan "basic"
    with world(START) as w:
        w.plan("basic", amount=10_000)
        # When another plan is created with the same code
        with pytest.raises(StateConflict) as err:
            w.plan("basic", amount=5_000)
        count = Plan.objects.filter(code="basic").count()
    # Then it is refused with plan_code_taken
    assert err.value.code == "plan_code_taken"
    assert count == 1


def test_change_price_of_a_plan_with_a_scheduled_change_makes_a_new_version(db):
    # Given Ana on basic with a change to pro (R$ 200.00) scheduled at period end
    with world(START) as w:
        basic = w.plan("basic", amount=10_000)
        pro = w.plan("pro", amount=20_000)
        ana = w.subscribe(basic, collection_method="send_invoice")
        billing_subs.subscription_change(
            tenant=w.tenant,
            subscription_id=ana.pk,
            actor=ACTOR,
            now=w.now,
            plan=pro,
            when="period_end",
        )
        # When pro's price becomes R$ 250.00 and the period ends
        new = change_price(w, pro, 25_000)
        w.advance(sp(2026, 2, 20, 12))
        got = totals(w, ana)
    # Then pro v1 keeps its price for Ana, and the new price is a new version
    assert got == [10_000, 20_000]
    assert new.pk != pro.pk


# --- subscription_preview_change --------------------------------------------------


def _taxed_world_with_coupon(w: World) -> tuple[Plan, Plan, Subscription]:
    """basic R$ 100 and pro R$ 250, 10% ISS on top; the subscription has 20% off forever."""
    tax = w.tax("10")
    basic = w.plan("basic", amount=10_000, tax_rate=tax)
    pro = w.plan("pro", amount=25_000, tax_rate=tax)
    billing_coupons.coupon_create(
        tenant=w.tenant,
        code="PCT20",
        actor=ACTOR,
        now=w.now,
        percent_off=Decimal("20"),
        duration="forever",
    )
    return basic, pro, w.subscribe(basic, coupon="PCT20", collection_method="send_invoice")


# 14/31 of the period remain on Feb 1:
#   credit basic 10000 × 14/31 = 4516.13 → -4516; 20% off → -903.2 → -903; net -3613;
#     tax 10% → -361.3 → -361; total -3974
#   charge pro 25000 × 14/31 = 11290.32 → 11290; 20% off 2258; net 9032; tax 903.2 → 903;
#     total 9935
UPGRADE = [
    ("proration", -4_516, -903, -361, -3_974, CHANGE_AT, PERIOD_END),
    ("proration", 11_290, 2_258, 903, 9_935, CHANGE_AT, PERIOD_END),
]


def preview(w: World, sub: Subscription, **kw: Any) -> billing_subs.ChangePreview:
    return billing_subs.subscription_preview_change(
        tenant=w.tenant, subscription=w.refresh(sub), now=w.now, **kw
    )


def change(w: World, sub: Subscription, **kw: Any) -> Subscription:
    return billing_subs.subscription_change(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw
    )


def test_preview_invoice_now_is_the_update_invoice(db):
    # Given basic with 10% tax and 20% off forever, on Feb 1
    with world(START) as w:
        _, pro, sub = _taxed_world_with_coupon(w)
        w.advance(CHANGE_AT)
        # When the upgrade to pro, invoiced now, is previewed and then made
        seen = preview(w, sub, plan=pro, proration="invoice_now")
        change(w, sub, plan=pro, proration="invoice_now")
        [update] = [i for i in w.invoices(sub) if i.billing_reason == "subscription_update"]
    # Then the preview is exactly the update invoice
    assert preview_lines(seen.lines) == UPGRADE
    assert (seen.effective_at, seen.total_minor) == (CHANGE_AT, 5_961)
    assert invoice_lines(update, ("proration", "credit_carried")) == UPGRADE
    assert [ln.kind for ln in update.lines.all()] == ["proration", "proration"]
    assert (update.issued_at, update.total_minor) == (CHANGE_AT, 5_961)


def test_preview_invoice_now_downgrade_carries_the_credit_like_the_invoice(db):
    # Given pro with 10% tax and 20% off forever, on Feb 1
    with world(START) as w:
        basic, pro, _ = _taxed_world_with_coupon(w)
        sub = w.subscribe(pro, w.customer("Bia"), coupon="PCT20", collection_method="send_invoice")
        w.advance(CHANGE_AT)
        # When the downgrade to basic, invoiced now, is previewed and then made
        seen = preview(w, sub, plan=basic, proration="invoice_now")
        change(w, sub, plan=basic, proration="invoice_now")
        [update] = [i for i in w.invoices(sub) if i.billing_reason == "subscription_update"]
    # Then both show the two prorations and the 5961 carried to the balance
    #   credit pro -11290, off -2258, tax -903, total -9935;
    #   charge basic 4516, off 903, tax 361, total 3974
    expected = [
        ("proration", -11_290, -2_258, -903, -9_935, CHANGE_AT, PERIOD_END),
        ("proration", 4_516, 903, 361, 3_974, CHANGE_AT, PERIOD_END),
        ("credit_carried", 5_961, 0, 0, 5_961, None, None),
    ]
    assert preview_lines(seen.lines) == expected
    assert seen.total_minor == 0
    assert invoice_lines(update, ("proration", "credit_carried")) == expected
    assert (update.total_minor, update.status) == (0, "paid")


def test_preview_next_invoice_is_the_prorations_on_the_renewal(db):
    # Given basic with 10% tax and 20% off forever, on Feb 1
    with world(START) as w:
        _, pro, sub = _taxed_world_with_coupon(w)
        w.advance(CHANGE_AT)
        # When the upgrade to pro, added to the next invoice, is previewed and made
        seen = preview(w, sub, plan=pro, proration="next_invoice")
        change(w, sub, plan=pro, proration="next_invoice")
        invoices_after_change = len(w.invoices(sub))
        # And the period renews on Feb 15
        w.advance(sp(2026, 2, 16, 12))
        renewal = w.invoices(sub)[-1]
    # Then the renewal carries exactly the previewed prorations, after pro's own line
    #   recurring pro 25000, 20% off 5000, tax 2000, total 22000
    assert preview_lines(seen.lines) == UPGRADE
    assert (seen.effective_at, seen.total_minor) == (CHANGE_AT, 5_961)
    assert invoices_after_change == 1
    assert invoice_lines(renewal, ("proration",)) == UPGRADE
    assert [ln.kind for ln in renewal.lines.all()] == ["recurring", "proration", "proration"]
    assert (renewal.billing_reason, renewal.total_minor) == ("subscription_cycle", 27_961)


def test_preview_invoice_now_includes_prorations_already_waiting(db):
    # Given an upgrade to pro on Feb 1 added to the next invoice (two pending lines)
    with world(START) as w:
        tax = w.tax("10")
        basic = w.plan("basic", amount=10_000, tax_rate=tax)
        pro = w.plan("pro", amount=25_000, tax_rate=tax)
        premium = w.plan("premium", amount=40_000, tax_rate=tax)
        sub = w.subscribe(basic, collection_method="send_invoice")
        w.advance(CHANGE_AT)
        change(w, sub, plan=pro, proration="next_invoice")
        # When on Feb 8 an upgrade to premium, invoiced now, is previewed and made
        w.advance(sp(2026, 2, 8, 12))
        seen = preview(w, sub, plan=premium, proration="invoice_now")
        change(w, sub, plan=premium, proration="invoice_now")
        [update] = [i for i in w.invoices(sub) if i.billing_reason == "subscription_update"]
    # Then the preview shows every line of the update invoice, and its total
    assert preview_lines(seen.lines) == invoice_lines(update, ("proration", "credit_carried"))
    assert seen.total_minor == update.total_minor


def _footprint(w: World, sub: Subscription) -> tuple[Any, ...]:
    s = w.refresh(sub)
    redemption = CouponRedemption.objects.get(subscription=sub)
    return (
        Invoice.objects.count(),
        PendingLine.objects.count(),
        Event.objects.count(),
        ScheduledChange.objects.count(),
        AuditEntry.objects.count(),
        (s.plan_id, s.quantity, s.status, s.current_period_end, s.next_event_at),
        (redemption.cycles_left, redemption.recurring_uses),
    )


def test_previewing_changes_nothing(db):
    # Given basic with tax and a 20% coupon for three cycles, on Feb 1
    with world(START) as w:
        tax = w.tax("10")
        basic = w.plan("basic", amount=10_000, tax_rate=tax)
        pro = w.plan("pro", amount=25_000, tax_rate=tax)
        billing_coupons.coupon_create(
            tenant=w.tenant,
            code="TRI20",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("20"),
            duration="repeating",
            duration_cycles=3,
        )
        sub = w.subscribe(basic, coupon="TRI20", collection_method="send_invoice")
        w.advance(CHANGE_AT)
        before = _footprint(w, sub)
        # When every kind of change is previewed
        now_lines = preview(w, sub, plan=pro, proration="invoice_now").lines
        next_lines = preview(w, sub, plan=pro, proration="next_invoice").lines
        none = preview(w, sub, plan=pro, proration="none")
        at_end = preview(w, sub, plan=pro, when="period_end")
        after = _footprint(w, sub)
    # Then the previews answer and nothing at all was written
    assert preview_lines(now_lines) == UPGRADE
    assert preview_lines(next_lines) == UPGRADE
    assert (none.lines, none.effective_at, none.total_minor) == ([], CHANGE_AT, 0)
    assert (at_end.lines, at_end.effective_at, at_end.total_minor) == ([], PERIOD_END, 0)
    assert after == before
    assert before[6] == (2, 1)
