"""`manage.py portal_link EMAIL --tenant SLUG` prints a link that opens the portal."""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from core import clock
from core.actors import Actor
from customers.services import customer_create
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db


def _link(*args: str) -> str:
    out = StringIO()
    call_command("portal_link", *args, stdout=out)
    return out.getvalue().strip()


def test_prints_a_link_that_signs_the_customer_in(acme, globex) -> None:
    with tenant_context(acme.tenant):
        customer_create(
            tenant=acme.tenant,
            name="Ana Souza",
            email="ana@example.com",
            locale="en",  # the page's text is asserted in English
            actor=Actor.system("tests"),
            now=clock.now(),
        )
    link = _link("ANA@example.com", "--tenant", "acme", "--page", "invoices")
    parts = urlsplit(link)
    assert parts.path.startswith("/t/acme/")
    assert parts.query == "next=invoices"

    client = Client()
    response = client.get(f"{parts.path}?{parts.query}", follow=True)
    assert response.status_code == 200
    # Signed in: the link lands on the customer's own invoices page.
    assert response.redirect_chain[-1][0] == "/t/acme/invoices/"
    assert b"No invoices yet." in response.content

    # The same email is unknown at another tenant: no link, a clear error.
    with pytest.raises(CommandError, match="globex has no customer"):
        _link("ana@example.com", "--tenant", "globex")


def test_unknown_tenant_is_a_clear_error(db) -> None:
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        _link("ana@example.com", "--tenant", "nope")
