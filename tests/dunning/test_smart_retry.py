"""Smart retries: each card retry moves to the (weekday, hour) where the
tenant's own history shows the best success rate, within its day and the next
two (never past the next step); with too little history, the fixed schedule.

Thresholds (dunning/domain.py): at least 100 settled card attempts in the last
180 days, and at least 10 in the chosen bucket. São Paulo times; the case's
invoice is due on Wednesday 2026-03-04 at 12:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from billing.models import Invoice, PaymentAttempt
from dunning.domain import MIN_BUCKET, MIN_HISTORY, Attempted, StepSpec, plan_schedule, smart_slot
from dunning.models import DunningCase, DunningPolicy
from dunning.services import dunning_policy_update
from tests.dunning.helpers import DECLINED_CARD, attach_card
from tests.scenarios.helpers_lifecycle import TZ, loc, sp
from tests.support.billing import ACTOR, World, world

DUE = sp(2026, 3, 4, 12)  # a Wednesday


def history(*buckets: tuple[datetime, int, int]) -> list[Attempted]:
    """(a moment, successes, failures): that many attempts on the same weekday
    and hour, one week apart going back."""
    return [
        Attempted(moment - timedelta(weeks=i % 20), i < won)
        for moment, won, lost in buckets
        for i in range(won + lost)
    ]


# Monday 10:00, 30 %; Thursday 09:00 (the fixed D+1 slot), 25 %; Friday 14:00, 90 %;
# Sunday 10:00, 100 % (in D+3's window, not D+1's); Thursday 15:00, 9 of 9 (too few).
RICH = history(
    (sp(2026, 2, 23, 10), 30, 70),
    (sp(2026, 2, 26, 9), 5, 15),
    (sp(2026, 2, 27, 14), 18, 2),
    (sp(2026, 3, 1, 10), 20, 0),
    (sp(2026, 2, 26, 15), 9, 0),
)
CARD = [StepSpec(d, "retry", ("email",), "dunning_payment_failed") for d in (1, 3, 5, 7)] + [
    StepSpec(15, "cancel")
]


def test_each_retry_goes_to_the_best_slot_of_its_window() -> None:
    plan = plan_schedule(
        steps=CARD, due_at=DUE, run_hour=9, tz=TZ, opened_at=DUE, smart_retry=True, history=RICH
    )

    assert len(RICH) == 169 >= MIN_HISTORY
    assert [(loc(p.scheduled_at), p.smart) for p in plan] == [
        ("2026-03-06 14:00", True),  # D+1: Friday 14:00 (90 %) beats Thursday 09:00 (25 %)
        ("2026-03-08 10:00", True),  # D+3: Sunday 10:00, before D+5 (Monday 09:00)
        ("2026-03-09 10:00", True),  # D+5: Monday 10:00, the only known slot of Mon–Wed
        ("2026-03-13 14:00", True),  # D+7: Friday 14:00 again (Thursday 15:00 has too few)
        ("2026-03-19 09:00", False),  # the cancel never moves
    ]


def test_a_bucket_with_too_few_attempts_is_not_trusted() -> None:
    slot = smart_slot(
        fixed=sp(2026, 3, 5, 9),
        history=RICH,
        tz=TZ,
        after=DUE,
        before=sp(2026, 3, 6, 0),  # Thursday only: 09:00 (25 %, 20 tries) or 15:00 (9 of 9)
    )

    assert MIN_BUCKET == 10
    assert slot == sp(2026, 3, 5, 9)


def test_too_little_history_keeps_the_fixed_schedule() -> None:
    thin = RICH[: MIN_HISTORY - 1]

    plan = plan_schedule(
        steps=CARD, due_at=DUE, run_hour=9, tz=TZ, opened_at=DUE, smart_retry=True, history=thin
    )

    assert [(loc(p.scheduled_at), p.smart) for p in plan] == [
        ("2026-03-05 09:00", False),
        ("2026-03-07 09:00", False),
        ("2026-03-09 09:00", False),
        ("2026-03-11 09:00", False),
        ("2026-03-19 09:00", False),
    ]


def _seed_history(w: World, items: list[Attempted]) -> None:
    """Settled card charges of another customer: the tenant's own history."""
    customer = w.customer("History")
    method = attach_card(w, customer, "4242424242424242")
    invoice = Invoice.objects.create(
        tenant=w.tenant, customer=customer, currency="BRL", billing_reason="manual"
    )
    PaymentAttempt.objects.bulk_create(
        [
            PaymentAttempt(
                tenant=w.tenant,
                invoice=invoice,
                number=i + 1,
                payment_method=method,
                gateway="sandbox",
                idempotency_key=f"history:{i}",
                amount_minor=1_000,
                currency="BRL",
                status="succeeded" if item.succeeded else "failed",
                created_at=item.at,
                settled_at=item.at,
            )
            for i, item in enumerate(items)
        ]
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("items", "first_retry", "smart"),
    [
        pytest.param(RICH, "2026-03-06 14:00", True, id="rich-history"),
        pytest.param(RICH[:50], "2026-03-05 09:00", False, id="thin-history"),
    ],
)
def test_a_smart_policy_retries_at_the_chosen_moment(
    items: list[Attempted], first_retry: str, smart: bool
) -> None:
    with world(DUE) as w:
        card = DunningPolicy.objects.get(tenant=w.tenant, payment_method_kind="card")
        dunning_policy_update(
            tenant=w.tenant, policy_id=card.pk, actor=ACTOR, now=DUE, smart_retry=True
        )
        _seed_history(w, items)
        customer = w.customer()
        attach_card(w, customer, DECLINED_CARD)
        sub = w.subscribe(w.plan(amount=9_990), customer)
        case = DunningCase.objects.get(subscription=sub)
        run = case.runs.order_by("position").first()
        scheduled = (loc(run.scheduled_at), run.smart, loc(case.next_run_at))

        w.advance(sp(2026, 3, 6, 15))
        retries = [
            loc(a.created_at)
            for a in PaymentAttempt.objects.filter(invoice=case.invoice, number__gt=1)
        ]

    assert scheduled == (first_retry, smart, first_retry)
    assert retries == [first_retry]
