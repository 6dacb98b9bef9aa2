"""Opting out of optional messages through the signed one-click link; legally
required notices still go out."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from customers.models import Customer
from notifications.models import MessageDelivery
from notifications.optout import unsubscribe_token, unsubscribe_url
from notifications.outbox import dispatch_pending
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tenants.outbox import emit
from tests.conftest import make_tenant
from tests.support.billing import utc

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


@pytest.fixture
def acme(db):  # type: ignore[no-untyped-def]
    return make_tenant("acme").tenant


def _customer(tenant) -> Customer:  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return Customer.objects.create(
            tenant=tenant, name="Ana", email="ana@example.com", locale="en"
        )


def _path(customer: Customer) -> str:
    return unsubscribe_url(customer).removeprefix("http://127.0.0.1:8000")


def _opted_out(customer: Customer):  # type: ignore[no-untyped-def]
    with tenant_context(customer.tenant):
        return Customer.objects.get(pk=customer.pk).marketing_opted_out_at


def test_opening_the_link_asks_first_and_the_button_opts_out(acme) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(acme)
    client = Client()

    shown = client.get(_path(customer))
    still_in = _opted_out(customer)
    confirmed = client.post(_path(customer))
    again = client.post(_path(customer))

    assert shown.status_code == 200
    assert "Stop optional messages to Ana?" in shown.content.decode()
    assert still_in is None
    assert confirmed.status_code == 200
    assert 'data-testid="unsubscribed"' in confirmed.content.decode()
    assert again.status_code == 200
    assert _opted_out(customer) is not None
    with tenant_context(acme):
        [entry] = AuditEntry.objects.filter(action="customer.marketing_opted_out")
        assert (entry.actor_type, entry.target_id) == ("subscriber", str(customer.pk))


def test_a_mail_clients_one_click_post_works_without_a_csrf_token(acme) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(acme)
    client = Client(enforce_csrf_checks=True)

    response = client.post(_path(customer), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert _opted_out(customer) is not None


@pytest.mark.parametrize("token", ["forged", "eyJjIjoiY3VzX3gifQ:1abc:bad"])
def test_a_forged_token_changes_nothing(acme, token) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(acme)

    response = Client().post(f"/t/acme/unsubscribe/{token}/")

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert _opted_out(customer) is None


def test_another_tenants_link_does_not_work_here(acme) -> None:  # type: ignore[no-untyped-def]
    globex = make_tenant("globex").tenant
    customer = _customer(acme)
    token = unsubscribe_token(customer)

    response = Client().post(f"/t/{globex.slug}/unsubscribe/{token}/")

    assert response.status_code == 400
    assert _opted_out(customer) is None


def test_after_opting_out_optional_messages_are_skipped_and_required_ones_sent(acme) -> None:  # type: ignore[no-untyped-def]
    customer = _customer(acme)
    Client().post(_path(customer))
    with tenant_context(acme):
        for event_type in (
            "customer.payment_method_expiring",
            "subscription.price_change_scheduled",
        ):
            emit(
                tenant_id=acme.pk,
                type=event_type,
                at=NOW,
                subject_type="customer",
                subject_id=customer.public_id,
                data={"customer": customer.public_id, "new_amount": 100, "currency": "BRL"},
            )

    with tenant_context(acme):
        dispatch_pending(tenant=acme, now=NOW)
        rows = list(
            MessageDelivery.objects.order_by("id").values_list("template", "status", "error")
        )

    assert rows == [
        ("card_expiring", "skipped", "opted out of marketing messages"),
        ("price_change", "sent", ""),
    ]
    assert [m.subject.startswith("The price") for m in mail.outbox] == [True]
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers
