"""The renewing-soon list prices each contract as it will renew: a readjusted
contract (issue 17) at its own unit price, the others at the plan's."""

from __future__ import annotations

import pytest

from reports import selectors
from subscriptions.models import Subscription
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import world

pytestmark = pytest.mark.django_db


def test_a_readjusted_contract_renews_at_its_own_price() -> None:
    with world(sp(2026, 3, 1, 12)) as w:
        plan = w.plan("seats", amount=2_500, pricing_model="per_seat")
        listed = w.subscribe(plan, w.customer("Ana"), quantity=4)
        readjusted = w.subscribe(plan, w.customer("Bia"), quantity=4)
        # Both paid (active); a readjustment leaves 2 500 × 1.0464 = 2 616 on one contract.
        Subscription.objects.filter(pk__in=[listed.pk, readjusted.pk]).update(status="active")
        Subscription.objects.filter(pk=readjusted.pk).update(unit_amount_minor=2_616)

        # Ten days in, both renew on Apr 1, inside the next 30 days.
        rows = selectors.upcoming_renewals(tenant=w.tenant, currency="BRL", now=sp(2026, 3, 10))

    amounts = {r["subscription"]: r["amount"] for r in rows}
    assert amounts == {listed.public_id: 10_000, readjusted.public_id: 10_464}  # 4 × 2 616


def test_a_contract_with_addons_renews_with_them_but_one_whose_term_is_served() -> None:
    with world(sp(2026, 3, 1, 12)) as w:
        basic = w.plan("basic", amount=10_000)
        storage = w.plan("storage", amount=3_100, pricing_model="per_seat")
        onboarding = w.plan("onboarding", amount=2_000, term_cycles=1)
        backup = w.plan("backup", amount=1_000, term_cycles=3)
        sub = w.subscribe(
            basic,
            w.customer("Ana"),
            items=[(storage, 2), (onboarding, 1), (backup, 1)],
            collection_method="send_invoice",
        )
        Subscription.objects.filter(pk=sub.pk).update(status="active")

        rows = selectors.upcoming_renewals(tenant=w.tenant, currency="BRL", now=sp(2026, 3, 10))

    # Apr 1: basic 10 000 + storage 2 × 3 100 + backup 1 000 (2 periods to go); onboarding
    # has served its one period (billed Mar 1) and ends there.
    assert [r["amount"] for r in rows] == [17_200]
