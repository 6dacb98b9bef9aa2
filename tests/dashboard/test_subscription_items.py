"""A subscription's add-ons on the dashboard (issue 16 item 4): the section of
the detail page, and add / change quantity / remove, each with the exact
preview before it is confirmed; bad input is an error next to its field and
changes nothing; another tenant's subscription, item or plan is a 404 (or not
a choice).

Amounts by hand: basic R$100 a month bought Mar 10 at noon (UTC; 09:00 in São
Paulo), so the period [Mar 10, Apr 10) has 31 days; on Mar 26 the days Mar 26 ..
Apr 9 remain: 15 of 31 (the day of the change counts as remaining)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from billing import items as billing_items
from billing.models import Invoice, PendingLine
from billing.services import invoice_mark_paid
from subscriptions import services as subs
from subscriptions.models import Plan, Subscription, SubscriptionItem
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.conftest import make_tenant
from tests.support.billing import ACTOR, World, utc, world

PASSWORD = "s3cret-Pass!"
START = utc(2026, 3, 10, 12)
MID = utc(2026, 3, 26, 12)


def _client(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@dataclass
class Shop:
    w: World
    basic: Plan
    storage: Plan  # R$31 a seat, R$5 setup fee
    support: Plan  # R$46.50 flat
    sub: Subscription
    owner: Client

    def url(self, name: str = "") -> str:
        return f"/dashboard/subscriptions/{self.sub.public_id}/{name}"

    def item(self, code: str) -> SubscriptionItem:
        return SubscriptionItem.objects.select_related("plan").get(
            subscription=self.sub, plan__code=code
        )

    def add(self, plan: Plan, quantity: int = 1) -> SubscriptionItem:
        return billing_items.subscription_item_add(
            tenant=self.w.tenant,
            subscription_id=self.sub.pk,
            plan=plan,
            quantity=quantity,
            actor=ACTOR,
            now=self.w.now,
            proration="none",
        )


def _state(s: Shop) -> tuple[Any, ...]:
    """Everything an add-on action could change."""
    return (
        list(
            SubscriptionItem.objects.filter(subscription=s.sub)
            .order_by("id")
            .values_list("plan__code", "quantity", "ended_at")
        ),
        list(Invoice.objects.filter(subscription=s.sub).values_list("id", "total_minor")),
        PendingLine.objects.filter(subscription=s.sub).count(),
        AuditEntry.objects.filter(action__startswith="subscription.item").count(),
    )


@pytest.fixture
def shop(db: None) -> Iterator[Shop]:
    with world(START) as w:
        basic = w.plan("basic", 10_000, max_pauses=2, max_pause_cycles=3)
        storage = w.plan("storage", 3_100, pricing_model="per_seat", setup_fee_minor=500)
        support = w.plan("support", 4_650)
        sub = w.subscribe(basic, w.customer("Ana Souza"))
        for invoice in w.invoices(sub):
            invoice_mark_paid(tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=w.now)
        w.advance(MID)
        yield Shop(w, basic, storage, support, w.refresh(sub), _client("owner@acme.example"))


@pytest.fixture
def other(shop: Shop) -> dict[str, Any]:
    """Another tenant's plan (same currency and interval) and subscription with an add-on."""
    setup = make_tenant("globex")
    tenant = setup.tenant
    with tenant_context(tenant):
        from billing import subscriptions as billing_subs
        from customers.models import Customer

        product = subs.product_create(tenant=tenant, name="G", actor=ACTOR, now=START)

        def plan(code: str, amount: int) -> Plan:
            return subs.plan_create(
                tenant=tenant,
                product=product,
                code=code,
                name=f"G {code}",
                currency="BRL",
                amount_minor=amount,
                actor=ACTOR,
                now=START,
            )

        base, extra = plan("basic", 1_000), plan("extra", 500)
        sub = billing_subs.subscription_create(
            tenant=tenant,
            customer=Customer.objects.create(tenant=tenant, name="Gus"),
            plan=base,
            actor=ACTOR,
            now=START,
            items=[(extra, 1)],
            collection_method="send_invoice",
        )
        item = SubscriptionItem.objects.get(subscription=sub)
    return {"tenant": tenant, "plan": extra, "sub": sub, "item": item}


# -- the section --------------------------------------------------------------------


def test_no_addons_says_what_to_do_next(shop: Shop) -> None:
    page = shop.owner.get(shop.url()).content.decode()

    assert 'data-testid="addons-empty"' in page
    assert "No add-ons." in page
    assert f'href="{shop.url("items/add/")}"' in page


