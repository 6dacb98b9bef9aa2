"""Trial-ending (3 days before) and renewal-upcoming (7 days before, annual
plans) notices: once per subscription period, on test clocks and live."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from billing.subscriptions import subscription_cancel
from core import clock
from customers.models import Customer
from notifications.models import Notice
from notifications.notices import notices_sweep
from tenants.models import Event
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _events(type_: str) -> list[tuple[object, str]]:
    return list(
        Event.objects.filter(type=type_).order_by("at", "id").values_list("at", "subject_id")
    )


def test_a_trial_ending_notice_goes_out_three_days_before_once() -> None:
    with world(NOW) as w:
        sub = w.subscribe(w.plan(trial_days=14))
        trial_end = w.refresh(sub).trial_end

        w.advance(NOW + timedelta(days=10))
        w.advance(NOW + timedelta(days=12))
        w.advance(NOW + timedelta(days=60))

        assert trial_end == NOW + timedelta(days=14)
        assert _events("subscription.trial_will_end") == [
            (trial_end - timedelta(days=3), sub.public_id)
        ]
        event = Event.objects.get(type="subscription.trial_will_end")
        assert event.data == {
            "subscription": sub.public_id,
            "customer": sub.customer.public_id,
            "trial_end": trial_end.isoformat(),
        }
        assert list(Notice.objects.values_list("kind", "period_end", "event_public_id")) == [
            ("trial_will_end", trial_end, event.public_id)
        ]


def test_a_trial_shorter_than_the_notice_is_announced_when_it_starts() -> None:
    with world(NOW) as w:
        sub = w.subscribe(w.plan(trial_days=2))

        w.advance(NOW + timedelta(days=5))

        assert _events("subscription.trial_will_end") == [(NOW, sub.public_id)]


def test_annual_renewals_are_announced_seven_days_before_each_period_monthly_ones_not() -> None:
    with world(NOW) as w:
        annual = w.subscribe(
            w.plan(code="annual", interval="year", amount=120_000),
            collection_method="send_invoice",
        )
        w.subscribe(w.plan(code="monthly"), collection_method="send_invoice")
        first_end = w.refresh(annual).current_period_end

        w.advance(NOW + timedelta(days=400))
        second_end = w.refresh(annual).current_period_end
        w.advance(NOW + timedelta(days=800))

        assert _events("invoice.upcoming") == [
            (first_end - timedelta(days=7), annual.public_id),
            (second_end - timedelta(days=7), annual.public_id),
        ]
        first = Event.objects.filter(type="invoice.upcoming").order_by("at").first()
        assert first.data["amount"] == 120_000
        assert first.data["renews_at"] == first_end.isoformat()


def test_a_subscription_cancelled_at_period_end_is_not_told_it_renews() -> None:
    with world(NOW) as w:
        sub = w.subscribe(w.plan(interval="year"), collection_method="send_invoice")
        subscription_cancel(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=NOW, at_period_end=True
        )

        w.advance(NOW + timedelta(days=370))

        assert _events("invoice.upcoming") == []


def test_the_live_sweep_announces_once_and_the_notice_is_unique_per_period() -> None:
    with world(NOW) as w:
        customer = Customer.objects.create(tenant=w.tenant, name="Live")  # no test clock
        sub = w.subscribe(w.plan(trial_days=14), customer)
        trial_end = w.refresh(sub).trial_end

        early = notices_sweep(now=trial_end - timedelta(days=4))
        first = notices_sweep(now=trial_end - timedelta(days=3))
        again = notices_sweep(now=trial_end - timedelta(days=2))
        late = notices_sweep(now=trial_end + timedelta(hours=1))

        assert (early, first, again, late) == (0, 1, 0, 0)
        assert _events("subscription.trial_will_end") == [
            (trial_end - timedelta(days=3), sub.public_id)
        ]
        with pytest.raises(IntegrityError), transaction.atomic():
            Notice.objects.create(
                tenant=w.tenant,
                subscription=sub,
                kind="trial_will_end",
                period_end=trial_end,
                event_public_id="evt_dup",
                created_at=clock.now(),
            )


def test_the_trial_notice_reaches_the_subscriber_as_an_email() -> None:
    from django.core import mail

    from notifications.outbox import dispatch_pending

    with world(NOW) as w:
        customer = Customer.objects.create(
            tenant=w.tenant, name="Ana", email="ana@example.com", locale="en", test_clock=w.clock
        )
        w.subscribe(w.plan(name="Pro", trial_days=14, amount=9_990), customer)

        w.advance(NOW + timedelta(days=12))
        dispatch_pending(tenant=w.tenant, now=NOW)

        subjects = [m.subject for m in mail.outbox]
        assert "Your trial of Pro ends on June 15, 2026" in subjects


def test_a_trial_cancelled_at_its_end_gets_no_trial_ending_notice() -> None:
    with world(NOW) as w:
        sub = w.subscribe(w.plan(trial_days=14))
        subscription_cancel(
            tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=NOW, at_period_end=True
        )

        w.advance(NOW + timedelta(days=20))

        assert _events("subscription.trial_will_end") == []
        assert Notice.objects.count() == 0
