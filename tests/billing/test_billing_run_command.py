"""The billing run by hand: `manage.py billing_run --at … --tenant …`."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Invoice
from customers.models import Customer
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tests.support.billing import ACTOR, utc, world


def _live_subscription(w, start):  # type: ignore[no-untyped-def]
    from billing.subscriptions import subscription_create

    customer = Customer.objects.create(tenant=w.tenant, name="Live")
    plan = w.plan(amount=5_000)
    return subscription_create(
        tenant=w.tenant, customer=customer, plan=plan, actor=ACTOR, now=start
    )


def test_billing_run_at_a_given_time_renews_what_is_due_once(db: None) -> None:
    start = utc(2026, 1, 10, 12)
    with world(start) as w:
        sub = _live_subscription(w, start)
        tenant = w.tenant
    out, err = StringIO(), StringIO()

    call_command(
        "billing_run",
        "--at",
        "2026-03-10T13:00:00+00:00",
        "--tenant",
        "acme",
        stdout=out,
        stderr=err,
    )
    call_command(
        "billing_run", "--at", "2026-03-10T13:00:00+00:00", stdout=StringIO(), stderr=StringIO()
    )

    with tenant_context(tenant):
        periods = list(
            Invoice.objects.filter(subscription=sub)
            .order_by("period_start")
            .values_list("period_start", flat=True)
        )
        refreshed = Subscription.objects.get(pk=sub.pk)
    assert periods == [utc(2026, 1, 10, 12), utc(2026, 2, 10, 12), utc(2026, 3, 10, 12)]
    assert refreshed.current_period_end == utc(2026, 4, 10, 12)
    assert "Processed 1 subscriptions, wrote 2 invoices" in out.getvalue()
    assert "Billing run" in err.getvalue()  # the progress bar


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--at", "yesterday"], "--at must be an ISO 8601", id="bad-date"),
        pytest.param(["--at", "2026-03-10T13:00:00"], "--at must be an ISO 8601", id="naive"),
        pytest.param(["--tenant", "nope"], "No tenant with slug 'nope'", id="unknown-tenant"),
        pytest.param(["--batch-size", "0"], "--batch-size must be", id="bad-batch"),
    ],
)
def test_bad_arguments_are_refused(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("billing_run", *args, stdout=StringIO(), stderr=StringIO())


def test_test_clock_customers_are_left_to_their_clock(db: None) -> None:
    start = utc(2026, 1, 10, 12)
    with world(start) as w:
        sub = w.subscribe(w.plan(amount=5_000))
        tenant = w.tenant

    call_command(
        "billing_run", "--at", "2026-06-01T00:00:00+00:00", stdout=StringIO(), stderr=StringIO()
    )

    with tenant_context(tenant):
        assert Invoice.objects.filter(subscription=sub).count() == 1
