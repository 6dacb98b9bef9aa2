"""The subscriber portal: signed entry links, invoices, and saving cards with
the browser talking to the gateway (sandbox tokenizer or Stripe Elements)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import stripe
from django.test import Client, override_settings

from billing.models import GatewayCustomer
from billing.payments import gateway_account_set
from customers.models import Customer, PaymentMethod
from customers.portal_links import portal_token, portal_url
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.support.billing import ACTOR, utc, world
from tests.support.fake_stripe import FakeStripe, running

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _enter(client: Client, customer: Customer, page: str = "payment_methods") -> None:
    url = portal_url(customer, page=page)
    response = client.get(url[url.index("/t/") :].split("?")[0], {"next": page})
    assert response.status_code == 302, response.content


def _tokenize(client: Client, number: str = "4242424242424242") -> dict:
    response = client.post(
        "/sandbox/tokens",
        json.dumps({"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}),
        content_type="application/json",
    )
    return {"status": response.status_code, **response.json()}


def test_a_signed_link_opens_the_customers_own_area_and_a_forged_one_does_not() -> None:
    with world(NOW, locale="en") as w:
        ana = w.customer("Ana")
        slug = w.tenant.slug
    client = Client()
    assert client.get(f"/t/{slug}/payment-methods/").status_code == 403
    forged = portal_token(ana)[:-2] + "xx"
    assert client.get(f"/t/{slug}/enter/{forged}/").status_code == 400
    _enter(client, ana)
    page = client.get(f"/t/{slug}/payment-methods/")
    assert page.status_code == 200
    assert b"No payment method saved yet" in page.content


def test_a_link_for_one_merchant_does_not_open_another_merchants_portal() -> None:
    with world(NOW, slug="acme", locale="en") as w:
        ana = w.customer("Ana")
    with world(NOW, slug="other", locale="en"):
        pass
    client = Client()
    response = client.get(f"/t/other/enter/{portal_token(ana)}/")
    assert response.status_code == 400
    assert client.get("/t/other/payment-methods/").status_code == 403


def test_saving_a_sandbox_card_stores_only_the_token_and_what_the_gateway_shows() -> None:
    with world(NOW, locale="en") as w:
        ana = w.customer("Ana")
        slug = w.tenant.slug
    client = Client()
    _enter(client, ana)
    token = _tokenize(client)
    assert token["status"] == 200
    assert token["card"]["last4"] == "4242"
    response = client.post(
        f"/t/{slug}/payment-methods/", {"gateway": "sandbox", "reference": token["id"]}
    )
    assert response.status_code == 302
    with tenant_context(w.tenant):
        [method] = PaymentMethod.objects.filter(customer=ana)
        assert (method.gateway, method.token, method.brand, method.last4) == (
            "sandbox",
            token["id"],
            "visa",
            "4242",
        )
        assert method.is_default
        entry = AuditEntry.objects.get(action="payment_method.attached")
        assert entry.actor_type == "subscriber"
    page = client.get(f"/t/{slug}/payment-methods/")
    assert b"Visa \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 4242" in page.content

    # The same token twice, and a token the sandbox never issued: refused, nothing saved.
    for reference in (token["id"], "tok_sandbox_ok_forged"):
        client.post(f"/t/{slug}/payment-methods/", {"gateway": "sandbox", "reference": reference})
    with tenant_context(w.tenant):
        assert PaymentMethod.objects.filter(customer=ana).count() == 1


def test_the_sandbox_tokenizer_refuses_bad_cards_with_a_clear_error() -> None:
    client = Client()
    assert _tokenize(client, "4242424242424241")["error"]["code"] == "invalid_number"
    response = client.post("/sandbox/tokens", "[1]", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()
    response = client.post(
        "/sandbox/tokens",
        json.dumps({"number": "4242424242424242", "exp_month": "12", "exp_year": 2031, "cvc": "1"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "exp_month"


def test_make_default_and_remove_touch_only_the_customers_own_methods() -> None:
    with world(NOW, locale="en") as w:
        ana, bia = w.customer("Ana"), w.customer("Bia")
        slug = w.tenant.slug
    ana_client, bia_client = Client(), Client()
    _enter(ana_client, ana)
    _enter(bia_client, bia)
    for _ in range(2):
        ana_client.post(
            f"/t/{slug}/payment-methods/",
            {"gateway": "sandbox", "reference": _tokenize(ana_client)["id"]},
        )
    bia_client.post(
        f"/t/{slug}/payment-methods/",
        {"gateway": "sandbox", "reference": _tokenize(bia_client)["id"]},
    )
    with tenant_context(w.tenant):
        first, second = PaymentMethod.objects.filter(customer=ana).order_by("id")
        [bias] = PaymentMethod.objects.filter(customer=bia)
    assert second.is_default
    assert not first.is_default

    # Bia cannot act on Ana's card.
    for action in ("default", "remove"):
        url = f"/t/{slug}/payment-methods/{first.public_id}/{action}/"
        assert bia_client.post(url).status_code == 404
    assert ana_client.post(f"/t/{slug}/payment-methods/{first.public_id}/nuke/").status_code == 404

    ana_client.post(f"/t/{slug}/payment-methods/{first.public_id}/default/")
    ana_client.post(f"/t/{slug}/payment-methods/{second.public_id}/remove/")
    with tenant_context(w.tenant):
        first.refresh_from_db()
        second.refresh_from_db()
        bias.refresh_from_db()
    assert first.is_default
    assert second.detached_at is not None
    assert bias.is_default
    assert bias.detached_at is None


def test_invoices_page_and_pdf_show_only_the_customers_own_invoices() -> None:
    with world(NOW, locale="en") as w:
        ana, bia = w.customer("Ana"), w.customer("Bia")
        plan = w.plan("basic", amount=4_990)
        w.subscribe(plan, ana)
        w.subscribe(plan, bia)
        ana_invoice = ana.invoices.get()
        bia_invoice = bia.invoices.get()
        slug = w.tenant.slug
    client = Client()
    _enter(client, ana, page="invoices")
    page = client.get(f"/t/{slug}/invoices/")
    assert ana_invoice.number.encode() in page.content
    assert bia_invoice.number.encode() not in page.content
    pdf = client.get(f"/t/{slug}/invoices/{ana_invoice.public_id}/pdf/")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/t/{slug}/invoices/{bia_invoice.public_id}/pdf/").status_code == 404


# --- Stripe Elements --------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running() as server:
        yield server


def _confirm_in_browser(fake: FakeStripe, client_secret: str, card: str = "pm_card_visa") -> str:
    """What Stripe Elements does in the subscriber's browser with the client secret."""
    setup_intent = client_secret.split("_secret_")[0]
    browser = stripe.StripeClient(
        "sk_test_elements", base_addresses={"api": fake.api_base}, max_network_retries=0
    )
    browser.v1.setup_intents.confirm(setup_intent, {"payment_method": card})
    return setup_intent


