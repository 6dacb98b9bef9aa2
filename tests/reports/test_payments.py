"""Payments and recovery on a card declined at renewal and recovered by dunning
(the régua of tests/dunning/test_card_dunning.py), through the real services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports import selectors
from tests.dunning.helpers import DECLINED_CARD, GOOD_CARD, attach_card
from tests.scenarios.helpers_lifecycle import sp
from tests.support.billing import world

pytestmark = pytest.mark.django_db(transaction=True)
MOVES = ("new", "expansion", "contraction", "churn", "reactivation")


def test_failed_then_recovered_payment() -> None:
    with world(sp(2026, 1, 5, 12)) as w:
        customer = w.customer()
        attach_card(w, customer, GOOD_CARD)
        w.subscribe(w.plan(amount=9_990), customer)  # paid at once: attempt 1 succeeds
        attach_card(w, customer, DECLINED_CARD)
        # The Feb 5 renewal is declined, and the D+1, D+3, D+5 retries too
        w.advance(sp(2026, 2, 11, 10))
        waiting = selectors.awaiting_retry(tenant=w.tenant, currency="BRL")
        attach_card(w, customer, GOOD_CARD)
        # … the D+7 retry (Feb 12) pays.
        w.advance(sp(2026, 3, 1, 12))
        kw = {"tenant": w.tenant, "currency": "BRL", "start": date(2026, 1, 1)}
        months = selectors.series(**kw, end=date(2026, 2, 28), grain="month", now=w.now)
        methods = selectors.payments_by_method(**kw, end=date(2026, 2, 28))
        declines = selectors.declines_by_code(**kw, end=date(2026, 2, 28))
        recovered = selectors.recovery(**kw, end=date(2026, 2, 28))
        after = selectors.awaiting_retry(tenant=w.tenant, currency="BRL")

    jan, feb = months.rows
    # MRR: 9_990 from Jan 5; past due in February still counts: no movement.
    assert (jan["new"], jan["mrr"], feb["net_new"], feb["mrr"]) == (9_990, 9_990, 0, 9_990)
    # Jan: 1 attempt, paid. Feb: 4 declined (Feb 5, 6, 8, 10) and 1 paid (Feb 12).
    assert (jan["payments_succeeded"], jan["payments_failed"]) == (1, 0)
    assert (feb["payments_succeeded"], feb["payments_failed"]) == (1, 4)
    assert feb["payment_success_rate"] == Decimal("0.2000")
    assert (feb["dunning_opened"], feb["dunning_recovered"], feb["recovered"]) == (1, 1, 9_990)
    assert feb["recovery_rate"] == Decimal("1.0000")
    # Over both months: card 2 paid of 6 tries.
    assert methods == [
        {
            "method": "card",
            "attempts": 6,
            "succeeded": 2,
            "failed": 4,
            "success_rate": Decimal("0.3333"),
            "paid": 19_980,
        }
    ]
    assert [(d["code"], d["failed"], d["share_of_attempts"]) for d in declines] == [
        ("insufficient_funds", 4, Decimal("0.6667"))
    ]
    assert [(r["opened"], r["recovered"], r["recovered_revenue"]) for r in recovered] == [
        (1, 1, 9_990)
    ]
    assert [(r["method"], r["amount_due"]) for r in waiting] == [("card", 9_990)]
    assert after == []
    # The movements add up to the change of MRR here too.
    for row, previous in ((jan, 0), (feb, jan["mrr"])):
        assert sum(row[k] for k in MOVES) == row["mrr"] - previous
