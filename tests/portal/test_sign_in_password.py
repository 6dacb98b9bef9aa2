"""The optional portal password: a merchant turns it on; a subscriber signed in
by code sets it on the profile page; the sign-in page then takes email and
password. One answer and one hash check for every refusal, rate limits, and a
password belongs to one customer of one merchant only."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth import hashers
from django.contrib.auth.hashers import check_password
from django.test import Client

from customers.models import Customer
from portal import signin
from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tests.support.billing import utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
GOOD = "correct horse battery 42"


def _customer(w, name: str, email: str) -> Customer:  # type: ignore[no-untyped-def]
    customer = w.customer(name)
    Customer.objects.filter(pk=customer.pk).update(email=email, locale="en")
    customer.refresh_from_db()
    return customer


def _signed_in(slug: str, customer: Customer) -> Client:
    """A browser signed in the way a subscriber gets there first: by code."""
    from portal.sessions import SESSION_KEY

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[SESSION_KEY] = {
        "tenant": customer.tenant_id,
        "customer": customer.public_id,
        "method": "code",
    }
    session.save()
    return client


def _set(client: Client, slug: str, first: str, second: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/t/{slug}/profile/password/",
        {"new_password1": first, "new_password2": first if second is None else second},
    )


def _login(client: Client, slug: str, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(f"/t/{slug}/sign-in/password/", {"email": email, "password": password})


def _password(customer: Customer) -> str:
    with tenant_context(customer.tenant):
        return Customer.objects.get(pk=customer.pk).portal_password


def test_off_by_default_no_form_no_endpoint() -> None:
    with world(NOW, locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    page = Client().get(f"/t/{slug}/sign-in/")
    assert page.status_code == 200
    assert b'data-testid="password-sign-in"' not in page.content
    assert _login(Client(), slug, "ana@example.com", GOOD).status_code == 404
    client = _signed_in(slug, ana)
    assert b'data-testid="portal-password"' not in client.get(f"/t/{slug}/profile/").content
    assert _set(client, slug, GOOD).status_code == 404
    assert _password(ana) == ""


def test_set_a_password_then_sign_in_with_it_and_change_it() -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    client = _signed_in(slug, ana)
    assert b'data-testid="portal-password"' in client.get(f"/t/{slug}/profile/").content
    response = _set(client, slug, GOOD)
    assert response.status_code == 302
    stored = _password(ana)
    assert stored != GOOD
    assert check_password(GOOD, stored)
    # A fresh browser signs in with email and password.
    page = Client().get(f"/t/{slug}/sign-in/")
    assert b'data-testid="password-sign-in"' in page.content
    browser = Client()
    response = _login(browser, slug, " ANA@example.com ", GOOD)
    assert response.status_code == 302
    assert response["Location"] == f"/t/{slug}/"
    assert browser.session["portal_customer"]["customer"] == ana.public_id
    assert browser.session["portal_customer"]["method"] == "password"
    # Changed: the old one no longer works.
    assert _set(browser, slug, "another fine passphrase 7").status_code == 302
    assert _login(Client(), slug, "ana@example.com", GOOD).status_code == 400
    assert _login(Client(), slug, "ana@example.com", "another fine passphrase 7").status_code == 302
    with tenant_context(w.tenant):
        actions = list(
            AuditEntry.objects.filter(target_id=str(ana.pk))
            .order_by("id")
            .values_list("action", "changes")
        )
    assert ("customer.portal_password_set", {}) in actions
    assert ("customer.portal_password_changed", {}) in actions
    assert ("portal.signed_in", {"method": "password"}) in actions
    assert ("portal.sign_in_failed", {"method": "password"}) in actions
    # No audit entry holds the password or its hash.
    assert all(GOOD not in str(changes) for _a, changes in actions)


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ("short", None, "new_password1"),  # too short
        ("password", None, "new_password1"),  # too common
        ("12345678901", None, "new_password1"),  # all digits
        ("ana@example.com", None, "new_password1"),  # like the email
        (GOOD, "something else 99", "new_password2"),  # differ
        ("good one\x00 with NUL 42", None, "new_password1"),
        ("x" * 5000, None, "new_password1"),
        ("", None, "new_password1"),
    ],
)
def test_weak_or_bad_passwords_are_refused_next_to_the_field(
    first: str, second: str | None, field: str
) -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    response = _set(_signed_in(slug, ana), slug, first, second)
    assert response.status_code == 400
    assert response.context["password_form"].errors[field]
    assert _password(ana) == ""


def test_setting_a_password_needs_a_session() -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    assert _set(Client(), slug, GOOD).status_code == 403
    assert _password(ana) == ""


def test_one_answer_and_one_hash_check_for_every_refusal() -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        _customer(w, "Bia", "bia@example.com")  # no password
        slug = w.tenant.slug
    _set(_signed_in(slug, ana), slug, GOOD)
    answers = {}
    real = hashers.check_password
    for label, email, password in [
        ("wrong password", "ana@example.com", "not it at all 1"),
        ("no password", "bia@example.com", GOOD),
        ("unknown email", "nobody@example.com", GOOD),
    ]:
        with mock.patch.object(hashers, "check_password", side_effect=real) as signin_check:
            response = _login(Client(), slug, email, password)
        answers[label] = (
            response.status_code,
            [str(e) for e in response.context["password_form"].non_field_errors()],
        )
        assert signin_check.call_count == 1, label
        # The hash checked is a real one, never an unusable "!" password.
        assert not signin_check.call_args.args[1].startswith("!"), label
    assert len(set(map(str, answers.values()))) == 1
    assert answers["unknown email"][0] == 400


def test_password_tries_are_rate_limited_per_email_and_per_address() -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _set(_signed_in(slug, ana), slug, GOOD)
    codes = [
        _login(Client(), slug, "ana@example.com", f"wrong {n}").status_code
        for n in range(signin.PASSWORD_PER_EMAIL_LIMIT)
    ]
    assert codes == [400] * signin.PASSWORD_PER_EMAIL_LIMIT
    # Limited now even with the right password; another address still answers.
    assert _login(Client(), slug, "ana@example.com", GOOD).status_code == 429
    assert _login(Client(), slug, "bia@example.com", "x").status_code == 400
    # Per client address, whatever the email.
    tries = signin.PASSWORD_PER_IP_LIMIT - signin.PASSWORD_PER_EMAIL_LIMIT - 2
    for n in range(tries):
        _login(Client(), slug, f"p{n}@example.com", "x")
    assert _login(Client(), slug, "q@example.com", "x").status_code == 429
    assert _login(Client(REMOTE_ADDR="10.0.0.9"), slug, "q@example.com", "x").status_code == 400


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("", GOOD),
        ("ana@example.com", ""),
        ("ana\x00@example.com", GOOD),
        ("ana@example.com", "pass\x00word"),
        ("a" * 300 + "@example.com", GOOD),
        ("not-an-email", GOOD),
        ("ana@example.com", "x" * 5000),
    ],
)
def test_bad_input_is_refused_next_to_the_field(email: str, password: str) -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _set(_signed_in(slug, ana), slug, GOOD)
    client = Client()
    response = _login(client, slug, email, password)
    assert response.status_code == 400
    assert response.context["password_form"].errors
    assert "portal_customer" not in client.session


def test_wrong_types_are_refused_by_the_service() -> None:
    with world(NOW, locale="en", portal_password_signin=True) as w:
        tenant = w.tenant
    assert (
        signin.sign_in_with_password(
            tenant=tenant,
            email=["ana@example.com"],  # type: ignore[arg-type]
            password=GOOD,
            client_ip="1.2.3.4",
        )
        is None
    )
    assert (
        signin.sign_in_with_password(
            tenant=tenant,
            email="ana@example.com",
            password=42,  # type: ignore[arg-type]
            client_ip="1.2.3.4",
        )
        is None
    )


def test_the_same_email_at_two_merchants_has_two_passwords() -> None:
    with world(NOW, slug="acme", locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
    with world(NOW, slug="other", locale="en", portal_password_signin=True) as w2:
        ana_other = _customer(w2, "Ana at other", "ana@example.com")
    _set(_signed_in("acme", ana), "acme", GOOD)
    # Acme's password does not open the other merchant's portal...
    assert _login(Client(), "other", "ana@example.com", GOOD).status_code == 400
    # ...nor does a session opened at acme.
    client = Client()
    assert _login(client, "acme", "ana@example.com", GOOD).status_code == 302
    assert client.get("/t/other/invoices/").status_code == 403
    # The other merchant's own password is separate.
    _set(_signed_in("other", ana_other), "other", "a different passphrase 8")
    assert (
        _login(Client(), "other", "ana@example.com", "a different passphrase 8").status_code == 302
    )
    assert (
        _login(Client(), "acme", "ana@example.com", "a different passphrase 8").status_code == 400
    )
    with tenant_context(Tenant.objects.get(slug="acme")):
        assert check_password(GOOD, Customer.objects.get(pk=ana.pk).portal_password)


def test_the_hash_is_never_exported_and_erasure_removes_it() -> None:
    from core.actors import Actor
    from portal.privacy import collect, erase_customer

    with world(NOW, locale="en", portal_password_signin=True) as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _set(_signed_in(slug, ana), slug, GOOD)
    stored = _password(ana)
    with tenant_context(w.tenant):
        exported = collect(tenant=w.tenant, customer=Customer.objects.get(pk=ana.pk))
        assert stored not in str(exported)
        assert "portal_password" not in str(exported)
        erase_customer(
            tenant=w.tenant,
            customer=Customer.objects.get(pk=ana.pk),
            actor=Actor.subscriber(ana),
            now=NOW,
        )
    assert _password(ana) == ""