def test_the_section_lists_live_addons_with_quantity_price_and_term(shop: Shop) -> None:
    onboarding = shop.w.plan("onboarding", 2_000, term_cycles=3)
    shop.add(shop.storage, 2)
    shop.add(onboarding)
    gone = shop.add(shop.support)
    billing_items.subscription_item_remove(
        tenant=shop.w.tenant,
        subscription_id=shop.sub.pk,
        item_id=gone.public_id,
        actor=ACTOR,
        now=shop.w.now,
        proration="none",
    )

    response = shop.owner.get(shop.url())
    page = response.content.decode()

    rows = response.context["items"]
    assert [
        (r.plan.code, r.quantity, r.unit_amount_minor, r.period_amount_minor) for r in rows
    ] == [
        ("storage", 2, 3_100, 6_200),
        ("onboarding", 1, 2_000, 2_000),
    ]
    # Added mid-period, no full period billed yet: its 3 periods are Apr 10, May 10 and
    # Jun 10's, so it ends on Jul 10 (09:00 in São Paulo, 12:00 UTC).
    assert rows[1].ends_at == utc(2026, 7, 10, 12)
    assert "R$62.00" in page.replace("\xa0", "")
    assert "Support" not in page.split('data-testid="addons"')[1].split("</section>")[0]
    assert f'href="{shop.url("items/" + rows[0].public_id + "/quantity/")}"' in page
    assert f'href="{shop.url("items/" + rows[0].public_id + "/remove/")}"' in page