def test_with_a_stripe_account_the_portal_uses_elements_and_saves_the_confirmed_card(
    fake: FakeStripe,
) -> None:
    with world(NOW, locale="en") as w, override_settings(STRIPE_API_BASE=fake.api_base):
        gateway_account_set(
            tenant=w.tenant,
            gateway="stripe",
            credentials={
                "api_key": "sk_test_portal123456",
                "webhook_secret": "whsec_portal123456",
                "publishable_key": "pk_test_portal123456",
            },
            actor=ACTOR,
            now=NOW,
        )
        ana, bia = w.customer("Ana"), w.customer("Bia")
        slug = w.tenant.slug
        client = Client()
        _enter(client, ana)
        page = client.get(f"/t/{slug}/payment-methods/")
        html = page.content.decode()
        assert 'data-gateway="stripe"' in html
        assert "pk_test_portal123456" in html
        assert "https://js.stripe.com/v3/" in html
        secret = html.split('data-client-secret="', 1)[1].split('"', 1)[0]
        assert "_secret_" in secret
        # The mirror is made once and reused.
        client.get(f"/t/{slug}/payment-methods/")
        with tenant_context(w.tenant):
            [mirror] = GatewayCustomer.objects.filter(customer=ana)
        assert mirror.ref in fake.customers
        assert fake.customers[mirror.ref]["metadata"]["ciclo_customer_id"] == ana.public_id

        # Not confirmed yet: nothing saved.
        seti = secret.split("_secret_")[0]
        client.get(f"/t/{slug}/payment-methods/?setup_intent={seti}")
        with tenant_context(w.tenant):
            assert not PaymentMethod.objects.filter(customer=ana).exists()

        _confirm_in_browser(fake, secret, "pm_card_mastercard")
        # Bia cannot claim Ana's confirmed SetupIntent (tried before Ana saves it,
        # so only the ownership check can refuse it).
        bia_client = Client()
        _enter(bia_client, bia)
        bia_client.get(f"/t/{slug}/payment-methods/")
        bia_page = bia_client.get(f"/t/{slug}/payment-methods/?setup_intent={seti}", follow=True)
        assert b"No such setup for this customer." in bia_page.content
        with tenant_context(w.tenant):
            assert not PaymentMethod.objects.filter(customer=bia).exists()

        response = client.get(f"/t/{slug}/payment-methods/?setup_intent={seti}")
        assert response.status_code == 302
        with tenant_context(w.tenant):
            [method] = PaymentMethod.objects.filter(customer=ana)
        assert method.gateway == "stripe"
        assert method.brand == "mastercard"
        assert method.token.startswith(f"{mirror.ref}:pm_")


