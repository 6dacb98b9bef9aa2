"""Pix Automático on the dashboard: a subscription's page shows its mandate and
instructions, asks for one, cancels it and, in test mode, simulates the payer;
the mandates list with its empty state; bad input changes nothing; another
tenant's subscription or mandate is a 404."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from billing.models import Invoice, PixInstruction, PixMandate
from billing.pix_automatico import pix_mandate_create
from customers.models import Customer
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import Event
from tests.dashboard.helpers import signed_in
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
TZ = "America/Sao_Paulo"


def _customer(w: World, name: str = "Ana Souza") -> Customer:
    customer = w.customer(name)
    customer.tax_id = "529.982.247-25"
    customer.save()
    return customer


def _sub(w: World) -> Subscription:
    return w.subscribe(w.plan("pix", amount=4_990, name="Clube"), _customer(w))


def _page(client: Client, sub: Subscription) -> str:
    response = client.get(f"/dashboard/subscriptions/{sub.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


def _mandates(w: World) -> list[tuple[str, str]]:
    with tenant_context(w.tenant):
        return list(PixMandate.objects.order_by("id").values_list("journey", "status"))


def _post(client: Client, sub: Subscription, what: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(f"/dashboard/subscriptions/{sub.public_id}/pix-mandate/{what}", data)


def test_ask_for_a_mandate_simulate_the_payer_and_see_it_on_the_page() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _sub(w)
        client = signed_in("owner@acme.example")
        before = _page(client, sub)

        asked = _post(
            client, sub, "", {"max_amount": "59.90", "retry_policy": "3r_7d", "end_date": ""}
        )
        pending_page = _page(client, sub)
        with tenant_context(w.tenant):
            mandate = PixMandate.objects.get(subscription=sub)
        authorised = _post(
            client, sub, "simulate/", {"mandate": mandate.public_id, "action": "authorise"}
        )
        w.advance(utc(2026, 7, 1, 16))
        with tenant_context(w.tenant):
            instruction = PixInstruction.objects.get(mandate=mandate)
        paid = _post(
            client,
            sub,
            "simulate/",
            {"mandate": mandate.public_id, "action": "pay", "instruction": instruction.public_id},
        )
        active_page = _page(client, sub)

        assert 'data-testid="no-mandate"' in before
        assert 'data-testid="mandate-request-form"' in before
        assert asked.status_code == 302
        assert 'data-testid="mandate-qr"' in pending_page
        assert mandate.payload in pending_page
        assert 'data-testid="simulate-authorise"' in pending_page
        assert 'data-testid="mandate-request-form"' not in pending_page  # one at a time
        assert (mandate.journey, mandate.max_amount_minor, mandate.retry_policy) == (
            "3",
            5_990,
            "3r_7d",
        )
        assert authorised.status_code == paid.status_code == 302
        assert instruction.due_date == date(2026, 7, 1)
        assert f'data-testid="instruction-{instruction.public_id}"' in active_page
        assert "BANCO SANDBOX" in active_page
        assert re.search(r'data-testid="mandate-amount">R\$\s?59[.,]90<', active_page)
        assert 'data-testid="simulate-payer-cancel"' in active_page
        assert 'data-testid="mandate-qr"' not in active_page
        with tenant_context(w.tenant):
            statuses = Invoice.objects.filter(subscription=sub).order_by("id")
            assert list(statuses.values_list("status", flat=True)) == ["paid", "paid"]


def test_the_payers_cancellation_and_the_merchants() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _sub(w)
        client = signed_in("owner@acme.example")
        _post(client, sub, "", {"max_amount": "59.90", "retry_policy": "no_retry"})
        with tenant_context(w.tenant):
            first = PixMandate.objects.get(subscription=sub)
        _post(client, sub, "simulate/", {"mandate": first.public_id, "action": "authorise"})
        _post(client, sub, "simulate/", {"mandate": first.public_id, "action": "payer_cancel"})
        _post(client, sub, "", {"max_amount": "59.90", "retry_policy": "no_retry", "journey": "2"})
        with tenant_context(w.tenant):
            second = PixMandate.objects.filter(subscription=sub).latest("id")
        cancelled = _post(client, sub, "cancel/", {"mandate": second.public_id})

        assert cancelled.status_code == 302
        assert _mandates(w) == [("3", "cancelled_by_payer"), ("2", "cancelled_by_merchant")]
        page = _page(client, sub)
        assert page.count('data-status="cancelled_by_payer"') == 1
        assert 'data-testid="mandate-request-form"' in page


@pytest.mark.parametrize(
    ("_case", "data", "message"),
    [
        ("below the price", {"max_amount": "49.00"}, "below what each cycle charges"),
        ("not money", {"max_amount": "lots"}, "Enter an amount"),
        ("negative", {"max_amount": "-59.90"}, "cannot be negative"),
        ("huge", {"max_amount": "99999999999999999"}, "too large"),
        ("zero", {"max_amount": "0.00"}, "more than zero"),
        ("empty", {"max_amount": ""}, "required"),
        ("past end", {"max_amount": "59.90", "end_date": "2026-05-01"}, "after the start"),
        ("bad journey", {"max_amount": "59.90", "journey": "1"}, ""),
    ],
)
def test_bad_input_comes_back_with_an_error_and_changes_nothing(
    _case: str, data: dict[str, str], message: str
) -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _sub(w)
        client = signed_in("owner@acme.example")

        response = _post(client, sub, "", {"retry_policy": "no_retry", **data})

        assert response.status_code == 400
        assert message in response.content.decode()
        assert 'class="errorlist' in response.content.decode()
        assert _mandates(w) == []
        with tenant_context(w.tenant):
            assert not Event.objects.filter(type__startswith="pix_").exists()


def test_simulating_what_is_not_awaited_says_why_and_changes_nothing() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _sub(w)
        with tenant_context(w.tenant):
            mandate = pix_mandate_create(
                tenant=w.tenant,
                subscription_id=sub.pk,
                journey="3",
                periodicity="monthly",
                max_amount_minor=5_990,
                actor=ACTOR,
                now=w.now,
            )
        client = signed_in("owner@acme.example")

        cancel = _post(
            client, sub, "simulate/", {"mandate": mandate.public_id, "action": "payer_cancel"}
        )
        pay = _post(
            client,
            sub,
            "simulate/",
            {"mandate": mandate.public_id, "action": "pay", "instruction": "pxi_nope"},
        )

        assert cancel.status_code == pay.status_code == 400
        assert "cannot be cancelled by the payer" in cancel.content.decode()
        assert 'data-testid="pix-error"' in pay.content.decode()
        assert _mandates(w) == [("3", "pending")]


def test_another_tenants_subscription_or_mandate_is_not_found() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _sub(w)
        with tenant_context(w.tenant):
            mandate = pix_mandate_create(
                tenant=w.tenant,
                subscription_id=sub.pk,
                journey="3",
                periodicity="monthly",
                max_amount_minor=5_990,
                actor=ACTOR,
                now=w.now,
            )
    with world(NOW, slug="globex", time_zone=TZ) as other:
        own = _sub(other)
        client = signed_in("owner@globex.example")

        responses = [
            _post(client, sub, "simulate/", {"mandate": mandate.public_id, "action": "authorise"}),
            _post(client, sub, "cancel/", {"mandate": mandate.public_id}),
            _post(client, sub, "", {"max_amount": "59.90", "retry_policy": "no_retry"}),
            # Its own subscription, the other tenant's mandate.
            _post(client, own, "simulate/", {"mandate": mandate.public_id, "action": "authorise"}),
            _post(client, own, "cancel/", {"mandate": mandate.public_id}),
        ]
        listed = client.get("/dashboard/pix-mandates/").content.decode()

        assert [r.status_code for r in responses] == [404] * 5
        assert mandate.public_id not in listed
        assert 'data-testid="mandates-empty"' in listed
    with tenant_context(w.tenant):
        assert PixMandate.objects.get(pk=mandate.pk).status == "pending"


def test_the_list_filters_by_status_and_is_in_the_navigation() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _sub(w)
        client = signed_in("owner@acme.example")
        empty = client.get("/dashboard/pix-mandates/").content.decode()
        with tenant_context(w.tenant):
            mandate = pix_mandate_create(
                tenant=w.tenant,
                subscription_id=sub.pk,
                journey="3",
                periodicity="monthly",
                max_amount_minor=5_990,
                actor=ACTOR,
                now=w.now,
            )

        listed = client.get("/dashboard/pix-mandates/").content.decode()
        pending = client.get("/dashboard/pix-mandates/", {"status": "pending"}).content.decode()
        active = client.get("/dashboard/pix-mandates/", {"status": "active"}).content.decode()

        assert 'data-testid="mandates-empty"' in empty
        assert 'href="/dashboard/pix-mandates/"' in empty  # the sidebar link
        assert f'data-testid="mandate-{mandate.public_id}"' in listed
        assert "Ana Souza" in listed
        assert mandate.public_id in pending
        assert mandate.public_id not in active
        assert "No mandate matches these filters." in active
