""" "Continue with Google" per merchant, against a local OpenID provider
(tests/support/fake_oidc.py) issuing real RS256 id_tokens: the whole
authorization-code flow with PKCE, and every way it must refuse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client

from core.actors import Actor
from customers.models import Customer
from tenants import services as tenant_services
from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tests.support.billing import utc, world
from tests.support.fake_oidc import FakeOidcProvider, running_fake_oidc

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
REFUSED = 'data-testid="link-invalid"'


@pytest.fixture
def provider(settings) -> Iterator[FakeOidcProvider]:  # type: ignore[no-untyped-def]
    with running_fake_oidc() as fake:
        settings.GOOGLE_OIDC = fake.settings
        yield fake


def _customer(w, name: str, email: str) -> Customer:  # type: ignore[no-untyped-def]
    customer = w.customer(name)
    Customer.objects.filter(pk=customer.pk).update(email=email, locale="en")
    customer.refresh_from_db()
    return customer


def _configure(tenant: Tenant, fake: FakeOidcProvider) -> None:
    with tenant_context(tenant):
        tenant_services.tenant_update_settings(
            tenant=tenant,
            actor=Actor.system(),
            now=NOW,
            google_client_id=fake.client_id,
            google_client_secret=fake.client_secret,
        )


def _start(client: Client, slug: str) -> str:
    response = client.post(f"/t/{slug}/sign-in/google/")
    assert response.status_code == 302
    return str(response["Location"])


def _consent(authorize_url: str) -> str:
    """The provider's answer to the browser: the callback path with code and state."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    return location[location.index("/t/") :]


def _audit(tenant: Tenant) -> list[tuple[str, dict]]:
    with tenant_context(tenant):
        return list(
            AuditEntry.objects.filter(action__startswith="portal.")
            .order_by("id")
            .values_list("action", "changes")
        )


def test_a_verified_google_email_of_a_customer_signs_in(provider: FakeOidcProvider) -> None:
    with world(NOW, locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    page = Client().get(f"/t/{slug}/sign-in/")
    assert b'data-testid="google-sign-in"' in page.content
    provider.user = {"sub": "g-1", "email": "Ana@Example.com", "email_verified": True}
    client = Client()
    authorize = _start(client, slug)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.settings["authorization_endpoint"])
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [provider.client_id]
    assert query["scope"] == ["openid email"]
    response = client.get(_consent(authorize))
    assert response.status_code == 302
    assert response["Location"] == f"/t/{slug}/"
    assert client.session["portal_customer"]["customer"] == ana.public_id
    assert client.session["portal_customer"]["method"] == "google"
    # The code was traded with the PKCE verifier and the decrypted secret.
    [token_request] = provider.token_requests
    assert token_request["client_secret"] == provider.client_secret
    assert len(token_request["code_verifier"]) >= 43
    assert _audit(w.tenant) == [("portal.signed_in", {"method": "google"})]
    # The same callback a second time: the flow is spent.
    again = Client()
    assert again.get(f"/t/{slug}/sign-in/google/callback/?code=x&state=y").status_code == 400
    assert "portal_customer" not in again.session


def test_discovery_finds_the_endpoints(provider: FakeOidcProvider, settings) -> None:  # type: ignore[no-untyped-def]
    settings.GOOGLE_OIDC = {
        "issuer": provider.issuer,
        "discovery_url": f"{provider.base}/.well-known/openid-configuration",
    }
    with world(NOW, locale="en") as w:
        ana = _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": True}
    client = Client()
    assert client.get(_consent(_start(client, slug))).status_code == 302
    assert client.session["portal_customer"]["customer"] == ana.public_id


def _message(response) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', response.content.decode(), re.S)
    assert found
    return found.group(1)


