"""Marketing consent per channel, from the portal's preferences page."""

from __future__ import annotations

import pytest
from django.test import Client

from customers.models import Customer
from customers.portal_links import portal_url
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.support.billing import utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _enter(client: Client, customer: Customer) -> None:
    url = portal_url(customer)
    assert client.get(url[url.index("/t/") :].split("?")[0]).status_code == 302


def test_marketing_is_chosen_per_channel_and_required_notices_are_untouched() -> None:
    with world(NOW) as w:
        ana = w.customer("Ana")
        slug = w.tenant.slug
    client = Client()
    _enter(client, ana)
    page = client.get(f"/t/{slug}/preferences/")
    assert page.status_code == 200
    assert page.content.count(b'name="marketing"') == 2
    assert page.content.count(b" checked") == 2  # both on by default

    response = client.post(f"/t/{slug}/preferences/", {"marketing": ["email"]})
    assert response.status_code == 302
    with tenant_context(w.tenant):
        ana = Customer.objects.get(pk=ana.pk)
        assert ana.marketing_channels_off == ["sms"]
        assert not ana.marketing_off("email")
        assert ana.marketing_off("sms")
        assert ana.marketing_opted_out_at is None
        entry = AuditEntry.objects.get(action="customer.marketing_preferences_changed")
        assert entry.changes == {"sms": [True, False]}

    client.post(f"/t/{slug}/preferences/", {})  # everything off
    with tenant_context(w.tenant):
        ana = Customer.objects.get(pk=ana.pk)
        assert ana.marketing_off("email")
        assert ana.marketing_off("sms")
        assert ana.marketing_opted_out_at is not None

    client.post(f"/t/{slug}/preferences/", {"marketing": ["email", "sms"]})
    with tenant_context(w.tenant):
        ana = Customer.objects.get(pk=ana.pk)
        assert ana.marketing_opted_out_at is None
        assert ana.marketing_channels_off == []


@pytest.mark.parametrize("bad", [["whatsapp"], ["email\x00"], ["x" * 10_000], ["email", "fax"]])
def test_unknown_channels_change_nothing(bad: list[str]) -> None:
    with world(NOW) as w:
        ana = w.customer("Ana")
        slug = w.tenant.slug
    client = Client()
    _enter(client, ana)
    response = client.post(f"/t/{slug}/preferences/", {"marketing": bad}, follow=True)
    assert response.status_code == 200
    with tenant_context(w.tenant):
        ana = Customer.objects.get(pk=ana.pk)
        assert ana.marketing_channels_off == []
        assert ana.marketing_opted_out_at is None
        assert not AuditEntry.objects.filter(
            action="customer.marketing_preferences_changed"
        ).exists()


def test_preferences_need_a_session_of_this_merchant() -> None:
    with world(NOW, slug="acme") as a:
        ana = a.customer("Ana")
    with world(NOW, slug="other"):
        pass
    assert Client().get("/t/acme/preferences/").status_code == 403
    client = Client()
    _enter(client, ana)
    assert client.get("/t/other/preferences/").status_code == 403
    assert client.post("/t/other/preferences/", {}).status_code == 403