def test_the_section_formats_money_in_the_viewers_language(shop: Shop) -> None:
    shop.add(shop.storage, 2)
    page = shop.owner.get(shop.url(), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    section = page.split('data-testid="addons"')[1].split("</section>")[0]
    assert "R$\xa062,00" in section or "R$ 62,00" in section


# -- add ---------------------------------------------------------------------------


def test_add_offers_only_eligible_plans(shop: Shop) -> None:
    shop.w.plan("usd-addon", 1_000, currency="USD")
    shop.w.plan("yearly-addon", 1_000, interval="year")
    shop.w.plan("arrears-addon", 1_000, billing_timing="in_arrears")
    shop.add(shop.support)

    response = shop.owner.get(shop.url("items/add/"))

    assert response.status_code == 200
    offered = [p.code for p in response.context["form"].fields["plan"].queryset]
    # Not the base plan, not one on the subscription already, not another currency,
    # interval or timing.
    assert offered == ["storage"]


def test_add_shows_the_exact_preview_then_adds(shop: Shop) -> None:
    before = _state(shop)
    data = {"plan": shop.storage.public_id, "quantity": "2", "proration": "invoice_now"}

    response = shop.owner.post(shop.url("items/add/"), {**data, "preview": "1"})

    assert response.status_code == 200
    preview = response.context["preview"]
    # 2 × 3_100 × 15/31 = 3_000, and the R$5 setup fee: 3_500, invoiced now.
    assert [(ln.kind, ln.total_minor) for ln in preview.lines] == [
        ("proration", 3_000),
        ("setup_fee", 500),
    ]
    assert (preview.total_minor, preview.invoiced) == (3_500, True)
    page = response.content.decode().replace("\xa0", "")
    assert "R$35.00" in page
    assert "Invoiced when you confirm." in page
    assert _state(shop) == before  # a preview changes nothing

    response = shop.owner.post(shop.url("items/add/"), {**data, "confirm": "1"})

    assert response.status_code == 302
    assert response["Location"] == shop.url()
    item = shop.item("storage")
    assert (item.quantity, item.ended_at) == (2, None)
    update = Invoice.objects.get(subscription=shop.sub, billing_reason="subscription_update")
    assert update.total_minor == 3_500


def test_add_to_the_next_invoice_says_so(shop: Shop) -> None:
    data = {"plan": shop.storage.public_id, "quantity": "1", "proration": "next_invoice"}
    response = shop.owner.post(shop.url("items/add/"), {**data, "preview": "1"})
    # 3_100 × 15/31 = 1_500, and the setup fee, on the next invoice.
    assert (response.context["preview"].total_minor, response.context["preview"].invoiced) == (
        2_000,
        False,
    )
    assert "Added to the next invoice." in response.content.decode()


def test_add_preview_as_an_htmx_fragment(shop: Shop) -> None:
    response = shop.owner.post(
        shop.url("items/add/"),
        {"plan": shop.support.public_id, "quantity": "1", "proration": "none"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="item-preview"')
    assert "Nothing is billed now" in page
    bad = shop.owner.post(
        shop.url("items/add/"),
        {"plan": shop.support.public_id, "quantity": "2", "proration": "none"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 200
    assert "A flat plan is sold one at a time." in bad.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "The quantity is at least 1"),
        ({"quantity": "-3"}, "quantity", "The quantity is at least 1"),
        ({"quantity": str(10**9)}, "quantity", "The quantity is at most 1,000,000."),
        ({"quantity": "abc"}, "quantity", "Enter a whole number."),
        ({"quantity": ""}, "quantity", "This field is required."),
        ({"plan": "support", "quantity": "2"}, "quantity", "A flat plan is sold one at a time."),
        ({"plan": "basic"}, "plan", "Choose one of the plans listed."),
        ({"plan": ""}, "plan", "This field is required."),
        ({"proration": "later"}, "proration", "Select a valid choice."),
    ],
)
def test_add_bad_input_is_an_error_next_to_the_field(
    shop: Shop, data: dict[str, str], field: str, message: str
) -> None:
    before = _state(shop)
    plans = {"support": shop.support.public_id, "basic": shop.basic.public_id}
    post = {"plan": shop.storage.public_id, "quantity": "1", "proration": "invoice_now"}
    post |= {k: plans.get(v, v) if k == "plan" else v for k, v in data.items()}

    response = shop.owner.post(shop.url("items/add/"), {**post, "confirm": "1"})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert _state(shop) == before


def test_add_another_tenants_plan_is_a_404(shop: Shop, other: dict[str, Any]) -> None:
    before = _state(shop)
    for plan in (other["plan"].public_id, "plan_nope"):
        for extra in ({"preview": "1"}, {"confirm": "1"}):
            response = shop.owner.post(
                shop.url("items/add/"),
                {"plan": plan, "quantity": "1", "proration": "none", **extra},
            )
            assert response.status_code == 404
    assert _state(shop) == before


def test_add_without_eligible_plans_says_what_to_do(shop: Shop) -> None:
    Plan.objects.filter(pk__in=[shop.storage.pk, shop.support.pk]).update(active=False)
    page = shop.owner.get(shop.url("items/add/")).content.decode()
    assert 'data-testid="no-addon-plans"' in page
    assert 'href="/dashboard/catalog/plans/new/"' in page or "Create a plan" in page


def test_a_state_conflict_from_the_service_is_shown_and_changes_nothing(shop: Shop) -> None:
    # Paused now: its add-ons cannot change (the service says so; the form is valid).
    from billing import subscriptions as billing_subs

    billing_subs.subscription_pause_now(
        tenant=shop.w.tenant, subscription_id=shop.sub.pk, actor=ACTOR, now=shop.w.now
    )
    before = _state(shop)
    data = {"plan": shop.storage.public_id, "quantity": "1", "proration": "none"}

    for extra in ({"preview": "1"}, {"confirm": "1"}):
        response = shop.owner.post(shop.url("items/add/"), {**data, **extra})
        assert response.status_code == 400
        assert response.context["form"].non_field_errors() == [
            "A paused subscription's items cannot be changed."
        ]
        assert "items cannot be changed" in response.content.decode().replace("&#x27;", "'")
    assert _state(shop) == before
    # The section shows no action links while paused.
    page = shop.owner.get(shop.url()).content.decode()
    assert 'data-testid="addon-add-link"' not in page


# -- change quantity, remove ---------------------------------------------------------


def test_change_quantity_shows_the_exact_preview_then_changes(shop: Shop) -> None:
    item = shop.add(shop.storage, 2)
    before = _state(shop)
    url = shop.url(f"items/{item.public_id}/quantity/")
    assert shop.owner.get(url).context["form"]["quantity"].value() == 2
    data = {"quantity": "3", "proration": "invoice_now"}

    response = shop.owner.post(url, {**data, "preview": "1"})

    # A credit for 2 seats' unused part, a charge for 3: −3_000 + 4_500 = 1_500.
    preview = response.context["preview"]
    assert [ln.total_minor for ln in preview.lines] == [-3_000, 4_500]
    assert preview.total_minor == 1_500
    assert "R$15.00" in response.content.decode().replace("\xa0", "")
    assert _state(shop) == before

    response = shop.owner.post(url, {**data, "confirm": "1"})

    assert response.status_code == 302
    assert shop.item("storage").quantity == 3
    update = Invoice.objects.filter(subscription=shop.sub).order_by("pk").last()
    assert update is not None
    assert update.total_minor == 1_500


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "The quantity is at least 1"),
        ("-1", "The quantity is at least 1"),
        (str(10**9), "The quantity is at most 1,000,000."),
        ("two", "Enter a whole number."),
        ("2", "That is the add-on's current quantity."),
    ],
)
def test_change_quantity_bad_input_changes_nothing(shop: Shop, quantity: str, message: str) -> None:
    item = shop.add(shop.storage, 2)
    before = _state(shop)
    response = shop.owner.post(
        shop.url(f"items/{item.public_id}/quantity/"),
        {"quantity": quantity, "proration": "invoice_now", "confirm": "1"},
    )
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["quantity"])
    assert _state(shop) == before


