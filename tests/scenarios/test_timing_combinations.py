"""Where issue 16's features meet: add-ons and introductory phases are for plans
billed in advance.

An in-arrears period is invoiced at its end (``bill_period_used``) and prices
the evergreen fee; add-ons and an intro phase are priced with each period's
start. Rather than mix both timings on one invoice, the combinations are
refused with a clear error and nothing changes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import items as billing_items
from billing import subscriptions as billing_subs
from billing.models import Invoice
from billing.run import billing_run
from core.errors import ValidationFailed
from customers.models import Customer
from subscriptions import services as subs
from subscriptions.models import Plan, Subscription, SubscriptionItem
from tenants.context import tenant_context
from tests.scenarios.helpers_lifecycle import change, sp, state
from tests.support.billing import ACTOR, world


def test_an_add_on_on_an_in_arrears_subscription_is_refused(db):
    # Given an in-arrears subscription, and an in-advance subscription
    with world(sp(2026, 1, 15, 12)) as w:
        arrears = w.plan("metered", amount=10_000, billing_timing="in_arrears")
        advance = w.plan("basic", amount=10_000)
        addon = w.plan("storage", amount=3_100)
        arrears_addon = w.plan("support", amount=2_000, billing_timing="in_arrears")
        late = w.subscribe(arrears, collection_method="send_invoice")
        early = w.subscribe(advance, collection_method="send_invoice")
        invoices = len(w.invoices())
        # When an add-on is added to the first, and an in-arrears add-on to the second
        for sub, plan in ((late, addon), (early, arrears_addon)):
            with pytest.raises(ValidationFailed) as err:
                billing_items.subscription_item_add(
                    tenant=w.tenant, subscription_id=sub.pk, plan=plan, actor=ACTOR, now=w.now
                )
            # Then each is refused, naming the plan
            assert (err.value.code, err.value.param) == ("item_in_arrears", "plan")
        assert SubscriptionItem.objects.count() == 0
        assert len(w.invoices()) == invoices


def test_a_subscription_with_add_ons_cannot_move_to_an_in_arrears_plan(db):
    # Given an in-advance subscription with an add-on
    with world(sp(2026, 1, 15, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        metered = w.plan("metered", amount=20_000, billing_timing="in_arrears")
        storage = w.plan("storage", amount=3_100)
        sub = w.subscribe(basic, collection_method="send_invoice")
        billing_items.subscription_item_add(
            tenant=w.tenant, subscription_id=sub.pk, plan=storage, actor=ACTOR, now=w.now
        )
        before = state(w, sub)
        invoices = len(w.invoices())
        # When it is moved to the in-arrears plan at the period's end
        with pytest.raises(ValidationFailed) as err:
            change(w, sub, plan=metered, when="period_end")
        # Then it is refused and nothing changed
        assert (err.value.code, err.value.param) == ("arrears_change_with_items", "plan")
        assert state(w, sub) == before
        assert len(w.invoices()) == invoices
        assert not sub.scheduled_changes.filter(status="pending").exists()


def test_an_intro_phase_on_an_in_arrears_plan_is_refused(db):
    with world(sp(2026, 1, 15, 12)) as w:
        # When an in-arrears plan is created with an intro phase
        with pytest.raises(ValidationFailed) as created:
            w.plan(
                "metered",
                amount=10_000,
                billing_timing="in_arrears",
                intro_amount_minor=990,
                intro_cycles=3,
            )
        # Then it is refused and no plan exists
        assert created.value.code == "intro_in_arrears"
        assert not Plan.objects.filter(code="metered").exists()

        # Given an unused in-advance plan with an intro phase, and an in-arrears plan
        intro = w.plan("intro", amount=10_000, intro_amount_minor=990, intro_cycles=3)
        late = w.plan("late", amount=10_000, billing_timing="in_arrears")
        # When the first is switched to in arrears, and the second is given a phase
        with pytest.raises(ValidationFailed) as switched:
            subs.plan_update(
                tenant=w.tenant,
                plan_id=intro.pk,
                changes={"billing_timing": "in_arrears"},
                actor=ACTOR,
                now=w.now,
            )
        with pytest.raises(ValidationFailed) as priced:
            subs.plan_change_price(
                tenant=w.tenant,
                plan_id=late.pk,
                amount_minor=10_000,
                intro=(990, 3),
                actor=ACTOR,
                now=w.now,
            )
        # Then both are refused and neither plan changed
        assert (switched.value.code, switched.value.param) == ("intro_in_arrears", "billing_timing")
        assert priced.value.code == "intro_in_arrears"
        intro.refresh_from_db()
        late.refresh_from_db()
        assert (intro.billing_timing, intro.intro_cycles) == ("in_advance", 3)
        assert (late.intro_amount_minor, late.intro_cycles) == (None, 0)


def _mixed_batch(slug: str, count: int) -> tuple[object, list[Subscription]]:
    """``count`` live in-advance subscriptions: every other one on a plan in its
    introductory phase, every other one with an add-on (so all four mixes)."""
    start = sp(2026, 1, 15, 12)
    with world(start, slug=slug) as w:
        basic = w.plan("basic", amount=10_000)
        intro = w.plan("intro", amount=10_000, intro_amount_minor=990, intro_cycles=3)
        storage = w.plan("storage", amount=3_100)
        subs_ = [
            billing_subs.subscription_create(
                tenant=w.tenant,
                customer=Customer.objects.create(tenant=w.tenant, name=f"Live {i}"),
                plan=intro if i % 2 else basic,
                actor=ACTOR,
                now=start,
                collection_method="send_invoice",
            )
            for i in range(count)
        ]
        for sub in subs_[(count // 2) :]:
            billing_items.subscription_item_add(
                tenant=w.tenant, subscription_id=sub.pk, plan=storage, actor=ACTOR, now=start
            )
        return w.tenant, subs_


def test_the_billing_run_stays_set_based_with_add_ons_and_intro_phases(db):
    # Given two tenants with 4 and 16 due subscriptions mixing intro phases and add-ons
    small, _ = _mixed_batch("small", 4)
    large, large_subs = _mixed_batch("large", 16)
    due = sp(2026, 2, 15, 12) + timedelta(minutes=1)
    # When the billing run renews each in one batch
    with CaptureQueriesContext(connection) as few:
        billing_run(now=due, tenant=small)
    with CaptureQueriesContext(connection) as many:
        billing_run(now=due, tenant=large)
    # Then four times the subscriptions cost the same statements
    assert len(many.captured_queries) == len(few.captured_queries)
    with tenant_context(large):
        renewals = Invoice.objects.filter(
            subscription__in=large_subs, billing_reason="subscription_cycle"
        )
        totals = sorted(renewals.values_list("total_minor", flat=True))
    # 4 basic (10000), 4 basic + storage (13100), 4 intro "2 of 3" (990),
    # 4 intro + storage (990 + 3100 = 4090).
    assert totals == [990] * 4 + [4_090] * 4 + [10_000] * 4 + [13_100] * 4
