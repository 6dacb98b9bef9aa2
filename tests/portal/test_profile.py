"""The subscriber's profile: name, phone, CPF/CNPJ, address, language (which
then wins over the browser's), and an email change verified at the new address."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from customers.models import Customer
from customers.portal_links import portal_url
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tests.support.billing import utc, world
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
VALID = {
    "name": "Ana Souza",
    "phone": "+55 11 98765-4321",
    "tax_id": "529.982.247-25",
    "locale": "en",
    "address_line1": "Av. Paulista",
    "address_number": "1000",
    "address_complement": "",
    "address_district": "Bela Vista",
    "address_city": "São Paulo",
    "address_state": "SP",
    "address_postal_code": "01310-100",
    "address_country": "BR",
}


def _signed_in(customer: Customer) -> Client:
    client = Client()
    url = portal_url(customer)
    assert client.get(url[url.index("/t/") :].split("?")[0]).status_code == 302
    return client


def _reload(customer: Customer) -> None:
    with tenant_context(customer.tenant):
        customer.refresh_from_db()


def _row(customer: Customer) -> dict:  # type: ignore[type-arg]
    with tenant_context(customer.tenant):
        return Customer.objects.filter(pk=customer.pk).values().get()


def _ana(w, email: str = "ana@example.com", locale: str = "en") -> Customer:  # type: ignore[no-untyped-def]
    ana = w.customer("Ana")
    Customer.objects.filter(pk=ana.pk).update(email=email, locale=locale)
    ana.refresh_from_db()
    return ana


def test_the_profile_saves_checked_values_and_audits_the_change() -> None:
    with world(NOW) as w:
        ana = _ana(w)
    client = _signed_in(ana)
    assert client.get("/t/acme/profile/").status_code == 200
    response = client.post("/t/acme/profile/", VALID)
    assert response.status_code == 302, response.content.decode()[:3000]
    _reload(ana)
    assert ana.name == "Ana Souza"
    assert ana.tax_id == "52998224725"
    assert ana.address["postal_code"] == "01310100"
    assert ana.address["state"] == "SP"
    assert ana.phone.startswith("+55")
    with tenant_context(w.tenant):
        assert AuditEntry.objects.filter(action="customer.updated").exists()


def test_an_alphanumeric_cnpj_is_accepted() -> None:
    with world(NOW) as w:
        ana = _ana(w)
    client = _signed_in(ana)
    response = client.post("/t/acme/profile/", {**VALID, "tax_id": "12.ABC.345/01DE-35"})
    assert response.status_code == 302, response.content.decode()[:3000]
    _reload(ana)
    assert ana.tax_id == "12ABC34501DE35"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tax_id", "123.456.789-00"),
        ("tax_id", "11111111111"),
        ("name", ""),
        ("name", "A" * 500),
        ("name", "Ana\x00"),
        ("phone", "x" * 80),
        ("address_postal_code", "99"),
        ("address_state", "ZZ"),
        ("address_city", "São\x00Paulo"),
        ("locale", "xx"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(field: str, value: str) -> None:
    with world(NOW) as w:
        ana = _ana(w)
    client = _signed_in(ana)
    before = _row(ana)
    response = client.post("/t/acme/profile/", {**VALID, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist' in html
    assert _row(ana) == before


def test_the_subscribers_language_wins_over_the_browsers() -> None:
    with world(NOW, locale="en") as w:
        ana = _ana(w, locale="pt-br")
    client = _signed_in(ana)
    page = client.get("/t/acme/profile/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page.status_code == 200
    assert page["Content-Language"] == "pt-br"
    assert '<html lang="pt-br"' in page.content.decode() or 'lang="pt-br"' in page.content.decode()


def test_the_merchants_language_wins_when_the_subscriber_has_none() -> None:
    with world(NOW, locale="ro") as w:
        ana = _ana(w, locale="")
    client = _signed_in(ana)
    page = client.get("/t/acme/profile/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "ro"


def _code(message) -> str:  # type: ignore[no-untyped-def]
    text = next(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    found = re.search(r"^\s*(\d{6})\s*$", text, re.M)
    assert found, text
    return found.group(1)


def test_the_email_changes_only_when_the_new_address_is_verified(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        ana = _ana(w)
    client = _signed_in(ana)
    with smtp_server(settings) as smtp:
        response = client.post("/t/acme/profile/email/", {"email": "ana.new@example.com"})
        assert response.status_code == 302
        [message] = smtp.wait_for(1)
    assert message["To"] == "ana.new@example.com"
    _reload(ana)
    assert ana.email == "ana@example.com"  # not yet
    code = _code(message)
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/t/acme/profile/email/confirm/", {"code": wrong}).status_code == 400
    _reload(ana)
    assert ana.email == "ana@example.com"
    assert client.post("/t/acme/profile/email/confirm/", {"code": code}).status_code == 302
    _reload(ana)
    assert ana.email == "ana.new@example.com"


def test_an_email_change_link_works_once_and_only_for_its_subscriber(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        ana = _ana(w)
        bob = w.customer("Bob")
    client = _signed_in(ana)
    with smtp_server(settings) as smtp:
        client.post("/t/acme/profile/email/", {"email": "ana.new@example.com"})
        [message] = smtp.wait_for(1)
    text = next(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    link = re.search(r"https?://\S+/profile/email/confirm/\S+/", text)
    assert link
    path = link.group(0)[link.group(0).index("/t/") :]
    # Another subscriber of the same merchant cannot use it.
    assert _signed_in(bob).post(path).status_code == 400
    _reload(bob)
    assert bob.email == ""
    assert client.post(path).status_code == 302
    _reload(ana)
    assert ana.email == "ana.new@example.com"
    assert client.post(path).status_code == 400


@pytest.mark.parametrize("email", ["bad", "ana\x00@example.com", "a" * 300 + "@x.com", ""])
def test_a_bad_new_email_is_refused_next_to_the_field(email: str) -> None:
    with world(NOW) as w:
        ana = _ana(w)
    client = _signed_in(ana)
    response = client.post("/t/acme/profile/email/", {"email": email})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert "portal_email_change" not in client.session


def test_the_profile_needs_a_session_and_one_of_this_merchant() -> None:
    with world(NOW, slug="acme") as w:
        ana = _ana(w)
    with world(NOW, slug="other"):
        pass
    assert Client().get("/t/acme/profile/").status_code == 403
    client = _signed_in(ana)
    assert client.get("/t/other/profile/").status_code == 403
    assert client.post("/t/other/profile/", VALID).status_code == 403
    _reload(ana)
    assert ana.name == "Ana"


def test_a_language_chosen_in_the_menu_applies_before_the_merchants_but_not_the_subscribers() -> (
    None
):
    with world(NOW, locale="pt-br") as w:
        ana = _ana(w, locale="ro")
    visitor = Client()
    visitor.cookies["django_language"] = "en"
    assert visitor.get("/t/acme/sign-in/")["Content-Language"] == "en"
    assert Client().get("/t/acme/sign-in/")["Content-Language"] == "pt-br"
    client = _signed_in(ana)
    client.cookies["django_language"] = "en"
    assert client.get("/t/acme/profile/")["Content-Language"] == "ro"


def test_the_profile_shows_the_cpf_and_cep_as_people_write_them() -> None:
    with world(NOW, locale="en") as w:
        ana = _ana(w)
    client = _signed_in(ana)
    assert client.post("/t/acme/profile/", VALID).status_code == 302
    html = client.get("/t/acme/profile/").content.decode()
    assert 'value="529.982.247-25"' in html
    assert 'value="01310-100"' in html


def test_an_english_browser_with_a_pt_br_subscriber_gets_brazilian_dates() -> None:
    with world(NOW, locale="en") as w:
        ana = _ana(w, locale="pt-br")
        sub = w.subscribe(w.plan(), ana)
        end = sub.current_period_end
    client = _signed_in(ana)
    page = client.get("/t/acme/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    local = end.astimezone(ZoneInfo("America/Sao_Paulo"))
    assert local.strftime("%d/%m/%Y") in page
    assert local.strftime("%m/%d/%Y") not in page or local.day == local.month


def test_the_header_language_menu_is_hidden_when_the_subscribers_own_language_rules() -> None:
    with world(NOW, locale="en") as w:
        ana = _ana(w, locale="pt-br")
        bob = _ana(w, email="bob@example.com", locale="")
    assert 'class="lang"' in Client().get("/t/acme/sign-in/").content.decode()
    for path in ("/t/acme/", "/t/acme/profile/"):
        assert 'class="lang"' not in _signed_in(ana).get(path).content.decode()
        assert 'class="lang"' in _signed_in(bob).get(path).content.decode()
