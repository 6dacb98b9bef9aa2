"""Commissions on the dashboard: the seller's rule, the statement and its CSV,
attributing a sale on the subscription page; bad input and other tenants' ids."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from billing import commissions
from billing.gateways.sandbox import SandboxGateway
from billing.models import CommissionPlan, Sale, Seller
from billing.payments import payment_method_attach
from billing.sellers import seller_create
from tenants.context import tenant_context
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 3, 10, 15)
PASSWORD = "s3cret-Pass!"


def _owner(slug: str, language: str = "pt-br") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    login = {"login": f"owner@{slug}.example", "password": PASSWORD}
    assert client.post("/accounts/login/", login).status_code == 302
    client.cookies["django_language"] = language
    return client


def _scene(slug: str = "acme"):  # type: ignore[no-untyped-def]
    with world(NOW, slug=slug) as w:
        customer = w.customer("Ana Lima")
        saved = SandboxGateway().tokenize_card(
            number="4242424242424242", exp_month=1, exp_year=2031, cvc="321"
        )
        payment_method_attach(
            tenant=w.tenant, customer=customer, saved=saved, gateway="sandbox", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan(amount=123_456), customer)
        seller = seller_create(tenant=w.tenant, name="Bia", actor=ACTOR, now=NOW)
        return w.tenant, sub, seller


def test_owner_sets_a_rule_attributes_a_sale_and_reads_the_statement_in_reais() -> None:
    _tenant, sub, seller = _scene()
    owner = _owner("acme")

    saved = owner.post(
        f"/dashboard/catalog/sellers/{seller.public_id}/commission/",
        {"kind": "first_payment", "percent": "12,5"},
    )
    assert saved.status_code == 302
    attributed = owner.post(
        f"/dashboard/subscriptions/{sub.public_id}/seller/", {"seller": seller.public_id}
    )
    assert attributed.status_code == 302
    detail = owner.get(f"/dashboard/subscriptions/{sub.public_id}/").content.decode()
    assert "Bia" in detail

    page = owner.get(
        f"/dashboard/catalog/sellers/{seller.public_id}/statement/",
        {"start": "01/03/2026", "end": "31/03/2026"},
    )
    body = page.content.decode()
    # 12,5 % of R$ 1.234,56 = R$ 154,32
    assert page.status_code == 200
    assert "R$\xa01.234,56" in body
    assert "R$\xa0154,32" in body
    assert "10/03/2026" in body

    exported = owner.get(
        f"/dashboard/catalog/sellers/{seller.public_id}/statement/",
        {"start": "2026-03-01", "end": "2026-03-31", "format": "csv"},
    )
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert exported["Content-Type"].startswith("text/csv")
    assert rows[1][:2] == ["2026-03-10", "earned"]
    assert rows[1][5:] == ["123456", "15432", "BRL"]
    assert rows[-1] == ["total", "net", "", "", "", "", "15432", "BRL"]


def test_a_fixed_amount_is_typed_in_the_viewers_language() -> None:
    tenant, _sub, seller = _scene()
    owner = _owner("acme")
    response = owner.post(
        f"/dashboard/catalog/sellers/{seller.public_id}/commission/",
        {"kind": "fixed", "amount": "1.500,00"},
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        assert CommissionPlan.objects.get(seller=seller).amount_minor == 150_000


@pytest.mark.parametrize(
    ("post", "field"),
    [
        pytest.param({"kind": "first_payment"}, "percent", id="no-percent"),
        pytest.param({"kind": "first_payment", "percent": "0"}, "percent", id="zero"),
        pytest.param({"kind": "first_payment", "percent": "101"}, "percent", id="over-100"),
        pytest.param({"kind": "recurring", "percent": "5"}, "months", id="no-months"),
        pytest.param({"kind": "fixed", "amount": ""}, "amount", id="no-amount"),
        pytest.param({"kind": "fixed", "amount": "-5"}, "amount", id="negative"),
        pytest.param({"kind": "fixed", "amount": "9" * 20}, "amount", id="huge"),
        pytest.param({"kind": "bonus"}, "kind", id="unknown-kind"),
    ],
)
def test_bad_rules_come_back_next_to_their_field_and_save_nothing(post, field) -> None:  # type: ignore[no-untyped-def]
    tenant, _sub, seller = _scene()
    response = _owner("acme", "en").post(
        f"/dashboard/catalog/sellers/{seller.public_id}/commission/", post
    )
    assert response.status_code == 400
    assert field in response.context["commission_form"].errors
    with tenant_context(tenant):
        assert not CommissionPlan.objects.exists()


def test_bad_periods_and_other_tenants_ids_are_refused() -> None:
    tenant, sub, seller = _scene()
    other_tenant, other_sub, other_seller = _scene("globex")
    owner = _owner("acme", "en")
    url = f"/dashboard/catalog/sellers/{seller.public_id}/statement/"
    assert owner.get(url, {"start": "2026-03-31", "end": "2026-03-01"}).status_code == 400
    assert owner.get(url, {"start": "nope", "end": "2026-03-01"}).status_code == 400
    assert owner.get(url, {"start": "2020-01-01", "end": "2026-03-01"}).status_code == 400
    theirs = f"/dashboard/catalog/sellers/{other_seller.public_id}/"
    assert owner.get(theirs + "statement/").status_code == 404
    assert owner.post(theirs + "commission/", {"kind": "none"}).status_code == 404
    # Another tenant's seller on my subscription: refused, nothing attributed.
    response = owner.post(
        f"/dashboard/subscriptions/{sub.public_id}/seller/", {"seller": other_seller.public_id}
    )
    assert response.status_code == 302
    assert (
        owner.post(
            f"/dashboard/subscriptions/{other_sub.public_id}/seller/", {"seller": seller.public_id}
        ).status_code
        == 404
    )
    with tenant_context(tenant):
        assert not Sale.objects.exists()
    with tenant_context(other_tenant):
        assert not Sale.objects.exists()
        assert Seller.objects.count() == 1


def test_the_empty_statement_says_how_commissions_come() -> None:
    tenant, _sub, seller = _scene()
    with tenant_context(tenant):
        commissions.seller_commission_set(
            tenant=tenant,
            seller_id=seller.pk,
            rule=commissions.commission_rule_clean(kind="fixed", amount_minor=5_000),
            actor=ACTOR,
            now=NOW,
        )
    body = _owner("acme", "en").get(f"/dashboard/catalog/sellers/{seller.public_id}/statement/")
    assert "attribute sales on the subscription" in body.content.decode()