def _refused(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert REFUSED in response.content.decode()
    assert "portal_customer" not in client.session


def test_a_state_that_does_not_match_is_refused(provider: FakeOidcProvider) -> None:
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": True}
    client = Client()
    callback = _consent(_start(client, slug))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    _refused(client, callback.replace(state, "forged-state"))
    assert provider.token_requests == []  # never traded
    # The genuine answer arriving in another browser (no flow there) is refused too.
    other = Client()
    _refused(other, _consent(_start(Client(), slug)))
    assert ("portal.sign_in_failed", {"method": "google", "reason": "state mismatch"}) in _audit(
        w.tenant
    )


def test_a_nonce_that_does_not_match_is_refused(provider: FakeOidcProvider) -> None:
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": True}
    provider.nonce_override = "replayed-nonce"
    client = Client()
    _refused(client, _consent(_start(client, slug)))
    assert ("portal.sign_in_failed", {"method": "google", "reason": "nonce mismatch"}) in _audit(
        w.tenant
    )


def test_an_id_token_signed_by_another_key_is_refused(provider: FakeOidcProvider) -> None:
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": True}
    client = Client()
    authorize = _start(client, slug)
    callback = _consent(authorize)
    # The JWKS now publishes another key under the same kid.
    from cryptography.hazmat.primitives.asymmetric import rsa

    signing = provider.key
    provider.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    real_jwks = provider.jwks()
    provider.key = signing
    provider.jwks = lambda: real_jwks  # type: ignore[method-assign]
    _refused(client, callback)


def test_an_unverified_email_is_refused(provider: FakeOidcProvider) -> None:
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": False}
    client = Client()
    _refused(client, _consent(_start(client, slug)))


def test_an_email_of_another_merchants_customer_gets_the_same_refusal(
    provider: FakeOidcProvider,
) -> None:
    with world(NOW, slug="acme", locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
    with world(NOW, slug="other", locale="en") as w2:
        _customer(w2, "Bia", "bia@example.com")
    _configure(w.tenant, provider)
    _configure(w2.tenant, provider)
    provider.user = {"sub": "g-2", "email": "bia@example.com", "email_verified": True}
    client = Client()
    refused = client.get(_consent(_start(client, "acme")))
    provider.user = {"sub": "g-3", "email": "ana@example.com", "email_verified": False}
    unverified = Client()
    unverified_page = unverified.get(_consent(_start(unverified, "acme")))
    assert refused.status_code == unverified_page.status_code == 400
    assert _message(refused) == _message(unverified_page)
    assert "portal_customer" not in client.session
    # Bia signs in at her own merchant; that session means nothing at acme.
    provider.user = {"sub": "g-2", "email": "bia@example.com", "email_verified": True}
    assert client.get(_consent(_start(client, "other"))).status_code == 302
    assert client.get("/t/other/invoices/").status_code == 200
    assert client.get("/t/acme/invoices/").status_code == 403


def test_a_flow_started_at_one_merchant_does_not_finish_at_another(
    provider: FakeOidcProvider,
) -> None:
    with world(NOW, slug="acme", locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
    with world(NOW, slug="other", locale="en") as w2:
        _customer(w2, "Ana at other", "ana@example.com")
    _configure(w.tenant, provider)
    _configure(w2.tenant, provider)
    provider.user = {"sub": "g-1", "email": "ana@example.com", "email_verified": True}
    client = Client()
    callback = _consent(_start(client, "acme"))
    _refused(client, callback.replace("/t/acme/", "/t/other/"))


def test_a_merchant_without_google_has_no_button_and_no_endpoints(
    provider: FakeOidcProvider,
) -> None:
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    page = Client().get(f"/t/{slug}/sign-in/")
    assert b'data-testid="google-sign-in"' not in page.content
    assert Client().post(f"/t/{slug}/sign-in/google/").status_code == 404
    assert Client().get(f"/t/{slug}/sign-in/google/callback/?code=a&state=b").status_code == 404
    # A client id without a secret is not enough either.
    Tenant.objects.filter(pk=w.tenant.pk).update(google_client_id=provider.client_id)
    assert Client().post(f"/t/{slug}/sign-in/google/").status_code == 404


def test_the_start_is_a_post_and_provider_errors_are_refused(provider: FakeOidcProvider) -> None:
    with world(NOW, locale="en") as w:
        _customer(w, "Ana", "ana@example.com")
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    assert Client().get(f"/t/{slug}/sign-in/google/").status_code == 405
    client = Client()
    authorize = _start(client, slug)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    _refused(client, f"/t/{slug}/sign-in/google/callback/?error=access_denied&state={state}")


@pytest.mark.parametrize(
    "query",
    [
        "",
        "code=&state=",
        "code=&state={state}",
        "code=a%00b&state={state}",
        "code=" + "a" * 5000 + "&state={state}",
        "state={state}",
        "code=unknown-code&state={state}",
        "code=a&state={state}&state=other",
    ],
)
def test_bad_callbacks_are_refused(provider: FakeOidcProvider, query: str) -> None:
    with world(NOW, locale="en") as w:
        slug = w.tenant.slug
    _configure(w.tenant, provider)
    client = Client()
    state = parse_qs(urlsplit(_start(client, slug)).query)["state"][0]
    _refused(client, f"/t/{slug}/sign-in/google/callback/?{query.format(state=state)}")
    # Only a well-formed code with the right state is ever sent to the provider.
    assert all(r.get("code") == "unknown-code" for r in provider.token_requests)
