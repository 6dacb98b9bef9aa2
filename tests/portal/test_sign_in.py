"""Signing in to one merchant's portal by email: a 6-digit code and a magic
link read from the email on a real local SMTP server; single use, limited
attempts, rate limits, no account enumeration, no crossing tenants."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from customers.models import Customer
from tests.support.billing import utc, world
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)


def _customer(w, name: str, email: str, locale: str = "en") -> Customer:  # type: ignore[no-untyped-def]
    customer = w.customer(name)
    Customer.objects.filter(pk=customer.pk).update(email=email, locale=locale)
    customer.refresh_from_db()
    return customer


def _code_and_link(message) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    text = next(
        part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"
    )
    code = re.search(r"^\s*(\d{6})\s*$", text, re.M)
    link = re.search(r"https?://\S+/sign-in/link/\S+/", text)
    assert code, text
    assert link, text
    return code.group(1), link.group(0)


def _path(url: str) -> str:
    return url[url.index("/t/") :]


def _ask(client: Client, slug: str, email: str):  # type: ignore[no-untyped-def]
    return client.post(f"/t/{slug}/sign-in/", {"email": email})


def test_a_subscriber_signs_in_with_the_emailed_code_once_and_signs_out(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    client = Client()
    with smtp_server(settings) as smtp:
        response = _ask(client, slug, "  ANA@example.com ")
        assert response.status_code == 302
        assert response["Location"] == f"/t/{slug}/sign-in/code/"
        [message] = smtp.wait_for(1)
    assert message["To"] == "ana@example.com"
    code, _link = _code_and_link(message)
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(f"/t/{slug}/sign-in/code/", {"code": wrong})
    assert page.status_code == 200
    assert b"This code is wrong or has expired" in page.content
    assert client.get(f"/t/{slug}/invoices/").status_code == 403
    response = client.post(f"/t/{slug}/sign-in/code/", {"code": code})
    assert response.status_code == 302
    assert client.session["portal_customer"]["customer"] == ana.public_id
    assert client.session["portal_customer"]["method"] == "code"
    assert client.get(f"/t/{slug}/invoices/").status_code == 200
    # Out, and the same code does not let anyone back in.
    client.post(f"/t/{slug}/leave/")
    assert client.get(f"/t/{slug}/invoices/").status_code == 403
    assert (
        client.post(f"/t/{slug}/sign-in/code/", {"code": code}).status_code == 302
    )  # back to the email form
    assert "portal_customer" not in client.session


def test_the_magic_link_works_once_and_only_at_its_own_merchant(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, slug="acme", locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
    with world(NOW, slug="other", locale="en") as w2:
        _customer(w2, "Ana at other", "ana@example.com")
    with smtp_server(settings) as smtp:
        _ask(Client(), "acme", "ana@example.com")
        [message] = smtp.wait_for(1)
    _code, link = _code_and_link(message)
    path = _path(link)
    # At another merchant the same challenge means nothing.
    elsewhere = path.replace("/t/acme/", "/t/other/")
    stranger = Client()
    assert stranger.post(elsewhere).status_code == 400
    assert "portal_customer" not in stranger.session
    phone = Client()
    assert phone.get(path).status_code == 200  # a page with a button: scanners don't spend it
    response = phone.post(path)
    assert response.status_code == 302
    assert phone.session["portal_customer"]["customer"] == ana.public_id
    # The acme session is refused at the other merchant.
    assert phone.get("/t/other/invoices/").status_code == 403
    again = Client()
    assert again.post(path).status_code == 400
    assert "portal_customer" not in again.session


def test_same_answer_for_unknown_emails_and_no_email_sent(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    with smtp_server(settings) as smtp:
        known = _ask(Client(), slug, "ana@example.com")
        unknown_client = Client()
        unknown = _ask(unknown_client, slug, "nobody@example.com")
        smtp.wait_for(2, timeout=2)
        assert len(smtp.messages) == 1
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    page = unknown_client.get(unknown["Location"])
    assert page.status_code == 200
    # Guessing codes for an unknown email never signs in.
    for guess in ("000000", "123456"):
        unknown_client.post(f"/t/{slug}/sign-in/code/", {"code": guess})
    assert "portal_customer" not in unknown_client.session


def test_code_attempts_are_limited(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    client = Client()
    with smtp_server(settings) as smtp:
        _ask(client, slug, "ana@example.com")
        [message] = smtp.wait_for(1)
    code, _link = _code_and_link(message)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][:5]
    for guess in wrong:
        client.post(f"/t/{slug}/sign-in/code/", {"code": guess})
    # The right code after five wrong ones: the challenge is spent.
    page = client.post(f"/t/{slug}/sign-in/code/", {"code": code})
    assert page.status_code == 200
    assert "portal_customer" not in client.session


def test_requests_are_rate_limited_per_email_and_per_address(settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    with smtp_server(settings) as smtp:
        answers = [_ask(Client(), slug, "ana@example.com").status_code for _ in range(6)]
        assert answers == [302] * 5 + [429]
        assert len(smtp.wait_for(5)) == 5
        unknown = [_ask(Client(), slug, "x@example.com").status_code for _ in range(6)]
        assert unknown == [302] * 5 + [429]
        # Per address: 20 requests from one client address, whatever the emails.
        rest = [_ask(Client(), slug, f"p{n}@example.com").status_code for n in range(10)]
        assert rest[:8] == [302] * 8
        assert rest[8:] == [429, 429]
        assert _ask(Client(REMOTE_ADDR="10.0.0.9"), slug, "q@example.com").status_code == 302
        assert len(smtp.messages) == 5


@pytest.mark.parametrize(
    "email", ["ana\x00@example.com", "not-an-email", "a" * 300 + "@example.com", ""]
)
def test_bad_emails_get_a_message_next_to_the_field(email: str, settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        slug = w.tenant.slug
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(f"/t/{slug}/sign-in/", {"email": email})
    assert response.status_code == 200
    assert b'class="errorlist' in response.content


@pytest.mark.parametrize("code", ["12\x0034", "abcdef", "1" * 50, ""])
def test_bad_codes_get_a_message(code: str, settings) -> None:  # type: ignore[no-untyped-def]
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    client = Client()
    with smtp_server(settings):
        _ask(client, slug, "ana@example.com")
    response = client.post(f"/t/{slug}/sign-in/code/", {"code": code})
    assert response.status_code == 200
    assert b'class="errorlist' in response.content
    assert "portal_customer" not in client.session
