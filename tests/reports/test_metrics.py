"""The metrics of reports/README.md on the hand-computed business of
``tests/reports/fixtures.py`` (numbers worked out there and below)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports import selectors
from reports.models import MrrMovement
from reports.movements import subscription_mrr
from reports.snapshots import snapshot_build
from subscriptions.models import Subscription
from tests.reports.fixtures import business
from tests.scenarios.helpers_lifecycle import sp

pytestmark = pytest.mark.django_db

JAN, APR_END = date(2026, 1, 1), date(2026, 4, 30)
MOVES = ("new", "expansion", "contraction", "churn", "reactivation")


def _monthly(b, currency="BRL"):  # type: ignore[no-untyped-def]
    return selectors.series(
        tenant=b.w.tenant, currency=currency, start=JAN, end=APR_END, grain="month", now=b.w.now
    )


def _compact(series):  # type: ignore[no-untyped-def]
    return [
        (str(r["period"]), *(r[k] for k in MOVES), r["mrr"], r["customers"]) for r in series.rows
    ]


EXPECTED_BRL = [
    # period,      new,    exp,     contr,   churn,   react,  MRR,    customers
    ("2026-01-01", 75_000, 0, 0, 0, 0, 75_000, 6),
    ("2026-02-01", 0, 15_000, -10_000, -10_000, 0, 70_000, 5),
    ("2026-03-01", 0, 10_000, -15_000, 0, 0, 65_000, 5),
    ("2026-04-01", 0, 0, 0, 0, 10_000, 75_000, 6),
]


def test_the_five_movements_per_month_add_up_to_the_mrr() -> None:
    with business() as b:
        brl = _monthly(b)
        usd = _monthly(b, "USD")
        kinds = list(
            MrrMovement.objects.filter(tenant=b.w.tenant, currency="BRL")
            .order_by("at", "id")
            .values_list("customer__name", "kind", "delta_minor")
        )

    assert _compact(brl) == EXPECTED_BRL
    assert kinds == [
        ("Ana", "new", 10_000),
        ("Bruno", "new", 25_000),
        ("Carla", "new", 10_000),
        ("Davi", "new", 10_000),
        ("Eva", "new", 10_000),  # annual: 120_000 / 12
        ("Fábio", "new", 10_000),  # the trial converts on Jan 19
        ("Carla", "contraction", -10_000),  # paused Feb 5
        ("Davi", "churn", -10_000),
        ("Ana", "expansion", 15_000),
        ("Bruno", "contraction", -15_000),
        ("Carla", "expansion", 10_000),  # resumed Mar 5
        ("Davi", "reactivation", 10_000),
    ]
    # Each currency apart: Hana's US$50.00 never mixes with the reais.
    assert _compact(usd) == [
        ("2026-01-01", 5_000, 0, 0, 0, 0, 5_000, 1),
        ("2026-02-01", 0, 0, 0, 0, 0, 5_000, 1),
        ("2026-03-01", 0, 0, 0, 0, 0, 5_000, 1),
        ("2026-04-01", 0, 0, 0, 0, 0, 5_000, 1),
    ]


def test_every_fixture_movements_sum_to_the_change_of_mrr_at_every_grain() -> None:
    with business() as b:
        results = {
            grain: selectors.series(
                tenant=b.w.tenant,
                currency="BRL",
                start=date(2026, 1, 3),
                end=APR_END,
                grain=grain,
                now=b.w.now,
            )
            for grain in selectors.GRAINS
        }
        subs = list(Subscription.objects.filter(tenant=b.w.tenant).select_related("plan"))
        logged = {
            s.pk: sum(
                MrrMovement.objects.filter(subscription=s).values_list("delta_minor", flat=True)
            )
            for s in subs
        }

    for grain, result in results.items():
        previous = result.opening.mrr
        for row in result.rows:
            assert sum(row[k] for k in MOVES) == row["net_new"] == row["mrr"] - previous, grain
            previous = row["mrr"]
        assert result.rows[-1]["mrr"] == 75_000
    # And the log agrees with each subscription's MRR now.
    for s in subs:
        assert logged[s.pk] == subscription_mrr(
            plan=s.plan, quantity=s.quantity, status=s.status
        ), s.customer_id


def test_churn_retention_and_ratios_in_february() -> None:
    with business(until_april=False) as b:
        feb = _monthly(b).rows[1]

    # Customers at Feb 1: 6; Davi (paying since Jan) lost → 1/6.
    assert feb["logo_churn"] == Decimal("0.1667")
    # (churn 10_000 + contraction 10_000) / MRR at start 75_000
    assert feb["gross_mrr_churn"] == Decimal("0.2667")
    # (20_000 − expansion 15_000 − reactivation 0) / 75_000
    assert feb["net_mrr_churn"] == Decimal("0.0667")
    assert feb["grr"] == Decimal("0.7333")
    assert feb["nrr"] == Decimal("0.9333")
    # (new 0 + expansion 15_000 + reactivation 0) / (churn + contraction 20_000)
    assert feb["quick_ratio"] == Decimal("0.7500")
    # ARPU = 70_000 / 5 customers; LTV = ARPU / logo churn = 14_000 / 0.1667
    assert feb["arpu"] == Decimal("14000.0000")
    assert feb["ltv"] == Decimal("83983.2034")
    assert feb["arr"] == 12 * 70_000


def test_trials_two_started_one_converted() -> None:
    with business(until_april=False) as b:
        jan = _monthly(b).rows[0]

    assert (jan["trials_started"], jan["trials_ended"], jan["trials_converted"]) == (2, 2, 1)
    assert jan["trial_conversion"] == Decimal("0.5000")


def test_cohorts_january_keeps_five_of_six_then_six() -> None:
    with business() as b:
        rows = selectors.cohorts(tenant=b.w.tenant, currency="BRL", start=JAN, end=APR_END)

    # One cohort (everyone first paid in January): 6 customers, 75_000.
    assert [
        (str(r["cohort"]), r["months_since"], r["customers"], r["mrr"], r["customer_retention"])
        for r in rows
    ] == [
        ("2026-01-01", 0, 6, 75_000, Decimal("1.0000")),
        ("2026-01-01", 1, 5, 70_000, Decimal("0.8333")),
        ("2026-01-01", 2, 5, 65_000, Decimal("0.8333")),
        ("2026-01-01", 3, 6, 75_000, Decimal("1.0000")),  # Davi came back
    ]
    assert rows[2]["mrr_retention"] == Decimal("0.8667")  # 65_000 / 75_000


def test_the_snapshot_serves_the_same_numbers_and_rebuilds_days_written_late() -> None:
    with business(until_april=False) as b:
        live = _compact(_monthly(b))
        # A snapshot taken on Mar 10 (real time) covers up to Mar 9, while the
        # test clock is still at Mar 2: Carla's resumption (Mar 5) and Davi's
        # return (Apr 2) are written after it.
        written = snapshot_build(tenant=b.w.tenant, now=sp(2026, 3, 10, 12))
        from_snapshot = _compact(_monthly(b))
        b.w.advance(sp(2026, 4, 2, 12))
        b.subs["Davi again"] = b.w.subscribe(
            b.subs["Davi"].plan, b.customers["Davi"], collection_method="send_invoice"
        )
        # Mar 5 got news after it was covered: the days from Mar 5 are read live.
        dirty = selectors.covered_through(tenant=b.w.tenant)
        after = _compact(_monthly(b))
        snapshot_build(tenant=b.w.tenant, now=sp(2026, 4, 3, 12))
        rebuilt = selectors.covered_through(tenant=b.w.tenant)
        after_rebuild = _compact(_monthly(b))

    assert written > 0
    assert from_snapshot == live
    assert dirty == date(2026, 3, 4)
    assert after == after_rebuild == EXPECTED_BRL
    assert rebuilt == date(2026, 4, 2)


def test_revenue_by_plan_counts_invoiced_recurring_revenue() -> None:
    with business(until_april=False) as b:
        rows = selectors.revenue_by_plan(tenant=b.w.tenant, currency="BRL", start=JAN, end=APR_END)

    by_plan = {r["plan"]: r["revenue"] for r in rows}
    # Eva's annual invoice (120_000) is the largest single line.
    assert by_plan["annual"] == 120_000
    assert rows[0]["plan"] in {"annual", "basic", "pro"}


def test_deleting_the_test_clock_takes_its_movements_and_the_snapshot_rebuilds() -> None:
    from billing.clocks import clock_delete
    from tests.support.billing import ACTOR

    with business(until_april=False) as b:
        snapshot_build(tenant=b.w.tenant, now=sp(2026, 3, 10, 12))
        now = b.w.now
        clock_delete(tenant=b.w.tenant, clock_id=b.w.clock.pk, actor=ACTOR, now=now)
        left = MrrMovement.objects.filter(tenant=b.w.tenant).count()
        # Every day from the first deleted movement on is read live again.
        through = selectors.covered_through(tenant=b.w.tenant)
        rows = selectors.series(
            tenant=b.w.tenant, currency="BRL", start=JAN, end=APR_END, grain="month", now=now
        ).rows

    assert left == 0
    assert through == date(2026, 1, 4)
    assert [r["mrr"] for r in rows] == [0, 0, 0, 0]


def test_one_clock_jump_over_a_pause_and_its_end_logs_both_on_their_days() -> None:
    from tests.scenarios.helpers_lifecycle import pause
    from tests.support.billing import world

    with world(sp(2026, 1, 5, 12)) as w:
        plan = w.plan("pausable", 10_000, max_pauses=1, max_pause_cycles=1)
        sub = w.subscribe(plan, w.customer("Carla"), collection_method="send_invoice")
        pause(w, sub, cycles=1)
        # One advance runs Feb 5 (paused) and Mar 5 (resumed) in one batch.
        w.advance(sp(2026, 3, 20, 12))
        logged = list(
            MrrMovement.objects.order_by("at", "id").values_list("day", "kind", "delta_minor")
        )

    assert logged == [
        (date(2026, 1, 5), "new", 10_000),
        (date(2026, 2, 5), "contraction", -10_000),
        (date(2026, 3, 5), "expansion", 10_000),
    ]


def test_the_beat_task_snapshots_every_tenant_up_to_yesterday() -> None:
    from core import clock
    from core.localtime import to_local
    from reports.tasks import snapshot_task

    with business() as b:
        live = _compact(_monthly(b))
        written = snapshot_task()
        again = snapshot_task()  # idempotent: nothing left to write
        through = selectors.covered_through(tenant=b.w.tenant)
        served = _compact(_monthly(b))
        yesterday = to_local(clock.now(), b.w.tenant.time_zone).date().toordinal() - 1

    assert written > 0
    assert again == 0
    assert through is not None
    assert through.toordinal() == yesterday
    assert served == live == EXPECTED_BRL