def test_gateway_account_publishable_key_is_checked() -> None:
    from core.errors import ValidationFailed

    with world(NOW, locale="en") as w:
        for publishable in ("pk_live_portal123456", "nope"):
            with pytest.raises(ValidationFailed) as exc:
                gateway_account_set(
                    tenant=w.tenant,
                    gateway="stripe",
                    credentials={
                        "api_key": "sk_test_portal123456",
                        "webhook_secret": "whsec_portal123456",
                        "publishable_key": publishable,
                    },
                    actor=ACTOR,
                    now=NOW,
                )
            assert exc.value.param == "publishable_key"


def test_an_overdue_boleto_can_be_reissued_from_the_portal() -> None:
    from billing.models import PaymentAttempt
    from billing.payments import payment_method_attach_offline

    with world(NOW, locale="en") as w:  # the slip falls due on June 4 of Ana's test clock
        ana = w.customer("Ana")
        ana.tax_id = "529.982.247-25"
        ana.save()
        payment_method_attach_offline(
            tenant=w.tenant, customer=ana, kind="boleto", actor=ACTOR, now=NOW
        )
        w.subscribe(w.plan("basic", amount=10_000), ana)
        invoice = ana.invoices.get()
        slug = w.tenant.slug
    client = Client()
    _enter(client, ana, page="invoices")
    # On Ana's clock (June 1) the slip is not overdue, though the wall clock is
    # long past June 4: the portal acts at her billing's time.
    assert "with late charges" not in client.get(f"/t/{slug}/invoices/").content.decode()
    client.post(f"/t/{slug}/invoices/{invoice.public_id}/segunda-via/")
    with tenant_context(w.tenant):
        assert PaymentAttempt.objects.filter(invoice=invoice).count() == 1
        w.advance(utc(2026, 6, 15, 15))  # eleven days after the due date
    page = client.get(f"/t/{slug}/invoices/").content.decode()
    assert "with late charges" in page
    response = client.post(f"/t/{slug}/invoices/{invoice.public_id}/segunda-via/")
    with tenant_context(w.tenant):
        old, new = PaymentAttempt.objects.filter(invoice=invoice).order_by("number")
    assert response.status_code == 302
    assert response["Location"] == f"/sandbox/boleto/{new.gateway_ref}/"
    assert old.failure_code == "boleto_replaced"
    assert new.late_fee_minor == 200
    assert new.amount_minor == 10_000 + 200 + new.late_interest_minor
    assert new.late_interest_minor > 0
    # Priced on June 15 (due June 18, 14 days late: 1 %/month × 14/30 of R$ 100,00).
    assert new.late_interest_minor == 47
    # Another subscriber cannot reissue Ana's boleto.
    bia_client = Client()
    with tenant_context(w.tenant):
        bia = Customer.objects.create(tenant=w.tenant, name="Bia")
    _enter(bia_client, bia, page="invoices")
    assert (
        bia_client.post(f"/t/{slug}/invoices/{invoice.public_id}/segunda-via/").status_code == 404
    )


def test_with_stripe_an_open_invoice_is_paid_with_a_new_card_from_elements(
    fake: FakeStripe,
) -> None:
    from billing.models import Invoice

    with world(NOW, locale="en") as w, override_settings(STRIPE_API_BASE=fake.api_base):
        gateway_account_set(
            tenant=w.tenant,
            gateway="stripe",
            credentials={
                "api_key": "sk_test_portal123456",
                "webhook_secret": "whsec_portal123456",
                "publishable_key": "pk_test_portal123456",
            },
            actor=ACTOR,
            now=NOW,
        )
        ana = w.customer("Ana")
        [invoice] = w.invoices(w.subscribe(w.plan("basic", 10_000), ana))
        assert invoice.status == Invoice.Status.OPEN
        slug = w.tenant.slug
        client = Client()
        _enter(client, ana)
        here = f"/t/{slug}/invoices/{invoice.public_id}/"
        html = client.get(here).content.decode()
        assert 'data-gateway="stripe"' in html
        assert f'data-return-url="http://testserver{here}pay/card/"' in html
        secret = html.split('data-client-secret="', 1)[1].split('"', 1)[0]
        seti = _confirm_in_browser(fake, secret, "pm_card_visa")
        response = client.get(f"{here}pay/card/?setup_intent={seti}&save=1")
        assert response.status_code == 302
        with tenant_context(w.tenant):
            invoice.refresh_from_db()
            assert (invoice.status, invoice.amount_paid_minor) == ("paid", 10_000)
            [method] = PaymentMethod.objects.filter(customer=ana, detached_at__isnull=True)
        assert method.gateway == "stripe"
        # The same SetupIntent again: already saved, nothing more charged.
        again = client.get(f"{here}pay/card/?setup_intent={seti}&save=1", follow=True)
        assert again.status_code == 200
        with tenant_context(w.tenant):
            assert Invoice.objects.get(pk=invoice.pk).amount_paid_minor == 10_000