def test_remove_shows_the_credit_then_removes(shop: Shop) -> None:
    item = shop.add(shop.storage, 3)
    before = _state(shop)
    url = shop.url(f"items/{item.public_id}/remove/")

    response = shop.owner.post(url, {"proration": "invoice_now", "preview": "1"})

    # 3 × 3_100 × 15/31 = 4_500 back: the invoice nets to zero, the credit goes to the
    # customer's balance.
    assert response.context["preview"].total_minor == 0
    assert (response.context["net_minor"], response.context["carried_minor"]) == (-4_500, 4_500)
    page = response.content.decode().replace("\xa0", "").replace("&#x27;", "'")
    assert "Unused time on Storage" in page
    assert "R$45.00 is credited to the customer's balance when you confirm" in page
    assert _state(shop) == before

    response = shop.owner.post(url, {"proration": "invoice_now", "confirm": "1"})

    assert response.status_code == 302
    assert shop.item("storage").ended_at == shop.w.now
    # An ended add-on has no pages any more.
    assert shop.owner.get(url).status_code == 404
    assert 'data-testid="addons-empty"' in shop.owner.get(shop.url()).content.decode()


def test_remove_with_the_credit_on_the_next_invoice_says_so(shop: Shop) -> None:
    item = shop.add(shop.storage, 3)
    url = shop.url(f"items/{item.public_id}/remove/")

    response = shop.owner.post(url, {"proration": "next_invoice", "preview": "1"})

    assert response.context["net_minor"] == -4_500
    assert response.context["preview"].invoiced is False
    page = response.content.decode()
    assert "Added to the next invoice." in page
    assert 'data-testid="preview-carried"' not in page

    assert shop.owner.post(url, {"proration": "next_invoice", "confirm": "1"}).status_code == 302
    pending = PendingLine.objects.filter(subscription=shop.sub, invoice__isnull=True)
    assert [(p.kind, p.amount_minor) for p in pending] == [("proration", -4_500)]


# -- isolation ----------------------------------------------------------------------


def test_another_tenants_subscription_and_item_are_a_404(shop: Shop, other: dict[str, Any]) -> None:
    mine = shop.add(shop.storage, 1)
    before = _state(shop)
    theirs, their_item = other["sub"].public_id, other["item"].public_id
    paths = [
        f"/dashboard/subscriptions/{theirs}/items/add/",
        f"/dashboard/subscriptions/{theirs}/items/{their_item}/quantity/",
        f"/dashboard/subscriptions/{theirs}/items/{their_item}/remove/",
        # Their item under my subscription, and my item under theirs.
        shop.url(f"items/{their_item}/quantity/"),
        shop.url(f"items/{their_item}/remove/"),
        f"/dashboard/subscriptions/{theirs}/items/{mine.public_id}/remove/",
        shop.url("items/si_nope/quantity/"),
    ]
    data = {"quantity": "2", "proration": "none", "confirm": "1", "plan": other["plan"].public_id}

    got = {(p, m): getattr(shop.owner, m)(p, data).status_code for p in paths for m in ("get",)}
    got |= {(p, "post"): shop.owner.post(p, data).status_code for p in paths}

    assert set(got.values()) == {404}
    assert _state(shop) == before
    with tenant_context(other["tenant"]):
        item = SubscriptionItem.objects.get(pk=other["item"].pk)
        assert (item.quantity, item.ended_at) == (1, None)
        assert Subscription.objects.get(pk=other["sub"].pk).status == other["sub"].status


def test_a_viewer_sees_the_addons_without_actions(shop: Shop) -> None:
    from core import clock
    from core.actors import Actor
    from tenants.accounts import staff_user_ensure
    from tenants.services import membership_add

    shop.add(shop.storage, 2)
    user = staff_user_ensure(email="viewer@acme.example", password=PASSWORD)
    membership_add(
        tenant=shop.w.tenant, user=user, role="viewer", actor=Actor.system(), now=clock.now()
    )
    client = _client("viewer@acme.example")
    page = client.get(shop.url()).content.decode()
    assert 'data-testid="addons"' in page
    assert 'data-testid="addon-quantity-link"' not in page
    assert client.get(shop.url("items/add/")).status_code == 403
