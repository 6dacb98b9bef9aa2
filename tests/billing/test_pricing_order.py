"""A batch's invoices are drafted in the order the engine decided them, one at a time."""

from __future__ import annotations

from billing.models import Invoice
from tests.support.billing import utc, world


def test_renewals_of_one_batch_are_numbered_in_the_engines_order(db: None) -> None:
    start = utc(2026, 3, 10, 12)
    with world(start) as w:
        plan = w.plan(amount=5_000)
        subs = [w.subscribe(plan, customer=w.customer(f"Customer {i}")) for i in range(5)]
        w.advance(utc(2026, 4, 10, 13))  # all five renew at the same moment, in one batch
        renewals = list(
            Invoice.objects.filter(billing_reason=Invoice.Reason.SUBSCRIPTION_CYCLE)
            .order_by("subscription_id")
            .values_list("subscription_id", "number")
        )

    assert [sub_id for sub_id, _ in renewals] == sorted(s.pk for s in subs)
    numbers = [number for _, number in renewals]
    assert numbers == sorted(numbers), "drafted out of the engine's order"
