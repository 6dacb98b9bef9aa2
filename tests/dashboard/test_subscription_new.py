"""Starting a subscription from the dashboard (issue 13): find the customer, pick
the plan and options, see the exact first invoice, confirm once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from billing.coupons import coupon_create
from billing.models import Invoice, InvoiceLine
from billing.taxes import tax_rate_create
from customers.models import Customer, PaymentMethod
from subscriptions import services as subs
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Event, Tenant
from tests.conftest import make_tenant
from tests.dashboard.helpers import add_member, signed_in
from tests.support.billing import ACTOR, World, utc, world

START = utc(2026, 3, 10, 12)
URL = "/dashboard/subscriptions/new/"


@dataclass
class Shop:
    w: World
    flat: Plan
    seats: Plan
    customer: Customer
    card: PaymentMethod
    owner: Client

    def form(self, **over: Any) -> dict[str, Any]:
        data = {
            "customer": self.customer.public_id,
            "plan": self.flat.public_id,
            "quantity": "1",
            "coupon": "",
            "collection_method": "charge_automatically",
            "payment_method": "",
            "trial_days": "",
            "installments": "",
            "token": "tok-" + self.customer.public_id,
        }
        data.update(over)
        return data


def _counts(tenant: Tenant) -> tuple[int, int, int, int]:
    with tenant_context(tenant):
        return (
            Subscription.objects.filter(tenant=tenant).count(),
            Invoice.objects.filter(tenant=tenant).count(),
            InvoiceLine.objects.filter(tenant=tenant).count(),
            Event.objects.filter(tenant=tenant).count(),
        )


@pytest.fixture
def shop(db: None) -> Iterator[Shop]:
    with world(START, locale="en") as w:
        iss = tax_rate_create(
            tenant=w.tenant, name="ISS", percent=Decimal(5), actor=ACTOR, now=START
        )
        flat = w.plan(
            "pro", 10_000, name="Pro", setup_fee_minor=5_000, tax_rate=iss, max_installments=3
        )
        seats = w.plan("seats", 2_000, pricing_model="per_seat", name="Seats")
        coupon_create(tenant=w.tenant, code="HALF", percent_off=Decimal(50), actor=ACTOR, now=START)
        customer = w.customer("Ana Souza")
        card = PaymentMethod.objects.create(
            tenant=w.tenant,
            customer=customer,
            kind="card",
            gateway="sandbox",
            token="t1",
            brand="visa",
            last4="4242",
            is_default=True,
        )
        yield Shop(w, flat, seats, customer, card, signed_in("owner@acme.example"))


def _total(html: str) -> str:
    found = re.search(r'data-testid="preview-total">([^<]+)<', html)
    assert found, html[-3000:]
    return found.group(1).strip()


def test_the_picker_finds_the_customer_and_links_to_the_form(shop: Shop) -> None:
    page = shop.owner.get(URL, {"q": "Ana"}).content.decode()

    assert f'href="?customer={shop.customer.public_id}"' in page
    form = shop.owner.get(URL, {"customer": shop.customer.public_id})
    assert form.status_code == 200
    assert 'data-testid="new-sub-form"' in form.content.decode()
    assert shop.flat.public_id in form.content.decode()
    assert shop.card.public_id in form.content.decode()


def test_the_buttons_on_the_customer_page_and_the_list(shop: Shop) -> None:
    detail = shop.owner.get(f"/dashboard/customers/{shop.customer.public_id}/").content.decode()
    listing = shop.owner.get("/dashboard/subscriptions/").content.decode()

    assert f"{URL}?customer={shop.customer.public_id}" in detail
    assert f'href="{URL}"' in listing


def test_the_preview_is_the_first_invoice_to_the_cent_and_saves_nothing(shop: Shop) -> None:
    before = _counts(shop.w.tenant)

    preview = shop.owner.post(URL, shop.form(coupon="HALF", preview="1"))

    assert preview.status_code == 200
    html = preview.content.decode()
    # 100.00 recurring - 50% (HALF on recurring) + 50.00 setup fee, +5% ISS on each.
    assert _total(html) == "R$105.00"
    assert _counts(shop.w.tenant) == before  # nothing stays: rows, invoices, events

    done = shop.owner.post(URL, shop.form(coupon="HALF", confirm="1"))

    assert done.status_code == 302
    with tenant_context(shop.w.tenant):
        sub = Subscription.objects.get(tenant=shop.w.tenant, customer=shop.customer)
        first = Invoice.objects.get(subscription=sub, billing_reason="subscription_create")
    assert done["Location"] == f"/dashboard/subscriptions/{sub.public_id}/"
    assert first.total_minor == 10_500
    assert sub.payment_method_id is None  # the customer's default, as the API does


def test_a_double_confirmation_starts_one_subscription(shop: Shop) -> None:
    first = shop.owner.post(URL, shop.form(confirm="1"))
    again = shop.owner.post(URL, shop.form(confirm="1"))

    with tenant_context(shop.w.tenant):
        subs_made = list(Subscription.objects.filter(tenant=shop.w.tenant))
    assert len(subs_made) == 1
    assert (
        first["Location"]
        == again["Location"]
        == f"/dashboard/subscriptions/{subs_made[0].public_id}/"
    )


def test_seats_payment_method_send_invoice_trial_and_installments(shop: Shop) -> None:
    trial = shop.owner.post(
        URL,
        shop.form(
            plan=shop.seats.public_id,
            quantity="3",
            trial_days="14",
            collection_method="send_invoice",
            payment_method=shop.card.public_id,
            preview="1",
        ),
    ).content.decode()
    assert "Trial until 03/24/2026" in trial
    assert "Nothing is billed now." in trial

    parts = shop.owner.post(URL, shop.form(installments="3", preview="1")).content.decode()
    assert _total(parts) == "R$157.50"  # 100 + 50 setup, +5% ISS
    assert 'data-testid="preview-installments"' in parts
    assert parts.count("<li>R$") == 3

    shop.owner.post(
        URL,
        shop.form(
            plan=shop.seats.public_id,
            quantity="3",
            collection_method="send_invoice",
            payment_method=shop.card.public_id,
            confirm="1",
        ),
    )
    with tenant_context(shop.w.tenant):
        sub = Subscription.objects.get(tenant=shop.w.tenant)
    assert (sub.quantity, sub.collection_method, sub.payment_method_id) == (
        3,
        "send_invoice",
        shop.card.pk,
    )


def _other_tenant() -> dict[str, Any]:
    setup = make_tenant("globex")
    tenant = setup.tenant
    with tenant_context(tenant):
        product = subs.product_create(tenant=tenant, name="G", actor=ACTOR, now=START)
        plan = subs.plan_create(
            tenant=tenant,
            product=product,
            code="g",
            name="G",
            currency="BRL",
            amount_minor=1_000,
            actor=ACTOR,
            now=START,
        )
        customer = Customer.objects.create(tenant=tenant, name="Gus")
        card = PaymentMethod.objects.create(
            tenant=tenant, customer=customer, kind="card", gateway="sandbox", token="t9"
        )
    return {"tenant": tenant, "plan": plan, "customer": customer, "card": card}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "0"),
        ("quantity", "-1"),
        ("quantity", str(10**9)),
        ("quantity", "abc"),
        ("quantity", "2"),  # a flat plan is sold one at a time (the service says so)
        ("quantity", ""),
        ("plan", ""),
        ("plan", "plan_nope"),
        ("plan", "plan\x00x"),
        ("payment_method", "pm_nope"),
        ("trial_days", "-1"),
        ("trial_days", "10000"),
        ("installments", "1"),
        ("installments", "30"),
        ("installments", "3.5"),
        ("collection_method", "boleto_magic"),
        ("coupon", "NOPE"),
        ("coupon", "x" * 65),
    ],
)
def test_bad_input_is_an_error_next_to_the_field_and_nothing_is_saved(
    shop: Shop, field: str, value: str
) -> None:
    before = _counts(shop.w.tenant)

    response = shop.owner.post(URL, shop.form(**{field: value, "confirm": "1"}))

    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert _counts(shop.w.tenant) == before


def test_installments_on_a_plan_without_them_are_refused(shop: Shop) -> None:
    before = _counts(shop.w.tenant)

    response = shop.owner.post(
        URL, shop.form(plan=shop.seats.public_id, installments="2", confirm="1")
    )

    assert response.status_code == 400
    assert 'data-testid="error-installments"' in response.content.decode()
    assert _counts(shop.w.tenant) == before


def test_another_tenants_ids_are_refused_and_nothing_changes(shop: Shop) -> None:
    other = _other_tenant()
    before, theirs = _counts(shop.w.tenant), _counts(other["tenant"])

    picked = shop.owner.get(URL, {"customer": other["customer"].public_id})
    as_customer = shop.owner.post(URL, shop.form(customer=other["customer"].public_id, confirm="1"))
    as_plan = shop.owner.post(URL, shop.form(plan=other["plan"].public_id, confirm="1"))
    as_method = shop.owner.post(URL, shop.form(payment_method=other["card"].public_id, confirm="1"))

    assert picked.status_code == as_customer.status_code == 404
    assert 'data-testid="error-customer"' in picked.content.decode()
    assert 'data-testid="error-plan"' in as_plan.content.decode()
    assert 'data-testid="error-payment_method"' in as_method.content.decode()
    assert (as_plan.status_code, as_method.status_code) == (400, 400)
    assert _counts(shop.w.tenant) == before
    assert _counts(other["tenant"]) == theirs


def test_only_roles_that_manage_subscriptions_may_start_one(shop: Shop) -> None:
    add_member(shop.w.tenant, "viewer@acme.example", "viewer")
    add_member(shop.w.tenant, "support@acme.example", "support")
    before = _counts(shop.w.tenant)

    viewer = signed_in("viewer@acme.example")
    refused = viewer.post(URL, shop.form(confirm="1"))
    listing = viewer.get("/dashboard/subscriptions/").content.decode()
    support = signed_in("support@acme.example").post(URL, shop.form(confirm="1"))

    assert refused.status_code == 403
    assert f'href="{URL}"' not in listing
    assert _counts(shop.w.tenant) != before  # support started it
    assert support.status_code == 302
