"""Pix Automático in the portal: where the merchant offers it, a subscriber with
an open invoice gets journey 3 (one QR pays it and authorises the next cycles),
a trial gets journey 2; the live authorisation is shown; not offered, no button
and the action is refused; another subscriber's subscription is a 404."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.domain.pix_automatico import parse_recurrence_br_code
from billing.gateways.pix_automatico import SandboxPixAutomaticoPsp
from billing.models import Invoice, PixMandate
from billing.segunda_via import collection_settings_update
from customers.models import Customer
from customers.portal_links import portal_url
from subscriptions.models import Subscription
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
TZ = "America/Sao_Paulo"


def _offer(w: World, on: bool = True) -> None:
    from decimal import Decimal

    collection_settings_update(
        tenant=w.tenant,
        fine_percent=Decimal("2.00"),
        monthly_interest_percent=Decimal("1.00"),
        days_to_pay=3,
        pix_automatico=on,
        actor=ACTOR,
        now=NOW,
    )


def _subscriber(w: World, name: str = "Ana") -> Customer:
    customer = w.customer(name)
    customer.tax_id = "529.982.247-25"
    customer.email = f"{name.lower()}@example.com"
    customer.save()
    return customer


def _enter(customer: Customer) -> Client:
    client = Client()
    url = portal_url(customer, page="home")
    response = client.get(url[url.index("/t/") :].split("?")[0], {"next": "home"})
    assert response.status_code == 302, response.content
    return client


def _page(client: Client, sub: Subscription) -> str:
    response = client.get(f"/t/acme/subscriptions/{sub.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


def _start(client: Client, sub: Subscription):  # type: ignore[no-untyped-def]
    return client.post(f"/t/acme/subscriptions/{sub.public_id}/pix-automatico/")


def test_journey_3_pays_the_open_invoice_and_authorises() -> None:
    with world(NOW, time_zone=TZ) as w:
        _offer(w)
        customer = _subscriber(w)
        sub = w.subscribe(w.plan("pix", amount=4_990), customer)
        client = _enter(customer)
        before = _page(client, sub)

        started = _start(client, sub)
        again = _start(client, sub)  # the same QR, not a second mandate
        pending = _page(client, sub)
        [mandate] = PixMandate.objects.filter(subscription=sub)
        code = parse_recurrence_br_code(mandate.payload)
        psp = SandboxPixAutomaticoPsp()
        body, headers = psp.simulate_authorisation(recurrence_id=mandate.recurrence_id)
        http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        Client().post("/webhooks/sandbox_pixauto/", body, content_type="application/json", **http)
        active = _page(client, sub)

        assert 'data-testid="pix-automatico-start"' in before
        assert started.status_code == again.status_code == 302
        assert (mandate.journey, mandate.max_amount_minor, mandate.retry_policy) == (
            "3",
            4_990,
            "3r_7d",
        )
        assert (code.journey, code.amount_minor) == ("3", 4_990)
        assert 'data-testid="pix-automatico-qr"' in pending
        assert mandate.payload in pending
        assert 'data-testid="pix-automatico-active"' in active
        assert Invoice.objects.get(subscription=sub).status == "paid"


def test_a_trial_gets_journey_2() -> None:
    with world(NOW, time_zone=TZ) as w:
        _offer(w)
        customer = _subscriber(w)
        sub = w.subscribe(w.plan("trial", amount=4_990, trial_days=14), customer)
        client = _enter(customer)

        _start(client, sub)

        [mandate] = PixMandate.objects.filter(subscription=sub)
        assert (mandate.journey, mandate.first_invoice_id) == ("2", None)
        assert "Nada é cobrado agora." in _page(client, sub)  # pt-BR: "Nothing is charged now."


def test_a_psp_that_does_not_answer_is_said_in_portuguese_and_asking_again_works() -> None:
    with world(NOW, time_zone=TZ) as w:
        _offer(w)
        customer = _subscriber(w)
        customer.tax_id = "503.503.503-45"  # the sandbox PSP does not answer for this payer
        customer.save()
        sub = w.subscribe(w.plan("pix", amount=4_990), customer)
        client = _enter(customer)

        unanswered = _start(client, sub)
        said = _page(client, sub)
        Customer.objects.filter(pk=customer.pk).update(tax_id="52998224725")
        asked_again = _start(client, sub)

        assert unanswered.status_code == asked_again.status_code == 302
        assert "O provedor do Pix Automático não respondeu; tente novamente." in said
        assert 'data-testid="pix-automatico-qr"' not in said
        statuses = PixMandate.objects.filter(subscription=sub).order_by("id")
        assert list(statuses.values_list("status", flat=True)) == ["rejected", "pending"]
        assert 'data-testid="pix-automatico-qr"' in _page(client, sub)


def test_not_offered_shows_nothing_and_refuses() -> None:
    with world(NOW, time_zone=TZ) as w:
        customer = _subscriber(w)
        sub = w.subscribe(w.plan("pix", amount=4_990), customer)
        client = _enter(customer)

        page = _page(client, sub)
        refused = _start(client, sub)

        assert 'data-testid="pix-automatico"' not in page
        assert refused.status_code == 302
        assert "not offered" in _page(client, sub)
        assert not PixMandate.objects.exists()


def test_another_subscribers_subscription_is_not_found() -> None:
    with world(NOW, time_zone=TZ) as w:
        _offer(w)
        ana = _subscriber(w, "Ana")
        bia = _subscriber(w, "Bia")
        plan = w.plan("pix", amount=4_990)
        anas = w.subscribe(plan, ana)

        response = _start(_enter(bia), anas)

        assert response.status_code == 404
        assert not PixMandate.objects.exists()
