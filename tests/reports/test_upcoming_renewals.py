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
