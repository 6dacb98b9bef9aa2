"""The test clock pages (issue 13 item 5): create, attach a new customer, advance
by a day / a month / to a date on the worker with its progress, the timeline,
delete; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client

from billing.clocks import clock_advance_start
from billing.models import Invoice
from customers.models import Customer, TestClock
from subscriptions.models import Plan
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.conftest import TenantSetup
from tests.dashboard.helpers import add_member, signed_in
from tests.support.billing import ACTOR, World, utc, world

# 10:00 in São Paulo (UTC-3).
START = utc(2026, 1, 31, 13)


@dataclass
class Lab:
    w: World
    plan: Plan
    owner: Client

    def url(self, name: str = "") -> str:
        return f"/dashboard/test-clocks/{self.w.clock.public_id}/{name}"

    def clock(self) -> TestClock:
        return TestClock.objects.get(pk=self.w.clock.pk)


@pytest.fixture
def lab(db: None) -> Iterator[Lab]:
    with world(START, locale="en") as w:
        plan = w.plan("basic", 10_000)
        yield Lab(w, plan, signed_in("owner@acme.example"))


def _snapshot() -> tuple[object, ...]:
    return (
        list(TestClock.objects.values_list("name", "frozen_time", "advancing_to")),
        Customer.objects.count(),
        Invoice.objects.count(),
    )


def test_the_list_shows_the_clock_and_the_sidebar_links_it(lab: Lab) -> None:
    page = lab.owner.get("/dashboard/test-clocks/")
    assert page.status_code == 200
    html = page.content.decode()
    assert lab.w.clock.public_id in html
    assert 'href="/dashboard/test-clocks/"' in html  # the Developers entry


def test_create_takes_the_time_in_the_accounts_time_zone(lab: Lab) -> None:
    response = lab.owner.post(
        "/dashboard/test-clocks/new/", {"name": "Rehearsal", "frozen_time": "2026-03-01T09:30"}
    )
    created = TestClock.objects.get(name="Rehearsal")
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/test-clocks/{created.public_id}/"
    assert created.frozen_time == utc(2026, 3, 1, 12, 30)  # 09:30 in São Paulo
    assert AuditEntry.objects.filter(action="test_clock.created").count() == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "frozen_time": "1899-12-31T10:00"}, "frozen_time"),
        ({"name": "x", "frozen_time": "9999-12-31T10:00"}, "frozen_time"),
        ({"name": "x", "frozen_time": "tomorrow"}, "frozen_time"),
        ({"name": "x"}, "frozen_time"),
        ({"name": "a\x00b", "frozen_time": "2026-03-01T09:30"}, "name"),
        ({"name": "x" * 201, "frozen_time": "2026-03-01T09:30"}, "name"),
    ],
)
def test_create_refuses_bad_input_next_to_the_field(
    lab: Lab, data: dict[str, str], field: str
) -> None:
    before = _snapshot()
    response = lab.owner.post("/dashboard/test-clocks/new/", data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert _snapshot() == before


def test_a_new_customer_lives_on_the_clock_from_the_clocks_time(lab: Lab) -> None:
    response = lab.owner.post(
        lab.url("customers/new/"), {"name": "Bia Lima", "email": "bia@example.com"}
    )
    assert response.status_code == 302
    bia = Customer.objects.get(name="Bia Lima")
    assert bia.test_clock_id == lab.w.clock.pk
    page = lab.owner.get(lab.url()).content.decode()
    assert "Bia Lima" in page
    assert "customer.created" in page  # on the timeline, at the clock's time


def test_a_new_customer_with_bad_input_is_not_created(lab: Lab) -> None:
    before = _snapshot()
    response = lab.owner.post(lab.url("customers/new/"), {"name": "", "email": "not-an-email"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-name"' in html
    assert 'data-testid="error-email"' in html
    assert _snapshot() == before


def test_advance_a_month_runs_the_renewal_on_the_worker_and_shows_the_timeline(
    lab: Lab, django_capture_on_commit_callbacks
) -> None:
    customer = lab.w.customer("Ana")
    sub = lab.w.subscribe(lab.plan, customer, collection_method="send_invoice")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = lab.owner.post(lab.url("advance/"), {"by": "month"})
    assert response.status_code == 302
    assert len(queued) == 1  # the task, run inline by the test settings
    clock = lab.clock()
    # Jan 31 10:00 local + one calendar month = Feb 28 10:00 local (clamped).
    assert clock.frozen_time == utc(2026, 2, 28, 13)
    assert (clock.advancing_to, clock.advanced_through, clock.advance_error) == (None, None, "")
    reasons = list(
        Invoice.objects.filter(subscription=sub)
        .order_by("issued_at")
        .values_list("billing_reason", "issued_at")
    )
    assert [r for r, _ in reasons] == ["subscription_create", "subscription_cycle"]
    assert reasons[1][1] == utc(2026, 2, 28, 13)
    page = lab.owner.get(lab.url()).content.decode()
    assert 'data-testid="clock-timeline"' in page
    timeline = page[page.index('data-testid="clock-timeline"') :]
    # Each invoice on the timeline at the clock's time it was issued, in order, linked.
    assert timeline.count('data-type="invoice.finalized"') == 2
    first, renewal = Invoice.objects.filter(subscription=sub).order_by("issued_at")
    assert f'href="/dashboard/invoices/{first.public_id}/">{first.number}</a>' in timeline
    assert timeline.index(first.number) < timeline.index(renewal.number)
    assert '<time datetime="2026-02-28T10:00:00-03:00">' in timeline
    assert 'data-testid="clock-progress-done"' in page


def test_advance_by_a_day_and_to_a_date(lab: Lab, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert lab.owner.post(lab.url("advance/"), {"by": "day"}).status_code == 302
    assert lab.clock().frozen_time == START + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = lab.owner.post(lab.url("advance/"), {"by": "date", "to": "2026-04-15T08:00"})
    assert response.status_code == 302
    assert lab.clock().frozen_time == utc(2026, 4, 15, 11)


def test_while_it_advances_the_page_polls_a_real_progress_bar(lab: Lab) -> None:
    # Queued but not run yet (no worker in this test): the clock is advancing.
    clock_advance_start(
        tenant=lab.w.tenant,
        clock_id=lab.w.clock.pk,
        to=START + timedelta(days=10),
        actor=ACTOR,
        now=START,
    )
    TestClock.objects.filter(pk=lab.w.clock.pk).update(advanced_through=START + timedelta(days=4))
    page = lab.owner.get(lab.url()).content.decode()
    assert f'hx-get="/dashboard/test-clocks/{lab.w.clock.public_id}/progress/"' in page
    assert '<progress value="96" max="240"' in page
    assert 'data-testid="advance-form"' not in page  # no second advance meanwhile
    poll = lab.owner.get(lab.url("progress/"), HTTP_HX_REQUEST="true")
    assert '<progress value="96" max="240"' in poll.content.decode()
    assert "HX-Refresh" not in poll
    # A second advance, and a deletion, wait until it is done.
    before = _snapshot()
    again = lab.owner.post(lab.url("advance/"), {"by": "day"})
    assert again.status_code == 400
    assert "already advancing" in again.content.decode()
    lab.owner.post(lab.url("delete/"))
    assert _snapshot() == before
    # Done: the poll tells htmx to reload the page (the timeline, the new time).
    TestClock.objects.filter(pk=lab.w.clock.pk).update(advancing_to=None, advanced_through=None)
    assert lab.owner.get(lab.url("progress/"), HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"by": "date", "to": "2025-01-01T10:00"}, "frozen_time_or_to"),  # backwards
        ({"by": "date", "to": "2026-01-31T10:00"}, "frozen_time_or_to"),  # not later
        ({"by": "date", "to": "2046-01-31T10:00"}, "frozen_time_or_to"),  # > 10 years
        ({"by": "date", "to": ""}, "to"),
        ({"by": "date", "to": "soon"}, "to"),
        ({"by": "week"}, "by"),
        ({}, "by"),
    ],
)
def test_advance_refuses_bad_input_and_changes_nothing(
    lab: Lab, django_capture_on_commit_callbacks, data: dict[str, str], field: str
) -> None:
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = lab.owner.post(lab.url("advance/"), data)
    assert response.status_code == 400
    html = response.content.decode()
    expected = "to" if field == "frozen_time_or_to" else field
    assert f'data-testid="error-{expected}"' in html
    assert queued == []
    assert _snapshot() == before


def test_delete_removes_the_clock_its_customers_and_their_billing(lab: Lab) -> None:
    customer = lab.w.customer("Ana")
    lab.w.subscribe(lab.plan, customer, collection_method="send_invoice")
    response = lab.owner.post(lab.url("delete/"))
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/test-clocks/"
    assert not TestClock.objects.filter(pk=lab.w.clock.pk).exists()
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert Invoice.objects.count() == 0


def test_a_viewer_sees_clocks_but_cannot_change_them(lab: Lab) -> None:
    add_member(lab.w.tenant, "viewer@acme.example", "viewer")
    viewer = signed_in("viewer@acme.example")
    before = _snapshot()
    page = viewer.get(lab.url())
    assert page.status_code == 200
    assert 'data-testid="advance-form"' not in page.content.decode()
    assert viewer.post(lab.url("advance/"), {"by": "day"}).status_code == 403
    assert viewer.post(lab.url("delete/")).status_code == 403
    assert viewer.post(lab.url("customers/new/"), {"name": "X"}).status_code == 403
    assert (
        viewer.post("/dashboard/test-clocks/new/", {"frozen_time": "2026-03-01"}).status_code == 403
    )
    assert _snapshot() == before


def test_a_redelivered_advance_task_does_nothing_once_the_clock_is_done(
    lab: Lab, django_capture_on_commit_callbacks
) -> None:
    from billing.clocks import clock_advance_run

    lab.w.subscribe(lab.plan, lab.w.customer("Ana"), collection_method="send_invoice")
    with django_capture_on_commit_callbacks(execute=True):
        lab.owner.post(lab.url("advance/"), {"by": "month"})
    before = _snapshot()
    clock_advance_run(tenant=lab.w.tenant, clock_id=lab.w.clock.pk, actor=ACTOR, now=START)
    assert _snapshot() == before


def test_the_progress_is_told_each_moment_the_engine_runs(lab: Lab) -> None:
    from billing.clocks import clock_advance

    lab.w.subscribe(lab.plan, lab.w.customer("Ana"), collection_method="send_invoice")
    moments: list[object] = []
    clock_advance(
        tenant=lab.w.tenant,
        clock_id=lab.w.clock.pk,
        to=utc(2026, 5, 1, 13),
        actor=ACTOR,
        now=START,
        progress=moments.append,
    )
    # Anchored on Jan 31 (São Paulo): the renewals fall on each month's last day.
    assert moments == [utc(2026, 2, 28, 13), utc(2026, 3, 31, 13), utc(2026, 4, 30, 13)]


def test_an_advance_that_fails_on_the_worker_says_why_and_leaves_the_clock(
    lab: Lab, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing import clocks
    from core.errors import ValidationFailed

    class Broken:
        def next_due(self, **kw: object) -> object:
            return START + timedelta(hours=1)

        def run(self, **kw: object) -> None:
            raise ValidationFailed("The renewal could not be priced.")

    monkeypatch.setattr(clocks, "_sweeps", lambda: [Broken()])
    with django_capture_on_commit_callbacks(execute=True):
        assert lab.owner.post(lab.url("advance/"), {"by": "day"}).status_code == 302
    clock = lab.clock()
    assert (clock.frozen_time, clock.advancing_to) == (START, None)
    assert clock.advance_error == "The renewal could not be priced."
    page = lab.owner.get(lab.url()).content.decode()
    assert "The renewal could not be priced." in page
    assert 'data-testid="advance-form"' in page  # it may be tried again


def test_the_api_waits_too_while_the_dashboards_advance_runs(acme: TenantSetup) -> None:
    from tests.api.helpers import error

    created = acme.client().post("/api/v1/test_clocks", {"frozen_time": "2026-01-01T00:00:00Z"})
    base = f"/api/v1/test_clocks/{created.json()['id']}"
    with tenant_context(acme.tenant):
        found = TestClock.objects.get(public_id=created.json()["id"])
        clock_advance_start(
            tenant=acme.tenant,
            clock_id=found.pk,
            to=utc(2026, 2, 1),
            actor=ACTOR,
            now=utc(2026, 1, 1),
        )

    advance = acme.client().post(f"{base}/advance", {"frozen_time": "2026-03-01T00:00:00Z"})
    delete = acme.client().delete(base)

    assert advance.status_code == 409
    assert error(advance)["code"] == "test_clock_advancing"
    assert delete.status_code == 409
    assert acme.client().get(base).json()["frozen_time"] == "2026-01-01T00:00:00Z"
