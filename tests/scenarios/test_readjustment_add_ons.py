"""Readjustment (reajuste) of a contract with add-ons, hand-computed to the cent.

A policy applies to the recurring fee (``recurring``, the default) or to the
recurring fee and the contract's add-ons (``recurring_and_add_ons``): each live
add-on's unit price is readjusted by the same factor (after floor and cap) and
rounded the same way (the tenant's mode, half-even here), decided with the
notice and applied at the same period start.

The contract: Pro, flat R$ 99,90, from 1 Feb 2024 12:00 in São Paulo, with the
add-on Storage, R$ 31,00 a seat × 2. Index: IPCA-like monthly rates, compounded.

- Due 1 Feb 2025 (the months Jan–Dec 2024, August negative):
  1.0042 × 1.0083 × 1.0016 × 1.0038 × 1.0046 × 1.0021 × 1.0038 × 0.9998
  × 1.0044 × 1.0056 × 1.0039 × 1.0052 = 1.04831295791… → factor 0.04831296.
  Pro 9 990 × 1.04831296 = 10 472.646… → 10 473; Storage 3 100 × 1.04831296
  = 3 249.770… → 3 250 a seat.
- Due 1 Feb 2026 (Jan–Dec 2025, August -0.11 %): 1.0016 × 1.0131 × 1.0056
  × 1.0043 × 1.0026 × 1.0024 × 1.0026 × 0.9989 × 1.0048 × 1.0009 × 1.0018
  × 1.0033 = 1.04264384904… → factor 0.04264385. Pro 10 473 × 1.04264385 =
  10 919.609… → 10 920; Storage (from its own contract price) 3 250 × 1.04264385
  = 3 388.592… → 3 389 a seat.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from billing import items as billing_items
from billing import subscriptions as billing_subs
from billing.models import Invoice
from billing.pix_automatico import contract_period_amount
from core.errors import ValidationFailed
from notifications.message_context import build_context
from subscriptions import services as subs
from subscriptions.api import SubscriptionItemSerializer
from subscriptions.models import (
    IndexSeries,
    Readjustment,
    ReadjustmentPolicy,
    Subscription,
    SubscriptionItem,
)
from subscriptions.selectors import item_rows, readjustments_due
from tenants.models import Event
from tests.scenarios.helpers_lifecycle import lines, loc, sp
from tests.support.billing import ACTOR, World, world

pytestmark = pytest.mark.django_db

IPCA_2024 = ["0.42", "0.83", "0.16", "0.38", "0.46", "0.21"]
IPCA_2024 += ["0.38", "-0.02", "0.44", "0.56", "0.39", "0.52"]
IPCA_2025 = ["0.16", "1.31", "0.56", "0.43", "0.26", "0.24"]
IPCA_2025 += ["0.26", "-0.11", "0.48", "0.09", "0.18", "0.33"]
ADD_ONS = "recurring_and_add_ons"


def _series(w: World, *years: tuple[int, list[str]]) -> IndexSeries:
    series = subs.index_series_create(
        tenant=w.tenant, kind="ipca", name="IPCA", actor=ACTOR, now=w.now
    )
    _values(w, series, *years)
    return series


def _values(w: World, series: IndexSeries, *years: tuple[int, list[str]]) -> None:
    values = {date(year, m, 1): Decimal(v) for year, rates in years for m, v in enumerate(rates, 1)}
    subs.index_values_set(
        tenant=w.tenant, series_id=series.pk, values=values, actor=ACTOR, now=w.now
    )


def _policy(w: World, **kw: Any) -> ReadjustmentPolicy:
    args: dict[str, Any] = {
        "plan_code": "pro",
        "method": "index",
        "series_id": None,
        "fixed_percent": None,
        "period": "anniversary",
        "month": None,
        "floor_percent": None,
        "cap_percent": None,
        "notice_days": 30,
        "automatic": True,
        **kw,
    }
    return subs.readjustment_policy_set(tenant=w.tenant, actor=ACTOR, now=w.now, **args)


def _contract(w: World, *extra: tuple[Any, int]) -> tuple[Subscription, SubscriptionItem]:
    pro = w.plan("pro", amount=9_990)
    storage = w.plan("storage", amount=3_100, pricing_model="per_seat")
    sub = w.subscribe(pro, collection_method="send_invoice", items=[(storage, 2), *extra])
    return sub, SubscriptionItem.objects.get(subscription=sub, plan=storage)


def _cycle(sub: Subscription, y: int, m: int) -> Invoice:
    return Invoice.objects.prefetch_related("lines").get(
        subscription=sub, billing_reason="subscription_cycle", period_start=sp(y, m, 1)
    )


def _events(w: World, type_: str) -> list[Event]:
    return list(Event.objects.filter(tenant=w.tenant, type=type_).order_by("at", "id"))


# --- two anniversaries under each policy option ---------------------------------------------


@pytest.mark.parametrize(
    ("applies_to", "storage_1", "storage_2", "readjusted", "storage_minor"),
    [
        # The recurring fee only: Storage stays at its list price.
        ("recurring", 3_100, 3_100, [], None),
        # With add-ons: 3 100 → 3 250 → 3 389 a seat (see the module's docstring).
        (ADD_ONS, 3_250, 3_389, [(3_100, 3_250), (3_250, 3_389)], 3_250),
    ],
)
def test_two_anniversaries_with_an_add_on(
    applies_to: str,
    storage_1: int,
    storage_2: int,
    readjusted: list[tuple[int, int]],
    storage_minor: int | None,
) -> None:
    with world(sp(2024, 2, 1)) as w:
        sub, storage = _contract(w)
        ipca = _series(w, (2024, IPCA_2024))
        _policy(w, series_id=ipca.pk, applies_to=applies_to)

        # The due list, 1 Jan 2025: old and new totals (Pro + 2 seats of Storage).
        w.advance(sp(2025, 1, 1))
        [due] = readjustments_due(tenant=w.tenant, now=w.now, days=60)
        # The notice goes out 30 days before 1 Feb 2025: on 2 January.
        w.advance(sp(2025, 1, 2))
        [notice] = _events(w, "subscription.price_change_scheduled")
        preview = billing_subs.subscription_preview_next_invoice(
            tenant=w.tenant, subscription_id=sub.pk
        )
        w.advance(sp(2025, 2, 1))
        year_1 = _cycle(sub, 2025, 2)
        january = _cycle(sub, 2025, 1)
        storage.refresh_from_db()
        storage_after_1 = storage.unit_amount_minor
        item_api = SubscriptionItemSerializer(storage).data["unit_amount"]
        [applied] = _events(w, "subscription.readjusted")

        _values(w, ipca, (2025, IPCA_2025))
        w.advance(sp(2026, 2, 1))
        first, second = Readjustment.objects.filter(subscription=sub).order_by("due_on")
        year_2 = _cycle(sub, 2026, 2)
        sub = w.refresh(sub)
        storage.refresh_from_db()
        storage_plan = storage.plan.public_id

    # What each readjustment decided for the add-on: (old, new) a seat.
    decided = [[(c["old"], c["new"]) for c in r.item_changes] for r in (first, second)]
    assert decided == [readjusted[:1], readjusted[1:]]
    assert {(c["item"], c["plan"], c["quantity"]) for c in first.item_changes} <= {
        (storage.public_id, "storage", 2)
    }
    # 1 Feb 2025: Pro 9 990 → 10 473 (the factor 0.04831296).
    assert (first.old_amount_minor, first.new_amount_minor, first.factor) == (
        9_990,
        10_473,
        Decimal("0.04831296"),
    )
    assert (first.status, first.applied_at) == ("applied", sp(2025, 2, 1))
    assert [c.as_json() for c in due.item_changes] == first.item_changes
    # Totals: 9 990 + 2 × 3 100 = 16 190 before; 10 473 + 2 × 3 100 = 16 673, or
    # 10 473 + 2 × 3 250 = 16 973 with add-ons.
    new_total_1 = 10_473 + 2 * storage_1
    assert (due.old_total_minor, due.new_total_minor) == (16_190, new_total_1)
    assert (notice.at, loc(notice.at)) == (sp(2025, 1, 2, 0), "2025-01-02 00:00")
    assert (
        notice.data["previous_amount"],
        notice.data["new_amount"],
        notice.data["previous_total"],
        notice.data["new_total"],
        notice.data["add_ons"],
    ) == (9_990, 10_473, 16_190, new_total_1, first.item_changes)
    # January (before the date) is billed at the old prices; February at the new ones.
    assert lines(january) == [
        ("recurring", 1, 9_990, 0, 0, 9_990),
        ("recurring", 2, 6_200, 0, 0, 6_200),
    ]
    assert lines(year_1) == [
        ("recurring", 1, 10_473, 0, 0, 10_473),
        ("recurring", 2, 2 * storage_1, 0, 0, 2 * storage_1),
    ]
    assert year_1.total_minor == new_total_1
    # What the preview showed on 2 January is what was written on 1 February.
    assert preview is not None
    assert [(ln.kind, ln.quantity, ln.amount_minor) for ln in preview.lines] == [
        (k, q, a) for k, q, a, *_ in lines(year_1)
    ]
    assert preview.totals.total_minor == year_1.total_minor
    assert (storage_after_1, item_api) == (storage_minor, storage_1)
    assert (applied.data["previous_amount"], applied.data["amount"]) == (9_990, 10_473)
    assert [
        (a["item"], a["plan"], a["previous_amount"], a["amount"])
        for a in applied.data.get("add_ons", [])
    ] == [(storage.public_id, storage_plan, old, new) for old, new in readjusted[:1]]

    # 1 Feb 2026: Pro 10 473 → 10 920 (0.04264385); Storage from its contract price.
    assert (second.old_amount_minor, second.new_amount_minor, second.factor) == (
        10_473,
        10_920,
        Decimal("0.04264385"),
    )
    assert lines(year_2) == [
        ("recurring", 1, 10_920, 0, 0, 10_920),
        ("recurring", 2, 2 * storage_2, 0, 0, 2 * storage_2),
    ]
    # 10 920 + 6 200 = 17 120, or 10 920 + 6 778 = 17 698 with add-ons.
    assert year_2.total_minor == 10_920 + 2 * storage_2
    assert sub.unit_amount_minor == 10_920
    assert storage.unit_amount == storage_2


# --- cap and floor ------------------------------------------------------------------------


def test_cap_and_floor_bound_the_add_ons_factor_too() -> None:
    # Floor 4.50 %, cap 4.70 %. 2024's 4.831296 % is capped at 4.70 %:
    # Pro 9 990 × 1.047 = 10 459.53 → 10 460; Storage 3 100 × 1.047 = 3 245.70 → 3 246.
    # 2025's 4.264385 % is raised to the 4.50 % floor:
    # Pro 10 460 × 1.045 = 10 930.70 → 10 931; Storage 3 246 × 1.045 = 3 392.07 → 3 392.
    with world(sp(2024, 2, 1)) as w:
        sub, storage = _contract(w)
        ipca = _series(w, (2024, IPCA_2024), (2025, IPCA_2025))
        _policy(
            w,
            series_id=ipca.pk,
            floor_percent=Decimal("4.50"),
            cap_percent=Decimal("4.70"),
            applies_to=ADD_ONS,
        )
        w.advance(sp(2026, 2, 1))
        got = list(Readjustment.objects.filter(subscription=sub).order_by("due_on"))
        invoices = [_cycle(sub, 2025, 2), _cycle(sub, 2026, 2)]
        storage.refresh_from_db()

    assert [
        (r.computed_factor, r.factor, r.old_amount_minor, r.new_amount_minor, r.status) for r in got
    ] == [
        (Decimal("0.04831296"), Decimal("0.04700000"), 9_990, 10_460, "applied"),
        (Decimal("0.04264385"), Decimal("0.04500000"), 10_460, 10_931, "applied"),
    ]
    assert [[(c["old"], c["new"]) for c in r.item_changes] for r in got] == [
        [(3_100, 3_246)],
        [(3_246, 3_392)],
    ]
    assert [lines(i) for i in invoices] == [
        [("recurring", 1, 10_460, 0, 0, 10_460), ("recurring", 2, 6_492, 0, 0, 6_492)],
        [("recurring", 1, 10_931, 0, 0, 10_931), ("recurring", 2, 6_784, 0, 0, 6_784)],
    ]
    assert storage.unit_amount_minor == 3_392


# --- an add-on removed before the date, one added after the notice --------------------------


def test_removed_before_the_date_is_skipped_added_after_keeps_its_list_price() -> None:
    # A fixed 5 %: Pro 9 990 × 1.05 = 10 489.50 → 10 490 (half-even: to the even
    # cent); Storage 3 100 × 1.05 = 3 255; Support (flat) 5 000 × 1.05 = 5 250.
    with world(sp(2024, 2, 1)) as w:
        support = w.plan("support", amount=5_000)
        backup = w.plan("backup", amount=2_000)
        sub, storage = _contract(w, (support, 1))
        support_item = SubscriptionItem.objects.get(subscription=sub, plan=support)
        _policy(w, method="fixed", fixed_percent=Decimal("5"), applies_to=ADD_ONS)
        w.advance(sp(2025, 1, 2))
        readjustment = Readjustment.objects.get(subscription=sub)
        decided = list(readjustment.item_changes)
        [notice] = _events(w, "subscription.price_change_scheduled")

        # After the notice: Support is removed, Backup added (nothing prorated).
        w.advance(sp(2025, 1, 10))
        billing_items.subscription_item_remove(
            tenant=w.tenant,
            subscription_id=sub.pk,
            item_id=support_item.public_id,
            actor=ACTOR,
            now=w.now,
            proration="none",
        )
        backup_item = billing_items.subscription_item_add(
            tenant=w.tenant,
            subscription_id=sub.pk,
            plan=backup,
            actor=ACTOR,
            now=w.now,
            proration="none",
        )
        preview = billing_subs.subscription_preview_next_invoice(
            tenant=w.tenant, subscription_id=sub.pk
        )
        w.advance(sp(2025, 2, 1))
        february = _cycle(sub, 2025, 2)
        [applied] = _events(w, "subscription.readjusted")
        readjustment.refresh_from_db()
        support_item.refresh_from_db()
        backup_item.refresh_from_db()
        storage.refresh_from_db()
        rows = [
            (r.plan.code, r.unit_amount_minor, r.period_amount_minor)
            for r in item_rows(tenant=w.tenant, sub=w.refresh(sub))
        ]

        # Mid-February, Storage goes from 2 seats to 3 at its contract price: the
        # period [1 Feb, 1 Mar) is 28 days, 14 remain. Credit 2 × 3 255 = 6 510
        # × 14/28 = 3 255; charge 3 × 3 255 = 9 765 × 14/28 = 4 882.50 → 4 882.
        w.advance(sp(2025, 2, 15))
        item_preview = billing_items.subscription_item_preview_update(
            tenant=w.tenant,
            subscription_id=sub.pk,
            item_id=storage.public_id,
            quantity=3,
            now=w.now,
        )
        billing_items.subscription_item_update(
            tenant=w.tenant,
            subscription_id=sub.pk,
            item_id=storage.public_id,
            quantity=3,
            actor=ACTOR,
            now=w.now,
        )
        update = Invoice.objects.prefetch_related("lines").get(
            subscription=sub, billing_reason="subscription_update", issued_at=w.now
        )

    assert decided == [
        {"item": storage.public_id, "plan": "storage", "quantity": 2, "old": 3_100, "new": 3_255},
        {
            "item": support_item.public_id,
            "plan": "support",
            "quantity": 1,
            "old": 5_000,
            "new": 5_250,
        },
    ]
    # 9 990 + 6 200 + 5 000 = 21 190 before; 10 490 + 6 510 + 5 250 = 22 250 after.
    assert (notice.data["previous_total"], notice.data["new_total"]) == (21_190, 22_250)
    # On 1 Feb: Pro 10 490, Storage 2 × 3 255, Backup at its list price 2 000 = 19 000.
    assert lines(february) == [
        ("recurring", 1, 10_490, 0, 0, 10_490),
        ("recurring", 2, 6_510, 0, 0, 6_510),
        ("recurring", 1, 2_000, 0, 0, 2_000),
    ]
    assert february.total_minor == 19_000
    assert preview is not None
    assert [ln.amount_minor for ln in preview.lines] == [10_490, 6_510, 2_000]
    assert preview.totals.total_minor == 19_000
    assert readjustment.status == "applied"
    assert [a["item"] for a in applied.data["add_ons"]] == [storage.public_id]
    assert (support_item.unit_amount_minor, support_item.ended_at) == (None, sp(2025, 1, 10))
    assert backup_item.unit_amount_minor is None
    assert storage.unit_amount_minor == 3_255
    # The subscription's add-on rows (dashboard, portal) show the contract's prices.
    assert rows == [("storage", 3_255, 6_510), ("backup", 2_000, 2_000)]
    assert lines(update) == [
        ("proration", 2, -3_255, 0, 0, -3_255),
        ("proration", 3, 4_882, 0, 0, 4_882),
    ]
    assert [ln.amount_minor for ln in item_preview.lines] == [-3_255, 4_882]
    assert item_preview.total_minor == update.total_minor == 1_627


# --- an add-on whose price moves when the recurring fee's does not ------------------------


def test_a_readjustment_that_moves_only_an_add_on_is_announced_and_applied() -> None:
    # A fixed 0.04 %: Pro 1 000 × 1.0004 = 1 000.40 → 1 000 (unchanged), but
    # Seats 25 000 × 1.0004 = 25 010: something changes, so the subscriber is told.
    with world(sp(2024, 2, 1)) as w:
        pro = w.plan("pro", amount=1_000)
        seats = w.plan("seats", amount=25_000)
        sub = w.subscribe(pro, collection_method="send_invoice", items=[(seats, 1)])
        _policy(w, method="fixed", fixed_percent=Decimal("0.04"), applies_to=ADD_ONS)
        w.advance(sp(2025, 2, 1))
        readjustment = Readjustment.objects.get(subscription=sub)
        notices = _events(w, "subscription.price_change_scheduled")
        february = _cycle(sub, 2025, 2)
        amount = contract_period_amount(tenant=w.tenant, subscription=w.refresh(sub))

    assert (readjustment.old_amount_minor, readjustment.new_amount_minor) == (1_000, 1_000)
    assert [(c["old"], c["new"]) for c in readjustment.item_changes] == [(25_000, 25_010)]
    assert readjustment.status == "applied"
    assert [(n.data["previous_total"], n.data["new_total"]) for n in notices] == [(26_000, 26_010)]
    assert [ln[2] for ln in lines(february)] == [1_000, 25_010]
    assert amount == 26_010


# --- tiered add-ons keep their tiers; the notice says the totals -------------------------


def test_a_tiered_add_on_is_not_readjusted_and_the_notice_gives_the_totals() -> None:
    # A fixed 5 %, decided at once (a year ahead): Pro 9 990 → 10 490, Storage
    # 3 100 → 3 255 a seat; Backup, graduated (1–5 at R$ 10,00 a unit), × 3 = 3 000
    # is priced per tier and keeps its prices. Totals: 9 990 + 6 200 + 3 000 =
    # 19 190 before, 10 490 + 6 510 + 3 000 = 20 000 after.
    with world(sp(2024, 2, 1)) as w:
        tiers = [
            {"up_to": 5, "unit_amount_minor": 1_000},
            {"up_to": None, "unit_amount_minor": 800},
        ]
        backup = w.plan("backup", amount=0, pricing_model="graduated", tiers=tiers)
        sub, storage = _contract(w, (backup, 3))
        _policy(w, method="fixed", fixed_percent=Decimal("5"), applies_to=ADD_ONS)
        [due] = readjustments_due(tenant=w.tenant, now=w.now, days=400)
        readjustment = subs.readjustment_schedule(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now
        ).readjustment
        [notice] = _events(w, "subscription.price_change_scheduled")
        context = build_context(
            event=notice,
            template="price_change",
            customer=sub.customer,
            tenant=w.tenant,
            language="en",
        )

    assert [(c["item"], c["old"], c["new"]) for c in readjustment.item_changes] == [
        (storage.public_id, 3_100, 3_255)
    ]
    assert (due.old_total_minor, due.new_total_minor) == (19_190, 20_000)
    assert (notice.data["previous_total"], notice.data["new_total"]) == (19_190, 20_000)
    assert (context["plan_amount"], context["new_amount"]) == ("R$191.90", "R$200.00")


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("applies_to", ["everything", "", "add_ons", None, 1, ["recurring"], True])
def test_an_unknown_applies_to_is_refused_and_nothing_changes(applies_to: Any) -> None:
    with world(sp(2024, 2, 1)) as w:
        w.plan("pro", amount=9_990)
        _policy(w, method="fixed", fixed_percent=Decimal("5"))
        with pytest.raises(ValidationFailed) as refused:
            _policy(w, method="fixed", fixed_percent=Decimal("9"), applies_to=applies_to)
        policy = ReadjustmentPolicy.objects.get()

    assert refused.value.param == "applies_to"
    assert (policy.fixed_percent, policy.applies_to) == (Decimal("5"), "recurring")
