"""Readjustment (reajuste) end to end on a test clock: the policy, the notice
N days before (once), the new price from the next period, the history, the MRR
log following the new price; a missing index month makes it wait."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from core.errors import NotFound, StateConflict, ValidationFailed
from customers.models import Customer
from notifications.models import MessageDelivery
from notifications.outbox import dispatch_pending
from reports.models import MrrMovement
from subscriptions import services as subs
from subscriptions.models import IndexValue, Readjustment, ReadjustmentPolicy
from subscriptions.selectors import readjustments_due
from subscriptions.services.readjustment import CsvImportError
from tenants.models import Event
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db

START = utc(2023, 2, 1, 15)  # 12:00 in São Paulo; the contract's anniversary is 1 February
# IPCA 2023 (IBGE), compounded: +4.6211 % (tests/subscriptions/test_readjustment_domain.py).
IPCA_2023 = ["0.53", "0.84", "0.71", "0.61", "0.23", "-0.08"]
IPCA_2023 += ["0.12", "0.23", "0.26", "0.24", "0.28", "0.56"]
# IPCA 2024 (IBGE): Jan 0.42 … Dec 0.52, compounded by hand:
# 1.0042 × 1.0083 × 1.0016 × 1.0038 × 1.0046 × 1.0021 × 1.0038 × 0.9998
# × 1.0044 × 1.0056 × 1.0039 × 1.0052 = 1.048312958 → +4.8313 % (published 4.83 %).
IPCA_2024 = ["0.42", "0.83", "0.16", "0.38", "0.46", "0.21"]
IPCA_2024 += ["0.38", "-0.02", "0.44", "0.56", "0.39", "0.52"]
IPCA_2025 = ["0.16", "1.31", "0.56", "0.43", "0.26", "0.24"]
IPCA_2025 += ["0.26", "-0.11", "0.48", "0.09", "0.18", "0.33"]


def _year(year: int, values: list[str]) -> dict[date, Decimal]:
    return {date(year, m, 1): Decimal(v) for m, v in enumerate(values, start=1)}


def _notices(w: World) -> list[Event]:
    return list(
        Event.objects.filter(tenant=w.tenant, type="subscription.price_change_scheduled").order_by(
            "at"
        )
    )


def _customer(w: World) -> Customer:
    return Customer.objects.create(
        tenant=w.tenant, name="Ana", email="ana@example.com", test_clock=w.clock
    )


def _policy(w: World, series_id: int, **kw: object) -> ReadjustmentPolicy:
    args: dict[str, object] = {
        "plan_code": "pro",
        "method": "index",
        "series_id": series_id,
        "fixed_percent": None,
        "period": "anniversary",
        "month": None,
        "floor_percent": Decimal("0"),
        "cap_percent": Decimal("4.70"),
        "notice_days": 30,
        "automatic": True,
        **kw,
    }
    return subs.readjustment_policy_set(tenant=w.tenant, actor=ACTOR, now=w.now, **args)  # type: ignore[arg-type]


def test_three_years_of_ipca_with_a_cap_and_a_late_month() -> None:
    with world(START) as w:
        plan = w.plan("pro", amount=9_990)
        sub = w.subscribe(plan, _customer(w), collection_method="send_invoice")
        ipca = subs.index_series_create(
            tenant=w.tenant, kind="ipca", name="IPCA", actor=ACTOR, now=w.now
        )
        subs.index_values_set(
            tenant=w.tenant,
            series_id=ipca.pk,
            values=_year(2023, IPCA_2023),
            actor=ACTOR,
            now=w.now,
        )
        _policy(w, ipca.pk)

        # The notice goes out 30 days before 1 Feb 2024: on 2 January, not before.
        w.advance(utc(2024, 1, 1, 15))
        assert _notices(w) == []
        assert Readjustment.objects.count() == 0
        w.advance(utc(2024, 1, 2, 15))
        [notice] = _notices(w)
        r = Readjustment.objects.get()
        # R$ 99,90 × 1.04621114 = 104.5164… → R$ 104,52 (under the 4.70 % cap).
        assert (r.due_on, r.old_amount_minor, r.new_amount_minor, r.factor, r.status) == (
            date(2024, 2, 1),
            9_990,
            10_452,
            Decimal("0.04621114"),
            "scheduled",
        )
        assert r.index_months == [f"2023-{m:02d}" for m in range(1, 13)]
        assert r.effective_at == utc(2024, 2, 1, 15)  # the first period on or after the date
        assert notice.at == utc(2024, 1, 2, 3)  # local midnight of the notice day
        assert notice.data["new_amount"] == 10_452
        assert notice.data["effective_at"] == "2024-02-01T15:00:00+00:00"

        # The subscriber gets the price_change message, once, even dispatched twice.
        dispatch_pending(tenant=w.tenant, now=w.now)
        dispatch_pending(tenant=w.tenant, now=w.now)
        assert list(
            MessageDelivery.objects.filter(template="price_change").values_list(
                "channel", "recipient"
            )
        ) == [("email", "ana@example.com")]

        # January's renewal (2 Jan was after it) kept the old price; February's has the new one.
        w.advance(utc(2024, 2, 1, 15))
        totals = [(i.period_start, i.total_minor) for i in w.invoices(sub)]
        assert totals[-2:] == [(utc(2024, 1, 1, 15), 9_990), (utc(2024, 2, 1, 15), 10_452)]
        sub = w.refresh(sub)
        assert sub.unit_amount_minor == 10_452
        r.refresh_from_db()
        assert (r.status, r.applied_at) == ("applied", utc(2024, 2, 1, 15))
        # Reports' MRR log follows the new price.
        mrr = MrrMovement.objects.filter(subscription=sub).aggregate(s=Sum("delta_minor"))["s"]
        assert mrr == 10_452
        last = MrrMovement.objects.filter(subscription=sub).latest("at")
        assert (last.kind, last.delta_minor, last.event_type) == (
            "expansion",
            462,
            "subscription.readjusted",
        )

        # 2024 is entered without December: on its notice day the readjustment waits.
        values = _year(2024, IPCA_2024)
        december = values.pop(date(2024, 12, 1))
        subs.index_values_set(
            tenant=w.tenant, series_id=ipca.pk, values=values, actor=ACTOR, now=w.now
        )
        w.advance(utc(2025, 1, 5, 15))
        [item] = readjustments_due(tenant=w.tenant, now=w.now, days=60)
        assert (item.due_on, item.waiting, item.missing_months) == (
            date(2025, 2, 1),
            True,
            (date(2024, 12, 1),),
        )
        assert len(_notices(w)) == 1
        with pytest.raises(StateConflict):
            subs.readjustment_schedule(
                tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now
            )

        # December arrives late: the next sweep decides it. 4.8313 % is capped at 4.70 %:
        # R$ 104,52 × 1.047 = 109.43244 → R$ 109,43.
        subs.index_values_set(
            tenant=w.tenant,
            series_id=ipca.pk,
            values={date(2024, 12, 1): december},
            actor=ACTOR,
            now=w.now,
        )
        w.advance(utc(2025, 1, 6, 15))
        assert len(_notices(w)) == 2
        r2 = Readjustment.objects.get(due_on=date(2025, 2, 1))
        assert (r2.old_amount_minor, r2.new_amount_minor, r2.computed_factor, r2.factor) == (
            10_452,
            10_943,
            Decimal("0.04831296"),
            Decimal("0.04700000"),
        )
        w.advance(utc(2025, 2, 1, 15))
        assert w.invoices(sub)[-1].total_minor == 10_943
        mrr = MrrMovement.objects.filter(subscription=sub).aggregate(s=Sum("delta_minor"))["s"]
        assert mrr == 10_943

        # Year three, 2025 (real-looking IPCA, August negative), compounded by hand:
        # 1.0016 × 1.0131 × 1.0056 × 1.0043 × 1.0026 × 1.0024 × 1.0026 × 0.9989
        # × 1.0048 × 1.0009 × 1.0018 × 1.0033 = 1.04264385 → +4.2644 % (under the cap):
        # R$ 109,43 × 1.04264385 = 114.0965… → R$ 114,10.
        subs.index_values_set(
            tenant=w.tenant,
            series_id=ipca.pk,
            values=_year(2025, IPCA_2025),
            actor=ACTOR,
            now=w.now,
        )
        w.advance(utc(2026, 1, 1, 15))
        assert len(_notices(w)) == 2  # not yet: the notice day is 2 January 2026
        w.advance(utc(2026, 2, 1, 15))
        assert len(_notices(w)) == 3
        assert [i.total_minor for i in w.invoices(sub)[-2:]] == [10_943, 11_410]
        mrr = MrrMovement.objects.filter(subscription=sub).aggregate(s=Sum("delta_minor"))["s"]
        assert mrr == 11_410
        # The history: every readjustment, newest first.
        assert list(
            sub.readjustments.order_by("-due_on").values_list(
                "due_on", "old_amount_minor", "new_amount_minor", "factor", "status"
            )
        ) == [
            (date(2026, 2, 1), 10_943, 11_410, Decimal("0.04264385"), "applied"),
            (date(2025, 2, 1), 10_452, 10_943, Decimal("0.04700000"), "applied"),
            (date(2024, 2, 1), 9_990, 10_452, Decimal("0.04621114"), "applied"),
        ]
        # Every invoice of the three years, month by month: the old price until each date.
        totals = [i.total_minor for i in w.invoices(sub)]
        assert totals == [9_990] * 12 + [10_452] * 12 + [10_943] * 12 + [11_410]


def test_the_beat_sends_the_notice_exactly_once() -> None:
    with world(START) as w:
        plan = w.plan("pro", amount=10_000)
        sub = w.subscribe(plan, _customer(w), collection_method="send_invoice")
        _policy(w, None, method="fixed", fixed_percent=Decimal("5"), cap_percent=None)
        # A monthly fixed 5 %: 10 000 → 10 500.
        at = utc(2024, 1, 10, 15)
        assert subs.readjustments_sweep(tenant=w.tenant, now=at, actor=ACTOR, clock=w.clock) == 1
        assert subs.readjustments_sweep(tenant=w.tenant, now=at, actor=ACTOR, clock=w.clock) == 0
        assert (
            subs.readjustments_sweep(
                tenant=w.tenant, now=utc(2024, 1, 20, 15), actor=ACTOR, clock=w.clock
            )
            == 0
        )
        [notice] = _notices(w)
        assert notice.data["new_amount"] == 10_500
        assert Readjustment.objects.filter(subscription=sub).count() == 1
        # Applying it by hand afterwards returns the one decided and sends nothing.
        again = subs.readjustment_schedule(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=at
        )
        assert (again.created, again.readjustment.new_amount_minor) == (False, 10_500)
        assert len(_notices(w)) == 1
        dispatch_pending(tenant=w.tenant, now=at)
        dispatch_pending(tenant=w.tenant, now=at)
        assert (
            MessageDelivery.objects.filter(
                template="price_change", event__type="subscription.price_change_scheduled"
            ).count()
            == 1
        )


def test_a_live_sweep_leaves_test_clock_customers_alone() -> None:
    with world(START) as w:
        plan = w.plan("pro", amount=10_000)
        w.subscribe(plan, collection_method="send_invoice")
        _policy(w, None, method="fixed", fixed_percent=Decimal("5"), cap_percent=None)
        assert subs.readjustments_sweep(tenant=w.tenant, now=utc(2024, 1, 10, 15), actor=ACTOR) == 0


def test_fixed_month_vs_anniversary() -> None:
    with world(utc(2023, 3, 15, 15)) as w:
        plan = w.plan("pro", amount=10_000)
        sub = w.subscribe(plan, collection_method="send_invoice")
        _policy(
            w, None, method="fixed", fixed_percent=Decimal("10"), cap_percent=None, automatic=False
        )
        now = utc(2024, 3, 1, 15)
        [item] = readjustments_due(tenant=w.tenant, now=now, days=30, clock=w.clock)
        assert (item.subscription.pk, item.due_on, item.new_amount_minor) == (
            sub.pk,
            date(2024, 3, 15),
            11_000,
        )
        assert item.notice_on == date(2024, 2, 14)
        # A fixed month (January) for all: the first 1 January by which it is a year old.
        _policy(
            w,
            None,
            method="fixed",
            fixed_percent=Decimal("10"),
            cap_percent=None,
            period="fixed_month",
            month=1,
            automatic=False,
        )
        assert readjustments_due(tenant=w.tenant, now=now, days=30, clock=w.clock) == []
        [item] = readjustments_due(tenant=w.tenant, now=now, days=400, clock=w.clock)
        assert item.due_on == date(2025, 1, 1)


def test_floor_and_cap_on_a_negative_year() -> None:
    # IGP-M 2023 (FGV) compounds to −3.1783 % (test_readjustment_domain.py).
    igpm = [
        "0.21",
        "-0.06",
        "0.05",
        "-0.95",
        "-1.84",
        "-1.93",
        "-0.72",
        "-0.14",
        "0.37",
        "0.50",
        "0.59",
        "0.74",
    ]
    with world(START) as w:
        plan = w.plan("pro", amount=20_000)
        w.subscribe(plan, collection_method="send_invoice")
        series = subs.index_series_create(
            tenant=w.tenant, kind="igpm", name="IGP-M", actor=ACTOR, now=w.now
        )
        subs.index_values_set(
            tenant=w.tenant, series_id=series.pk, values=_year(2023, igpm), actor=ACTOR, now=w.now
        )
        now = utc(2024, 1, 5, 15)
        _policy(w, series.pk, floor_percent=None, cap_percent=None, automatic=False)
        [item] = readjustments_due(tenant=w.tenant, now=now, days=30, clock=w.clock)
        # No floor: 20 000 × 0.96821716 = 19 364.34 → 19 364 (the price goes down).
        assert (item.factor, item.new_amount_minor) == (Decimal("-0.03178284"), 19_364)
        _policy(w, series.pk, floor_percent=Decimal("0"), cap_percent=None, automatic=False)
        [item] = readjustments_due(tenant=w.tenant, now=now, days=30, clock=w.clock)
        assert (item.computed_factor, item.factor, item.new_amount_minor) == (
            Decimal("-0.03178284"),
            Decimal("0"),
            20_000,
        )
        # Decided: recorded with its factor, but no notice (the price does not change).
        r = subs.readjustment_schedule(
            tenant=w.tenant,
            subscription_id=item.subscription.pk,
            actor=ACTOR,
            now=now,
            clock=w.clock,
        ).readjustment
        assert (r.status, r.new_amount_minor, r.computed_factor) == (
            "applied",
            20_000,
            Decimal("-0.03178284"),
        )
        assert _notices(w) == []
        Readjustment.objects.filter(pk=r.pk).delete()
        _policy(w, series.pk, floor_percent=Decimal("2"), cap_percent=Decimal("3"), automatic=False)
        [item] = readjustments_due(tenant=w.tenant, now=now, days=30, clock=w.clock)
        assert (item.factor, item.new_amount_minor) == (Decimal("0.02"), 20_400)


def test_a_contract_cancelling_before_its_date_is_skipped() -> None:
    with world(START) as w:
        plan = w.plan("pro", amount=10_000)
        sub = w.subscribe(plan, collection_method="send_invoice")
        _policy(w, None, method="fixed", fixed_percent=Decimal("5"), cap_percent=None)
        w.advance(utc(2023, 12, 20, 15))
        from billing import subscriptions as billing_subs

        billing_subs.subscription_cancel(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, at_period_end=True
        )
        w.advance(utc(2024, 2, 2, 15))
        assert _notices(w) == []
        assert Readjustment.objects.count() == 0


def test_bad_input_changes_nothing() -> None:
    with world(START) as w:
        plan = w.plan("pro", amount=10_000)
        series = subs.index_series_create(
            tenant=w.tenant, kind="ipca", name="IPCA", actor=ACTOR, now=w.now
        )
        with pytest.raises(ValidationFailed) as exc:
            _policy(w, series.pk, floor_percent=Decimal("5"), cap_percent=Decimal("2"))
        assert exc.value.param == "cap_percent"
        with pytest.raises(ValidationFailed) as exc:
            _policy(w, series.pk, period="fixed_month", month=13)
        assert exc.value.param == "month"
        with pytest.raises(ValidationFailed) as exc:
            _policy(w, None, method="fixed", fixed_percent=Decimal("150"))
        assert exc.value.param == "fixed_percent"
        with pytest.raises(NotFound):
            _policy(w, series.pk, plan_code="nope")
        assert ReadjustmentPolicy.objects.count() == 0
        with pytest.raises(ValidationFailed) as exc:
            subs.index_values_set(
                tenant=w.tenant,
                series_id=series.pk,
                values={date(2023, 1, 1): Decimal("250")},
                actor=ACTOR,
                now=w.now,
            )
        assert exc.value.param == "rate"
        assert IndexValue.objects.count() == 0
        assert plan.amount_minor == 10_000


def test_csv_import_names_every_bad_line_and_imports_nothing() -> None:
    with world(START) as w:
        series = subs.index_series_create(
            tenant=w.tenant, kind="ipca", name="IPCA", actor=ACTOR, now=w.now
        )
        text = (
            "month,rate\n"
            "2023-01,0.53\n"
            "2023-13,0.84\n"  # line 3: a 13th month
            "2023-03,abc\n"  # line 4: not a number
            "2023-04\n"  # line 5: one column
            "2023-05,0.23\n"
            "2023-05,0.24\n"  # line 7: May twice
            "2023-06,-0.08\n"
        )
        with pytest.raises(CsvImportError) as exc:
            subs.index_values_import_csv(
                tenant=w.tenant, series_id=series.pk, text=text, actor=ACTOR, now=w.now
            )
        assert [n for n, _ in exc.value.lines] == [3, 4, 5, 7]
        assert IndexValue.objects.count() == 0
        # A good file (semicolons, decimal commas, as Brazilian spreadsheets write it).
        good = "mes;taxa\n2023-01;0,53\n2023-02;0,84\n2023-06;-0,08\n"
        assert (
            subs.index_values_import_csv(
                tenant=w.tenant, series_id=series.pk, text=good, actor=ACTOR, now=w.now
            )
            == 3
        )
        assert dict(IndexValue.objects.values_list("month", "rate_percent")) == {
            date(2023, 1, 1): Decimal("0.53"),
            date(2023, 2, 1): Decimal("0.84"),
            date(2023, 6, 1): Decimal("-0.08"),
        }


def test_a_test_clock_customer_is_listed_at_its_clocks_time() -> None:
    with world(START) as w:
        plan = w.plan("pro", amount=10_000)
        sub = w.subscribe(plan, collection_method="send_invoice")
        _policy(w, None, method="fixed", fixed_percent=Decimal("5"), cap_percent=None)
        # Real time says nothing of a contract living in 2023 on its clock …
        assert readjustments_due(tenant=w.tenant, now=utc(2024, 1, 20, 15), days=30) == []
        # … its clock, moved to 20 January 2024, puts its 1 February date in the window.
        w.advance(utc(2024, 1, 1, 12))
        from customers.models import TestClock

        TestClock.objects.filter(pk=w.clock.pk).update(frozen_time=utc(2024, 1, 20, 15))
        [item] = readjustments_due(tenant=w.tenant, now=utc(2030, 1, 1), days=30)
        assert (item.subscription.pk, item.due_on) == (sub.pk, date(2024, 2, 1))
        # Applying it by hand decides it at the clock's time.
        result = subs.readjustment_schedule(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=utc(2030, 1, 1)
        )
        assert result.readjustment.created_at == utc(2024, 1, 20, 15)
