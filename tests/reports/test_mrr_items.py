"""Add-ons (issue 16 item 4) in MRR: a live item's recurring amount, for its
quantity, normalised to a month like the base plan's; an ended item counts no more.
Every number below is worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from billing import items as billing_items
from billing import subscriptions as billing_subs
from reports import selectors
from reports.models import MrrMovement
from reports.movements import subscription_mrr
from subscriptions.models import Plan, SubscriptionItem
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import ACTOR, world


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


def test_items_add_their_amount_for_their_quantity_normalised_like_the_base() -> None:
    seats = _plan(pricing_model="per_seat", amount_minor=2_500)
    support = _plan(amount_minor=4_650)
    # Monthly: 10_000 + 3 × 2_500 + 4_650 = 22_150.
    assert (
        subscription_mrr(
            plan=_plan(), quantity=1, status="active", items=[(seats, 3, None), (support, 1, None)]
        )
        == 22_150
    )
    # Annual: (120_000 + 2 × 6_000) / 12 = 11_000.
    yearly_seats = _plan(interval="year", pricing_model="per_seat", amount_minor=6_000)
    assert (
        subscription_mrr(
            plan=_plan(interval="year", amount_minor=120_000),
            quantity=1,
            status="active",
            items=[(yearly_seats, 2, None)],
        )
        == 11_000
    )
    # Weekly: (1_000 + 2 × 150) × 52 / 12 = 5_633.33 → 5_633. Rounded once on the
    # sum: 1 + 1 a week → 2 × 52 / 12 = 8.67 → 9 (rounded apart, 4 + 4 = 8).
    weekly = _plan(interval="week", amount_minor=1_000)
    weekly_seat = _plan(interval="week", pricing_model="per_seat", amount_minor=150)
    assert subscription_mrr(
        plan=weekly, quantity=1, status="active", items=[(weekly_seat, 2, None)]
    ) == (5_633)
    tiny = _plan(interval="week", amount_minor=1)
    assert subscription_mrr(plan=tiny, quantity=1, status="active", items=[(tiny, 1, None)]) == 9
    # Not in MRR, the add-ons neither.
    for status in ("trialing", "paused", "incomplete", "canceled", "ended"):
        assert (
            subscription_mrr(plan=_plan(), quantity=1, status=status, items=[(seats, 3, None)]) == 0
        )


@pytest.mark.django_db
def test_the_mrr_log_follows_items_added_requantified_removed_and_ended() -> None:
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100, pricing_model="per_seat")
        support = w.plan("support", amount=4_650)
        onboarding = w.plan("onboarding", amount=2_000, term_cycles=1)
        # Jan 15: basic + 2 seats of storage + onboarding (one period).
        sub = w.subscribe(
            basic, items=[(storage, 2), (onboarding, 1)], collection_method="send_invoice"
        )
        items = {i.plan.code: i for i in SubscriptionItem.objects.filter(subscription=sub)}

        def act(call, **kw):  # type: ignore[no-untyped-def]
            return call(tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **kw)

        # Feb 1: support added; Feb 5: storage to 3 seats; Feb 10: support removed.
        w.advance(sp(2026, 2, 1, 12))
        added = act(billing_items.subscription_item_add, plan=support)
        w.advance(sp(2026, 2, 5, 12))
        act(
            billing_items.subscription_item_update,
            item_id=items["storage"].public_id,
            quantity=3,
        )
        w.advance(sp(2026, 2, 10, 12))
        act(billing_items.subscription_item_remove, item_id=added.public_id)
        # Feb 15: onboarding's one-period term is served; it ends. Mar 1: canceled now.
        w.advance(sp(2026, 2, 20, 0))
        feb = selectors.series(
            tenant=w.tenant,
            currency="BRL",
            start=date(2026, 1, 1),
            end=date(2026, 2, 28),
            grain="month",
            now=w.now,
        )
        w.advance(sp(2026, 3, 1, 12))
        act(billing_subs.subscription_cancel)
        logged = list(
            MrrMovement.objects.filter(subscription=sub)
            .order_by("at", "id")
            .values_list("event_type", "kind", "delta_minor", "mrr_after_minor")
        )

    # Jan 15: 10_000 + 2 × 3_100 + 2_000 = 18_200 (new business).
    # Feb 1: + 4_650 = 22_850. Feb 5: + 3_100 = 25_950. Feb 10: − 4_650 = 21_300.
    # Feb 15: onboarding ends, − 2_000 = 19_300. Mar 1: canceled, all of it churns.
    assert logged == [
        ("subscription.created", "new", 18_200, 18_200),
        ("subscription.item_added", "expansion", 4_650, 22_850),
        ("subscription.item_updated", "expansion", 3_100, 25_950),
        ("subscription.item_removed", "contraction", -4_650, 21_300),
        ("subscription.item_ended", "contraction", -2_000, 19_300),
        ("subscription.canceled", "churn", -19_300, 0),
    ]
    jan, feb_row = feb.rows
    assert (jan["mrr"], feb_row["mrr"]) == (18_200, 19_300)
    assert (feb_row["expansion"], feb_row["contraction"]) == (7_750, -6_650)


def test_a_readjusted_add_on_counts_at_its_own_price() -> None:
    # Given storage at R$31.00 a seat, readjusted to R$32.50 on this contract
    seats = _plan(amount_minor=3_100, pricing_model="per_seat")
    # Then 3 seats count 97.50 beside the base plan's 100.00, not 93.00
    assert (
        subscription_mrr(plan=_plan(), quantity=1, status="active", items=[(seats, 3, 3_250)])
        == 10_000 + 9_750
    )
    # And no own price (None) is the plan's
    assert (
        subscription_mrr(plan=_plan(), quantity=1, status="active", items=[(seats, 3, None)])
        == 10_000 + 9_300
    )
