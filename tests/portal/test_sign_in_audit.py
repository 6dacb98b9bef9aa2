"""Every way into the portal is audited (code, magic link, password, Google,
an integrator's portal session, an emailed link, the checkout landing), and so
are refused tries; the merchant sees them on the customer's timeline. The
older emailed links (``enter/<token>/``) open the portal once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core import clock
from customers.models import Customer
from customers.portal_links import portal_url
from portal.sessions import portal_session_create
from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tests.checkout.test_hosted_checkout import _form, _shop
from tests.conftest import make_tenant
from tests.dashboard.helpers import signed_in
from tests.support.billing import utc, world
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _customer(w, name: str, email: str) -> Customer:  # type: ignore[no-untyped-def]
    customer = w.customer(name)
    Customer.objects.filter(pk=customer.pk).update(email=email, locale="en")
    customer.refresh_from_db()
    return customer


def _entries(tenant: Tenant, customer: Customer | None = None) -> list[tuple[str, dict, str]]:
    with tenant_context(tenant):
        rows = AuditEntry.objects.filter(action__startswith="portal.")
        if customer is not None:
            rows = rows.filter(target_type="customers.customer", target_id=str(customer.pk))
        return list(rows.order_by("id").values_list("action", "changes", "actor_type"))


def _path(url: str) -> str:
    return url[url.index("/t/") :]


def test_an_emailed_link_opens_the_portal_once_and_is_audited() -> None:
    with world(NOW, locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    link = _path(portal_url(ana, page="invoices"))
    first = Client()
    response = first.get(link)
    assert response.status_code == 302
    assert response["Location"] == f"/t/{slug}/invoices/"
    assert first.session["portal_customer"]["method"] == "link"
    # The second use, in any browser, is refused with a page that says why.
    second = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = second.get(link)
    assert page.status_code == 410
    assert 'data-testid="link-used"' in page.content.decode()
    assert f'href="/t/{slug}/sign-in/"' in page.content.decode()
    assert "portal_customer" not in second.session
    # A new link works (each is distinct even in the same second).
    assert Client().get(_path(portal_url(ana))).status_code == 302
    assert _entries(w.tenant, ana) == [
        ("portal.signed_in", {"method": "link"}, "subscriber"),
        ("portal.signed_in", {"method": "link"}, "subscriber"),
    ]


def test_a_forged_or_foreign_link_is_invalid_not_used() -> None:
    with world(NOW, slug="acme", locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
    with world(NOW, slug="other", locale="en"):
        pass
    link = _path(portal_url(ana)).split("?")[0]
    page = Client().get(link.replace("/t/acme/", "/t/other/"))
    assert page.status_code == 400
    assert 'data-testid="link-invalid"' in page.content.decode()
    forged = link[:-3] + ("xx/" if not link.endswith("xx/") else "yy/")
    assert Client().get(forged).status_code == 400
    # Neither spent it.
    assert Client().get(link).status_code == 302


def _code_and_link(message) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    text = next(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    code = re.search(r"^\s*(\d{6})\s*$", text, re.M)
    link = re.search(r"https?://\S+/sign-in/link/\S+/", text)
    assert code
    assert link
    return code.group(1), link.group(0)


def test_code_wrong_code_magic_link_and_api_session_are_audited(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    client = Client()
    with smtp_server(settings) as smtp:
        client.post(f"/t/{slug}/sign-in/", {"email": "ana@example.com"})
        client.post(f"/t/{slug}/sign-in/", {"email": "ana@example.com"})
        first, second = smtp.wait_for(2)
    code, _link = _code_and_link(second)
    wrong = "000000" if code != "000000" else "111111"
    client.post(f"/t/{slug}/sign-in/code/", {"code": wrong})
    assert client.post(f"/t/{slug}/sign-in/code/", {"code": code}).status_code == 302
    _code, link = _code_and_link(first)
    phone = Client()
    assert phone.post(_path(link)).status_code == 302
    assert phone.post(_path(link)).status_code == 400  # spent: a failed try
    with tenant_context(w.tenant):
        session = portal_session_create(tenant=w.tenant, customer=ana, now=clock.now())
    assert Client().get(f"/t/{slug}/session/{session.secret}/").status_code == 302
    assert _entries(w.tenant, ana) == [
        ("portal.sign_in_failed", {"method": "code"}, "subscriber"),
        ("portal.signed_in", {"method": "code"}, "subscriber"),
        ("portal.signed_in", {"method": "magic_link"}, "subscriber"),
        ("portal.signed_in", {"method": "api_session"}, "subscriber"),
    ]
    assert ("portal.sign_in_failed", {"method": "magic_link"}, "subscriber") in _entries(w.tenant)
    with tenant_context(w.tenant):
        entry = AuditEntry.objects.filter(action="portal.signed_in").first()
    assert entry is not None
    assert entry.actor_id == str(ana.pk)
    assert entry.ip == "127.0.0.1"


def test_the_checkout_landing_is_audited() -> None:
    tenant, plan, _ = _shop()
    client = Client()
    response = client.post(f"/t/{tenant.slug}/checkout/{plan.public_id}/", _form(client))
    assert response.status_code == 302
    with tenant_context(tenant):
        customer = Customer.objects.get(tenant=tenant)
    assert _entries(tenant, customer) == [
        ("portal.signed_in", {"method": "checkout"}, "subscriber")
    ]


def test_the_customer_timeline_shows_sign_ins_and_failed_tries() -> None:
    acme = make_tenant("acme")
    Tenant.objects.filter(pk=acme.tenant.pk).update(locale="en", portal_password_signin=True)
    with tenant_context(acme.tenant):
        ana = Customer.objects.create(
            tenant=acme.tenant, name="Ana", email="ana@example.com", locale="en"
        )
    assert Client().get(_path(portal_url(ana))).status_code == 302
    Client().post("/t/acme/sign-in/password/", {"email": "ana@example.com", "password": "nope"})
    owner = signed_in("owner@acme.example")
    page = owner.get(f"/dashboard/customers/{ana.public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Signed in to the portal" in html
    assert "Failed sign-in to the portal" in html
