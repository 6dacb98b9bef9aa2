"""The hosted checkout: a visitor subscribes to a plan with a sandbox card and
lands signed in to the portal; bad input is refused next to its field and
leaves nothing behind."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client, override_settings

from billing.coupons import coupon_create
from billing.models import Invoice, PaymentAttempt
from customers.models import Customer, PaymentMethod
from portal.sessions import SESSION_KEY
from subscriptions.models import Plan, Subscription
from tenants.context import tenant_context
from tenants.models import Tenant
from tests.support.billing import ACTOR, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
CPF = "529.982.247-25"
ADDRESS = {
    "address_postal_code": "01310-100",
    "address_line1": "Avenida Paulista",
    "address_number": "1000",
    "address_complement": "Sala 5",
    "address_district": "Bela Vista",
    "address_city": "São Paulo",
    "address_state": "sp",
    "address_country": "",
}


def _token(client: Client, number: str = "4242424242424242", year: int = 2031) -> str:
    response = client.post(
        "/sandbox/tokens",
        json.dumps({"number": number, "exp_month": 12, "exp_year": year, "cvc": "123"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["id"])


def _shop(**plan_kw: Any) -> tuple[Tenant, Plan, Plan]:
    with world(NOW, locale="en") as w:
        plan = w.plan(
            "monthly", amount=5_000, setup_fee_minor=2_000, pricing_model="per_seat", **plan_kw
        )
        other = w.plan("other", amount=9_000)
        coupon_create(
            tenant=w.tenant,
            code="HALF",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("50"),
            plan_codes=["monthly"],
        )
        coupon_create(
            tenant=w.tenant,
            code="OTHERONLY",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("10"),
            plan_codes=["other"],
        )
        coupon_create(
            tenant=w.tenant,
            code="GONE",
            actor=ACTOR,
            now=w.now,
            percent_off=Decimal("10"),
            redeem_by=utc(2026, 1, 1),
        )
    return w.tenant, plan, other


def _form(client: Client, **overrides: Any) -> dict[str, Any]:
    data = {
        "quantity": "1",
        "coupon": "",
        "name": "Ana Souza",
        "email": "ana@example.com",
        "phone": "",
        "tax_id": CPF,
        "reference": _token(client),
    }
    data.update(overrides)
    return data


def _counts(tenant: Tenant) -> tuple[int, int, int, int]:
    with tenant_context(tenant):
        return (
            Customer.objects.filter(tenant=tenant).count(),
            Subscription.objects.filter(tenant=tenant).count(),
            Invoice.objects.filter(tenant=tenant).count(),
            PaymentMethod.objects.filter(tenant=tenant).count(),
        )


def test_the_page_shows_the_plan_its_setup_fee_and_the_card_fields() -> None:
    tenant, plan, _ = _shop()
    page = Client().get(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="plan-name">Monthly<' in html
    assert 'data-testid="setup-fee"' in html
    assert 'id="card-number"' in html
    assert 'name="card' not in html  # card fields are never posted to us


def test_a_sandbox_card_with_a_coupon_subscribes_charges_and_signs_in() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    response = client.post(
        f"/t/{tenant.slug}/checkout/{plan.public_id}/", _form(client, coupon="HALF")
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == f"/t/{tenant.slug}/checkout/done/"
    with tenant_context(tenant):
        customer = Customer.objects.get(tenant=tenant)
        assert (customer.email, customer.tax_id) == ("ana@example.com", "52998224725")
        sub = Subscription.objects.get(customer=customer)
        assert (sub.plan_id, sub.quantity, sub.status) == (plan.pk, 1, "active")
        invoice = Invoice.objects.get(subscription=sub)
        # 50.00 at half price plus the 20.00 setup fee (the coupon is for the recurring part).
        assert invoice.total_minor == 2_500 + 2_000
        assert invoice.status == "paid"
        attempt = PaymentAttempt.objects.get(invoice=invoice)
        assert attempt.status == "succeeded"
    assert client.session[SESSION_KEY]["customer"] == customer.public_id
    assert client.session[SESSION_KEY]["method"] == "checkout"
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert b'data-testid="paid"' in done.content
    assert client.get(f"/t/{tenant.slug}/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tax_id": "123.456.789-00"}, "tax_id"),
        ({"coupon": "NOPE"}, "coupon"),
        ({"coupon": "GONE"}, "coupon"),
        ({"coupon": "OTHERONLY"}, "coupon"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": str(10**9)}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"email": "ana\x00@example.com"}, "email"),
        ({"name": ""}, "name"),
        ({"reference": ""}, "card"),
        ({"reference": "tok_sandbox_ok_forged"}, "card"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_creates_nothing(
    overrides: dict[str, str], field: str
) -> None:
    tenant, plan, _ = _shop()
    client = Client()
    response = client.post(
        f"/t/{tenant.slug}/checkout/{plan.public_id}/", _form(client, **overrides)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-error="{field}">' in html
    assert f'data-error="{field}"></p>' not in html  # the message is there, not empty
    assert _counts(tenant) == (0, 0, 0, 0)
    assert SESSION_KEY not in client.session


def test_another_merchants_plan_or_an_unknown_id_is_not_found() -> None:
    tenant, plan, _ = _shop()
    with world(NOW, slug="rival"):
        pass
    client = Client()
    assert client.get(f"/t/rival/checkout/{plan.public_id}/").status_code == 404
    assert client.post(f"/t/rival/checkout/{plan.public_id}/", _form(client)).status_code == 404
    assert client.get(f"/t/{tenant.slug}/checkout/plan_nope/").status_code == 404


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000000000009995", "insufficient funds"),
        ("4000000000000069", "expired"),
        ("4000000000000002", "do not honour"),
    ],
)
def test_a_declined_card_shows_the_gateways_message_and_creates_nothing(
    number: str, message: str
) -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, reference=_token(client, number))
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)
    assert response.status_code == 402
    html = response.content.decode()
    assert 'data-error="card">' in html
    assert message in html
    assert _counts(tenant) == (0, 0, 0, 0)
    assert SESSION_KEY not in client.session


def test_a_card_declined_only_when_charged_leaves_the_subscription_incomplete() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, reference=_token(client, "4000000000000341"))
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert b'data-testid="declined"' in done.content
    assert b"The card was declined." in done.content
    with tenant_context(tenant):
        sub = Subscription.objects.get(tenant=tenant)
        assert sub.status == "incomplete"
        assert Invoice.objects.get(subscription=sub).status == "open"


def test_a_3d_secure_card_goes_through_the_issuers_page_and_comes_back_paid() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, reference=_token(client, "4000002500003155"))
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/sandbox/authenticate/")
    assert location.endswith(f"?return=%2Ft%2F{tenant.slug}%2Fcheckout%2Fdone%2F")
    with tenant_context(tenant):
        assert Subscription.objects.get(tenant=tenant).status == "incomplete"
    page = client.post(location, {"outcome": "approve"})
    assert page.status_code == 200
    assert f'href="/t/{tenant.slug}/checkout/done/"'.encode() in page.content
    with tenant_context(tenant):
        sub = Subscription.objects.get(tenant=tenant)
        assert sub.status == "active"
        assert Invoice.objects.get(subscription=sub).status == "paid"
    assert b'data-testid="paid"' in client.get(f"/t/{tenant.slug}/checkout/done/").content


def test_the_issuers_page_sends_the_payer_back_only_to_a_path_of_ours() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, reference=_token(client, "4000002500003155"))
    location = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)["Location"]
    path = location.split("?")[0]
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        page = client.post(f"{path}?return={evil}", {"outcome": "approve"})
        assert b'data-testid="continue"' not in page.content
    page = client.get(f"{path}?return=/t/{tenant.slug}/checkout/done/")
    assert b'data-testid="continue"' in page.content


@override_settings(CHECKOUT_DECLINES_TO_BLOCK=3)
def test_card_testing_many_declines_from_one_ip_block_further_attempts() -> None:
    tenant, plan, _ = _shop()
    client = Client(REMOTE_ADDR="198.51.100.7")
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/"
    for _ in range(3):
        data = _form(client, reference=_token(client, "4000000000000002"))
        assert client.post(url, data).status_code == 402
    # Now even a good card from that address is refused, and nothing is created.
    response = client.post(url, _form(client))
    assert response.status_code == 429
    assert b'data-error="card">Too many declined cards' in response.content
    assert _counts(tenant) == (0, 0, 0, 0)
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.8")
    assert other.post(url, _form(other)).status_code == 302


@override_settings(CHECKOUT_RATE_PER_IP=2)
def test_submissions_per_ip_are_rate_limited() -> None:
    tenant, plan, _ = _shop()
    client = Client(REMOTE_ADDR="198.51.100.9")
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/"
    assert client.post(url, _form(client, name="")).status_code == 400
    assert client.post(url, _form(client, name="")).status_code == 400
    response = client.post(url, _form(client))
    assert response.status_code == 429
    assert b'data-error="form">Too many attempts' in response.content
    assert _counts(tenant) == (0, 0, 0, 0)


def test_the_quote_prices_setup_fee_coupon_and_next_charge_and_saves_nothing() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/quote/"
    plain = client.get(url, {"quantity": "2"})
    assert plain.status_code == 200, plain.content
    assert b'data-testid="total-now" data-minor="12000"' in plain.content  # 2 x 50 + 20
    half = client.get(url, {"quantity": "1", "coupon": "HALF"})
    assert b'data-testid="total-now" data-minor="4500"' in half.content
    # A coupon that lasts once: the next month is at the full price.
    assert b'data-testid="next-charge" data-minor="5000"' in half.content
    bad = client.get(url, {"quantity": "1", "coupon": "OTHERONLY"})
    assert bad.status_code == 400
    assert b'data-quote-error="coupon"' in bad.content
    assert client.get(url, {"quantity": "0"}).status_code == 400
    assert _counts(tenant) == (0, 0, 0, 0)
    # The page itself opens with the quote for one.
    page = client.get(f"/t/{tenant.slug}/checkout/{plan.public_id}/")
    assert b'data-testid="total-now" data-minor="7000"' in page.content


def test_the_quote_counts_taxes_as_the_invoice_will() -> None:
    with world(NOW, locale="en") as w:
        tax = w.tax("10")
        plan = w.plan("taxed", amount=10_000, tax_rate=tax)
    client = Client()
    page = client.get(f"/t/{w.tenant.slug}/checkout/{plan.public_id}/quote/")
    assert b'data-testid="total-now" data-minor="11000"' in page.content


@pytest.mark.parametrize("method", ["boleto", "pix"])
def test_boleto_or_pix_shows_how_to_pay_and_the_subscription_waits_for_it(method: str) -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, method=method, reference="", **(ADDRESS if method == "boleto" else {}))
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)
    assert response.status_code == 302, response.content.decode()
    done = client.get(response["Location"]).content.decode()
    assert f'data-testid="{method}-link"' in done
    with tenant_context(tenant):
        sub = Subscription.objects.get(tenant=tenant)
        assert sub.status == "incomplete"
        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        assert attempt.status == "pending"
        assert f'href="{attempt.action_url}"' in done
    # The simulated payment (the sandbox's page) starts the subscription.
    if method == "pix":
        assert client.post(attempt.action_url).status_code == 200
    else:
        from billing.gateways.sandbox import SandboxBoletoGateway
        from billing.payments import webhook_receive

        body, headers = SandboxBoletoGateway().simulate_payment(gateway_ref=attempt.gateway_ref)
        webhook_receive(gateway_name="sandbox_boleto", body=body, headers=headers, now=NOW)
    with tenant_context(tenant):
        assert Subscription.objects.get(pk=sub.pk).status == "active"


def test_a_boleto_needs_a_tax_id_and_an_unknown_method_is_refused() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/"
    response = client.post(url, _form(client, method="boleto", tax_id="", reference=""))
    assert response.status_code == 400
    assert 'data-error="tax_id">' in response.content.decode()
    response = client.post(url, _form(client, method="cash"))
    assert response.status_code == 400
    assert 'data-error="method">' in response.content.decode()
    assert _counts(tenant) == (0, 0, 0, 0)


def test_an_annual_plan_paid_by_card_in_installments_charges_the_first_part() -> None:
    with world(NOW, locale="en") as w:
        plan = w.plan("annual", amount=120_000, interval="year", max_installments=12)
    client = Client()
    url = f"/t/{w.tenant.slug}/checkout/{plan.public_id}/"
    page = client.get(url).content.decode()
    assert '<option value="12">' in page
    assert '<option value="13">' not in page
    for bad in ("13", "0", "x", "-2"):
        response = client.post(url, _form(client, installments=bad))
        assert response.status_code == 400
        assert 'data-error="installments">' in response.content.decode()
    assert _counts(w.tenant) == (0, 0, 0, 0)
    response = client.post(url, _form(client, installments="3"))
    assert response.status_code == 302
    with tenant_context(w.tenant):
        invoice = Invoice.objects.get(tenant=w.tenant)
        assert [p.amount_minor for p in invoice.installments.order_by("number")] == [40_000] * 3
        [attempt] = PaymentAttempt.objects.filter(invoice=invoice)
        assert (attempt.amount_minor, attempt.status) == (40_000, "succeeded")
        assert attempt.installment_id == invoice.installments.get(number=1).pk


def _address_of(tenant: Tenant) -> dict[str, str]:
    with tenant_context(tenant):
        return dict(Customer.objects.get(tenant=tenant).address)


def test_the_billing_address_is_saved_on_the_customer() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    page = client.get(f"/t/{tenant.slug}/checkout/{plan.public_id}/").content.decode()
    assert 'data-testid="billing-address"' in page
    for name in ADDRESS:
        assert f'name="{name}"' in page
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", _form(client, **ADDRESS))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _address_of(tenant) == {
        "line1": "Avenida Paulista",
        "number": "1000",
        "complement": "Sala 5",
        "district": "Bela Vista",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01310100",
        "country": "BR",
    }


@pytest.mark.parametrize("method", ["card", "pix"])
def test_by_card_or_pix_the_address_is_optional(method: str) -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, method=method, **({"reference": ""} if method == "pix" else {}))
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _address_of(tenant) == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"address_postal_code": "0131-100"}, "address_postal_code"),
        ({"address_postal_code": "ABCDEFGH"}, "address_postal_code"),
        ({"address_postal_code": ""}, "address_postal_code"),
        ({"address_state": "XX"}, "address_state"),
        ({"address_city": ""}, "address_city"),
        ({"address_line1": ""}, "address_line1"),
        ({"address_line1": "x" * 201}, "address_line1"),
        ({"address_country": "Brasil"}, "address_country"),
        ({"address_district": "Bela\x00Vista"}, "address_district"),
    ],
)
def test_a_bad_address_is_refused_next_to_its_field_and_creates_nothing(
    change: dict[str, str], field: str
) -> None:
    tenant, plan, _ = _shop()
    client = Client()
    data = _form(client, **{**ADDRESS, **change})
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", data)
    assert response.status_code == 400, response.content.decode()[:2000]
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html, html[html.find("billing-address") :][:3000]
    assert 'value="Avenida Paulista"' in html or field == "address_line1"
    assert _counts(tenant) == (0, 0, 0, 0)


def test_a_boleto_needs_the_billing_address() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/"
    response = client.post(url, _form(client, method="boleto", reference=""))
    assert response.status_code == 400
    assert 'data-error="address">' in response.content.decode()
    assert _counts(tenant) == (0, 0, 0, 0)
    response = client.post(url, _form(client, method="boleto", reference="", **ADDRESS))
    assert response.status_code == 302
    assert _address_of(tenant)["postal_code"] == "01310100"


@override_settings(CHECKOUT_DECLINES_TO_BLOCK=2)
def test_declines_at_the_first_charge_count_and_the_block_covers_every_checkout() -> None:
    """A tester whose cards pass the check but fail the charge is blocked too,
    on this merchant's embedded checkout and on another merchant's page."""
    from django.core.cache import cache

    cache.clear()
    tenant, plan, _ = _shop()
    with world(NOW, slug="globex", locale="en") as other:
        other_plan = other.plan("basic", amount=1_000)
    client = Client(REMOTE_ADDR="198.51.100.21")
    url = f"/t/{tenant.slug}/checkout/{plan.public_id}/"
    for n in range(2):
        card = _token(client, "4000000000000341")
        data = _form(client, email=f"t{n}@example.com", reference=card)
        assert client.post(url, data).status_code == 302
    before = _counts(tenant)
    assert before[1] == 2  # two incomplete subscriptions, declined when charged
    blocked = client.post(url, _form(client, email="t3@example.com"))
    assert blocked.status_code == 429
    embedded = client.post(f"{url}?embed=1", _form(client), HTTP_ORIGIN="http://testserver")
    assert embedded.status_code == 429
    elsewhere = client.post(
        f"/t/{other.tenant.slug}/checkout/{other_plan.public_id}/", _form(client)
    )
    assert elsewhere.status_code == 429
    assert _counts(tenant) == before
    assert _counts(other.tenant) == (0, 0, 0, 0)
