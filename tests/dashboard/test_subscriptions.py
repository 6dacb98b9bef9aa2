"""The subscription pages of the dashboard: list and its filters, the detail,
and every action staff take on the customer's behalf (issue 13 item 3)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from billing.models import Invoice, PendingLine
from billing.services import invoice_mark_paid
from core import clock
from core.actors import Actor
from customers.models import PaymentMethod
from subscriptions import services as subs
from subscriptions.models import Plan, ScheduledChange, Subscription
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tenants.services import membership_add
from tests.conftest import make_tenant
from tests.support.billing import ACTOR, World, utc, world

PASSWORD = "s3cret-Pass!"
START = utc(2026, 3, 10, 12)


def _client(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@dataclass
class Shop:
    w: World
    basic: Plan
    seats: Plan
    sub: Subscription
    card: PaymentMethod
    owner: Client

    def refresh(self) -> Subscription:
        return Subscription.objects.select_related("plan", "payment_method").get(pk=self.sub.pk)

    def url(self, name: str = "") -> str:
        return f"/dashboard/subscriptions/{self.sub.public_id}/{name}"


def _paid(w: World, sub: Subscription) -> Subscription:
    """Active: its first invoice paid (out of band), as after a successful charge."""
    for invoice in w.invoices(sub):
        invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
    return w.refresh(sub)


@pytest.fixture
def shop(db: None) -> Iterator[Shop]:
    with world(START) as w:
        basic = w.plan("basic", 10_000, max_pauses=2, max_pause_cycles=3)
        seats = w.plan("seats", 5_000, pricing_model="per_seat", name="Seats")
        customer = w.customer("Ana Souza")
        card = PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=customer,
            kind="card",
            gateway="sandbox",
            token="t1",
            brand="visa",
            last4="4242",
        )
        sub = _paid(w, w.subscribe(basic, customer))
        yield Shop(w, basic, seats, sub, card, _client("owner@acme.example"))


@pytest.fixture
def other(shop: Shop) -> dict[str, Any]:
    """Another tenant with its own plan, customer, payment method and subscription."""
    setup = make_tenant("globex")
    with tenant_context(setup.tenant):
        product = subs.product_create(tenant=setup.tenant, name="G", actor=ACTOR, now=START)
        plan = subs.plan_create(
            tenant=setup.tenant,
            product=product,
            code="basic",
            name="G basic",
            currency="BRL",
            amount_minor=1_000,
            actor=ACTOR,
            now=START,
        )
        from billing import subscriptions as billing_subs
        from customers.models import Customer

        customer = Customer.objects.create(tenant=setup.tenant, name="Gus")
        card = PaymentMethod.objects.create(
            tenant=setup.tenant,
            customer=customer,
            kind="card",
            gateway="sandbox",
            token="t9",
            last4="9999",
        )
        sub = billing_subs.subscription_create(
            tenant=setup.tenant, customer=customer, plan=plan, actor=ACTOR, now=clock.now()
        )
    return {"plan": plan, "card": card, "sub": sub, "tenant": setup.tenant}


def _member(role: str) -> Client:
    from tenants.accounts import staff_user_ensure
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug="acme")
    user = staff_user_ensure(email=f"{role}@acme.example", password=PASSWORD)
    with tenant_context(tenant):
        membership_add(tenant=tenant, user=user, role=role, actor=Actor.system(), now=clock.now())
    return _client(f"{role}@acme.example")


def _state(s: Shop) -> tuple[Any, ...]:
    sub = s.refresh()
    return (
        sub.plan_id,
        sub.quantity,
        sub.status,
        sub.payment_method_id,
        sub.pauses_used,
        ScheduledChange.objects.filter(subscription=sub, status="pending").count(),
        Invoice.objects.filter(subscription=sub).count(),
        PendingLine.objects.filter(subscription=sub).count(),
    )


# -- list ------------------------------------------------------------------------


def test_the_list_shows_subscriptions_and_filters_them(shop: Shop) -> None:
    w = shop.w
    per_seat = w.subscribe(shop.seats, w.customer("Bia"), quantity=3)
    by_invoice = w.subscribe(shop.basic, w.customer("Caio"), collection_method="send_invoice")

    def ids(query: str) -> set[str]:
        page = shop.owner.get(f"/dashboard/subscriptions/{query}").content.decode()
        return {s.public_id for s in (shop.sub, per_seat, by_invoice) if s.public_id in page}

    assert ids("") == {shop.sub.public_id, per_seat.public_id, by_invoice.public_id}
    assert ids("?plan=seats") == {per_seat.public_id}
    assert ids("?collection_method=send_invoice") == {by_invoice.public_id}
    assert ids("?status=canceled") == set()
    renews = shop.sub.current_period_end.date()
    assert len(ids(f"?renews_from={renews}&renews_to={renews}")) == 3
    assert ids("?renews_from=2030-01-01") == set()
    # Bad filter input is a form error, not a 500.
    page = shop.owner.get("/dashboard/subscriptions/?renews_from=banana&status=zzz")
    assert page.status_code == 200
    assert "Enter a valid date." in page.content.decode()
    assert (
        "No subscription matches these filters."
        in shop.owner.get("/dashboard/subscriptions/?status=paused").content.decode()
    )


def test_the_list_pages_by_keyset(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import subscription_views

    monkeypatch.setattr(subscription_views, "PAGE_SIZE", 2)
    more = [_paid(shop.w, shop.w.subscribe(shop.basic, shop.w.customer(f"C{i}"))) for i in range(3)]
    every = [shop.sub, *more]
    seen: list[str] = []
    url = "/dashboard/subscriptions/?status=active"
    for _ in range(3):
        response = shop.owner.get(url)
        page = response.content.decode()
        seen += [s.public_id for s in every if f"{s.public_id}</code>" in page]
        nxt = response.context["next_query"]
        if not nxt:
            break
        assert "status=active" in nxt
        url = f"/dashboard/subscriptions/?{nxt}"
    assert sorted(seen) == sorted(s.public_id for s in every)
    assert len(seen) == 4


def test_the_list_without_subscriptions_says_what_to_do(db: None) -> None:
    make_tenant("acme")
    page = _client("owner@acme.example").get("/dashboard/subscriptions/").content.decode()
    assert "No subscriptions yet." in page


# -- detail ----------------------------------------------------------------------


def test_the_detail_shows_period_access_next_invoice_and_limits(shop: Shop) -> None:
    response = shop.owner.get(shop.url())
    page = response.content.decode()

    assert response.status_code == 200
    assert "Has access" in page
    assert 'data-testid="sub-pauses-left">2 / 2<' in page
    # The next invoice is the renewal at the plan's price, exactly.
    preview = response.context["next_invoice"]
    assert preview.totals.total_minor == 10_000
    assert preview.issued_at == shop.sub.current_period_end
    assert "R$100.00" in page or "R$ 100.00" in page or "R$100.00" in page.replace("\xa0", "")
    assert Invoice.objects.filter(subscription=shop.sub).count() == 1
    assert "Nothing scheduled." in page


def test_the_detail_in_portuguese_formats_money(shop: Shop) -> None:
    page = shop.owner.get(shop.url(), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "R$\xa0100,00" in page or "R$ 100,00" in page


def test_another_tenants_subscription_is_a_404(shop: Shop, other: dict[str, Any]) -> None:
    theirs = other["sub"].public_id
    for suffix in ["", "change/"]:
        assert shop.owner.get(f"/dashboard/subscriptions/{theirs}/{suffix}").status_code == 404
    for suffix in ["pause/", "resume/", "cancel/", "cancel/undo/", "payment-method/"]:
        response = shop.owner.post(f"/dashboard/subscriptions/{theirs}/{suffix}", {"cycles": 1})
        assert response.status_code == 404
    assert shop.owner.get("/dashboard/subscriptions/sub_nope/").status_code == 404
    with tenant_context(other["tenant"]):
        assert Subscription.objects.get(pk=other["sub"].pk).status == other["sub"].status


# -- change ------------------------------------------------------------------------


def test_change_shows_the_exact_preview_before_confirming(shop: Shop) -> None:
    before = _state(shop)
    data = {
        "plan": shop.seats.public_id,
        "quantity": "3",
        "when": "now",
        "proration": "invoice_now",
    }
    response = shop.owner.post(shop.url("change/"), {**data, "preview": "1"})

    assert response.status_code == 200
    preview = response.context["preview"]
    from billing import subscriptions as billing_subs

    expected = billing_subs.subscription_preview_change(
        tenant=shop.w.tenant,
        subscription=shop.refresh(),
        now=shop.w.now,
        plan=shop.seats,
        quantity=3,
        when="now",
        proration="invoice_now",
    )
    assert preview.total_minor == expected.total_minor != 0
    assert 'data-testid="preview-total"' in response.content.decode()
    assert _state(shop) == before  # a preview changes nothing

    response = shop.owner.post(shop.url("change/"), {**data, "confirm": "1"})

    assert response.status_code == 302
    sub = shop.refresh()
    assert (sub.plan_id, sub.quantity) == (shop.seats.pk, 3)
    update = Invoice.objects.filter(subscription=sub, billing_reason="subscription_update").get()
    assert update.total_minor == expected.total_minor


def test_change_preview_as_an_htmx_fragment(shop: Shop) -> None:
    response = shop.owner.post(
        shop.url("change/"),
        {"plan": shop.seats.public_id, "quantity": "2", "when": "now", "proration": "none"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="change-preview"')
    assert "Nothing is billed for this change." in page
    bad = shop.owner.post(
        shop.url("change/"),
        {"plan": shop.seats.public_id, "quantity": "0", "when": "now", "proration": "none"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 200
    assert "quantity must be a whole number" in bad.content.decode()


def test_change_at_period_end_is_scheduled(shop: Shop) -> None:
    data = {"plan": shop.seats.public_id, "quantity": "2", "when": "period_end"}
    response = shop.owner.post(shop.url("change/"), {**data, "proration": "none", "confirm": "1"})
    assert response.status_code == 302
    change = ScheduledChange.objects.get(subscription=shop.sub, kind="change", status="pending")
    assert (change.plan_id, change.quantity) == (shop.seats.pk, 2)
    assert "Changes to Seats × 2" in shop.owner.get(shop.url()).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"quantity": "abc"}, "quantity", "Enter a whole number."),
        ({"quantity": ""}, "quantity", "This field is required."),
        ({"quantity": "0", "plan": "seats"}, "quantity", "quantity must be a whole number"),
        ({"quantity": str(10**9), "plan": "seats"}, "quantity", "quantity must be a whole number"),
        ({"quantity": "2"}, "quantity", "A flat plan is sold one at a time."),
        ({"quantity": "1"}, "plan", "current plan and quantity"),
        ({"plan": "plan_nope"}, "plan", "Select a valid choice."),
        ({"when": "tomorrow"}, "when", "Select a valid choice."),
        ({"proration": "-1"}, "proration", "Select a valid choice."),
    ],
)
def test_change_bad_input_is_an_error_next_to_the_field(
    shop: Shop, data: dict[str, str], field: str, message: str
) -> None:
    before = _state(shop)
    post = {"plan": shop.basic.public_id, "quantity": "1", "when": "now"}
    post |= {"proration": "invoice_now", "confirm": "1"}
    post |= data
    if post["plan"] == "seats":
        post["plan"] = shop.seats.public_id

    response = shop.owner.post(shop.url("change/"), post)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert _state(shop) == before


def test_change_to_another_tenants_plan_is_refused(shop: Shop, other: dict[str, Any]) -> None:
    before = _state(shop)
    response = shop.owner.post(
        shop.url("change/"),
        {
            "plan": other["plan"].public_id,
            "quantity": "1",
            "when": "now",
            "proration": "none",
            "confirm": "1",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice." in " ".join(response.context["form"].errors["plan"])
    assert _state(shop) == before


# -- pause, resume, cancel, undo -----------------------------------------------------


def test_pause_then_call_it_off(shop: Shop) -> None:
    assert shop.owner.post(shop.url("pause/"), {"cycles": "2"}).status_code == 302
    pause = ScheduledChange.objects.get(subscription=shop.sub, kind="pause", status="pending")
    assert pause.pause_cycles == 2
    page = shop.owner.get(shop.url()).content.decode()
    assert 'data-testid="sub-pauses-left">1 / 2<' in page
    assert "No invoice is coming" in page

    assert shop.owner.post(shop.url("resume/")).status_code == 302
    assert not ScheduledChange.objects.filter(subscription=shop.sub, status="pending").exists()
    assert shop.refresh().pauses_used == 0


@pytest.mark.parametrize(
    ("cycles", "message"),
    [
        ("x", "Enter a whole number."),
        ("", "This field is required."),
        ("0", "cycles must be a whole number of at least 1."),
        ("-3", "cycles must be a whole number of at least 1."),
        ("4", "at most 3 cycle(s)"),
        (str(10**9), "at most 3 cycle(s)"),
    ],
)
def test_pause_bad_input(shop: Shop, cycles: str, message: str) -> None:
    before = _state(shop)
    response = shop.owner.post(shop.url("pause/"), {"cycles": cycles})
    assert response.status_code == 400
    assert message in " ".join(response.context["pause_form"].errors["cycles"])
    assert message.split("(")[0] in response.content.decode()
    assert _state(shop) == before


def test_resume_when_nothing_is_paused_is_an_error(shop: Shop) -> None:
    before = _state(shop)
    response = shop.owner.post(shop.url("resume/"))
    assert response.status_code == 400
    assert _state(shop) == before


def test_cancel_at_period_end_then_undo(shop: Shop) -> None:
    response = shop.owner.post(shop.url("cancel/"), {"when": "period_end"})
    assert response.status_code == 302
    assert ScheduledChange.objects.filter(subscription=shop.sub, kind="cancel").exists()
    page = shop.owner.get(shop.url()).content.decode()
    assert 'data-testid="scheduled-cancel"' in page
    assert shop.refresh().status == "active"

    assert shop.owner.post(shop.url("cancel/undo/")).status_code == 302
    assert not ScheduledChange.objects.filter(subscription=shop.sub, status="pending").exists()
    # A second undo has nothing to undo: an error on the page, nothing changed.
    before = _state(shop)
    again = shop.owner.post(shop.url("cancel/undo/"))
    assert again.status_code == 400
    assert "No cancellation is scheduled." in again.content.decode()
    assert _state(shop) == before


def test_cancel_now_with_credit(shop: Shop) -> None:
    response = shop.owner.post(shop.url("cancel/"), {"when": "now", "credit": "on"})
    assert response.status_code == 302
    sub = shop.refresh()
    assert sub.status == "canceled"
    assert sub.ended_at == shop.w.now
    from billing.models import CreditNote

    assert CreditNote.objects.filter(invoice__subscription=sub).exists()
    page = shop.owner.get(shop.url()).content.decode()
    assert 'data-testid="actions"' not in page  # nothing left to do on an ended one


def test_cancel_bad_input(shop: Shop) -> None:
    before = _state(shop)
    response = shop.owner.post(shop.url("cancel/"), {"when": "yesterday"})
    assert response.status_code == 400
    assert response.context["cancel_form"].errors["when"]
    assert _state(shop) == before


def test_cancel_with_one_of_the_accounts_reasons(shop: Shop) -> None:
    from tenants.models import Tenant

    Tenant.objects.filter(pk=shop.w.tenant.pk).update(
        cancel_reasons=[{"code": "fraud", "label": "Suspeita de fraude"}]
    )
    form = shop.owner.get(shop.url()).context["cancel_form"]
    assert [c[0] for c in form.fields["reason"].choices] == ["", "fraud"]
    before = _state(shop)
    bad = shop.owner.post(shop.url("cancel/"), {"when": "period_end", "reason": "too_expensive"})
    assert bad.status_code == 400
    assert bad.context["cancel_form"].errors["reason"]
    assert _state(shop) == before
    response = shop.owner.post(shop.url("cancel/"), {"when": "period_end", "reason": "fraud"})
    assert response.status_code == 302
    sub = shop.refresh()
    assert (sub.cancel_reason_code, sub.cancel_reason_label) == ("fraud", "Suspeita de fraude")
    assert "Suspeita de fraude" in shop.owner.get(shop.url()).content.decode()


# -- payment method --------------------------------------------------------------


def test_payment_method_set_and_back_to_default(shop: Shop) -> None:
    response = shop.owner.post(shop.url("payment-method/"), {"payment_method": shop.card.public_id})
    assert response.status_code == 302
    assert shop.refresh().payment_method_id == shop.card.pk
    assert AuditEntry.objects.filter(action="subscription.payment_method_changed").exists()

    assert shop.owner.post(shop.url("payment-method/"), {"payment_method": ""}).status_code == 302
    assert shop.refresh().payment_method_id is None


def test_payment_method_of_someone_else_is_refused(shop: Shop, other: dict[str, Any]) -> None:
    stranger = shop.w.customer("Bia")
    theirs = PaymentMethod.objects.create(
        tenant=shop.w.tenant, customer=stranger, kind="card", gateway="sandbox", token="t2"
    )
    before = _state(shop)
    for method in [theirs.public_id, other["card"].public_id, "pm_nope", "1"]:
        response = shop.owner.post(shop.url("payment-method/"), {"payment_method": method})
        assert response.status_code == 400
        assert response.context["payment_method_form"].errors["payment_method"]
    assert _state(shop) == before


def test_payment_method_service_checks_the_customer(shop: Shop) -> None:
    from core.errors import NotFound

    stranger = shop.w.customer("Bia")
    theirs = PaymentMethod.objects.create(
        tenant=shop.w.tenant, customer=stranger, kind="card", gateway="sandbox", token="t2"
    )
    with pytest.raises(NotFound) as err:
        subs.subscription_payment_method_set(
            tenant=shop.w.tenant,
            subscription_id=shop.sub.pk,
            actor=ACTOR,
            now=shop.w.now,
            payment_method_id=theirs.pk,
        )
    assert err.value.param == "payment_method"
    assert shop.refresh().payment_method_id is None


# -- roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "can_read", "can_act"),
    [
        ("admin", True, True),
        ("support", True, True),
        ("finance", True, False),
        ("viewer", True, False),
    ],
)
def test_roles(shop: Shop, role: str, can_read: bool, can_act: bool) -> None:
    client = _member(role)
    before = _state(shop)
    assert client.get("/dashboard/subscriptions/").status_code == (200 if can_read else 403)
    page = client.get(shop.url())
    assert page.status_code == 200
    assert ('data-testid="actions"' in page.content.decode()) is can_act
    if can_act:
        return
    assert client.get(shop.url("change/")).status_code == 403
    posts = {
        "change/": {
            "plan": shop.seats.public_id,
            "quantity": "2",
            "when": "now",
            "proration": "none",
            "confirm": "1",
        },
        "pause/": {"cycles": "1"},
        "resume/": {},
        "cancel/": {"when": "now"},
        "cancel/undo/": {},
        "payment-method/": {"payment_method": shop.card.public_id},
    }
    for suffix, data in posts.items():
        assert client.post(shop.url(suffix), data).status_code == 403
    assert _state(shop) == before


def test_no_pause_form_once_the_plan_allows_no_more(shop: Shop) -> None:
    seats_sub = _paid(shop.w, shop.w.subscribe(shop.seats, shop.w.customer("Bia"), quantity=2))
    page = shop.owner.get(f"/dashboard/subscriptions/{seats_sub.public_id}/").content.decode()
    assert 'data-testid="pause-form"' not in page
    assert "No pause left" in page
    assert 'data-testid="pause-form"' in shop.owner.get(shop.url()).content.decode()


# -- pause now, resume on a date, interval change (issue 16) ---------------------------


def test_pause_now_previews_the_credit_then_pauses_then_resumes_on_a_date(shop: Shop) -> None:
    from tests.scenarios.helpers_lifecycle import balance

    # Given the R$100 month [Mar 10 09:00, Apr 10 09:00) São Paulo, on Mar 20
    shop.w.advance(utc(2026, 3, 20, 12))
    before = _state(shop)
    data = {"when": "now", "unused": "credit", "resume_on": ""}
    # When staff preview a pause now: Mar 20 .. Apr 9 = 21 of 31 days,
    # 10000 × 21/31 = 6774.19 → 6774 credited
    response = shop.owner.post(shop.url("pause/"), {**data, "preview": "1"})
    assert response.status_code == 200
    assert response.context["pause_preview"].credit_minor == 6_774
    assert 'data-testid="pause-preview-credit" hidden>6774<' in response.content.decode()
    assert _state(shop) == before  # a preview changes nothing
    # And confirm it
    assert shop.owner.post(shop.url("pause/"), data).status_code == 302
    sub = shop.refresh()
    assert (sub.status, sub.pauses_used, balance(shop.w, sub.customer_id)) == ("paused", 1, 6_774)
    # Then a resumption date in the past is an error next to the field, nothing changed
    paused = _state(shop)
    bad = shop.owner.post(shop.url("resume/"), {"resume_on": "2026-03-01"})
    assert bad.status_code == 400
    assert bad.context["resume_form"].errors["resume_on"]
    assert _state(shop) == paused
    # And a good one sets when billing resumes (São Paulo midnight = 03:00 UTC)
    assert shop.owner.post(shop.url("resume/"), {"resume_on": "2026-05-05"}).status_code == 302
    sub = shop.refresh()
    assert (sub.status, sub.current_period_end) == ("paused", utc(2026, 5, 5, 3))


def test_pause_now_bad_input_changes_nothing(shop: Shop) -> None:
    before = _state(shop)
    for body, field in (
        ({"when": "now", "resume_on": "2026-03-01"}, "resume_on"),
        ({"when": "now", "resume_on": "2027-03-01"}, "resume_on"),
        ({"when": "now", "unused": "forget"}, "unused"),
        ({"when": "soon", "cycles": "1"}, "when"),
    ):
        response = shop.owner.post(shop.url("pause/"), body)
        assert response.status_code == 400, body
        assert response.context["pause_form"].errors[field], body
        assert _state(shop) == before


def test_change_interval_with_the_anchor_kept_shows_the_exact_preview(shop: Shop) -> None:
    w = shop.w
    annual = w.plan("annual", 100_000, interval="year")
    w.advance(utc(2026, 3, 20, 12))
    data = {
        "plan": annual.public_id,
        "quantity": "1",
        "when": "now",
        "proration": "invoice_now",
        "anchor": "keep",
    }
    before = _state(shop)
    response = shop.owner.post(shop.url("change/"), {**data, "preview": "1"})
    assert response.status_code == 200
    preview = response.context["preview"]
    # Credit Mar 20 .. Apr 9 = 21/31 → 6774; the year on the Mar 10 grid:
    # Mar 20 .. Mar 9 2027 = 355 of 365 days: 100000 × 355/365 = 97260.27 → 97260
    assert [(p.kind, p.amount_minor) for p in preview.lines] == [
        ("proration", -6_774),
        ("recurring", 97_260),
    ]
    assert _state(shop) == before
    assert shop.owner.post(shop.url("change/"), {**data, "confirm": "1"}).status_code == 302
    update = Invoice.objects.filter(
        subscription=shop.sub, billing_reason="subscription_update"
    ).get()
    assert update.total_minor == preview.total_minor == 90_486
    bad = shop.owner.post(shop.url("change/"), {**data, "anchor": "x", "preview": "1"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["anchor"]
