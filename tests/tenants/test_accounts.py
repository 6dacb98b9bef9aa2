"""Staff accounts: signup makes a tenant, email verification, MFA, lockout."""

import re

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.test import Client

from core import clock
from core.actors import Actor
from tenants.context import platform_access, tenant_context
from tenants.models import Membership, Tenant, User
from tenants.services import tenant_update_settings
from tests.conftest import TenantSetup
from tests.support.totp import test_vectors as _rfc_vectors
from tests.support.totp import totp

PASSWORD = "s3cret-Pass!"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _login(client: Client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_our_totp_matches_rfc_6238() -> None:
    _rfc_vectors()


def test_signup_creates_a_tenant_owned_by_the_new_user_after_email_verification(
    db: None, client: Client
) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "company": "Padaria Pão Quente",
            "email": "maria@padaria.example",
            "password1": "a-Strong-pass-42",
            "password2": "a-Strong-pass-42",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="maria@padaria.example")
    tenant = Tenant.objects.get(name="Padaria Pão Quente")
    assert tenant.slug == "padaria-pao-quente"
    with platform_access():
        assert list(Membership.objects.filter(user=user).values_list("tenant_id", "role")) == [
            (tenant.pk, "owner")
        ]
    # Until the address is confirmed, the dashboard stays closed.
    assert client.get("/").status_code == 302
    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/confirm-email/[^\s]+)", message.body)
    assert link is not None
    client.post(link.group(1))
    assert EmailAddress.objects.get(user=user).verified is True
    home = client.get("/")
    assert home.status_code == 200
    assert "Padaria Pão Quente" in home.content.decode()


def test_signup_without_a_company_is_refused_and_creates_nothing(db: None, client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "company": "  ",
            "email": "x@example.com",
            "password1": "a-Strong-pass-42",
            "password2": "a-Strong-pass-42",
        },
    )

    assert response.status_code == 200
    assert "company" in response.context["form"].errors
    assert not User.objects.exists()
    assert not Tenant.objects.exists()


def test_login_with_password_opens_the_dashboard(acme: TenantSetup, client: Client) -> None:
    response = _login(client, "owner@acme.example")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Acme" in client.get("/").content.decode()


def test_mfa_login_with_a_totp_code(acme: TenantSetup, client: Client) -> None:
    TOTP.activate(acme.owner, SECRET)

    first = _login(client, "owner@acme.example")
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == 302  # not logged in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    done = client.post("/accounts/2fa/authenticate/", {"code": totp(SECRET)})

    assert done.status_code == 302
    assert client.get("/").status_code == 200


def test_mfa_login_with_a_recovery_code_which_works_once(acme: TenantSetup, client: Client) -> None:
    TOTP.activate(acme.owner, SECRET)
    codes = RecoveryCodes.activate(acme.owner).get_unused_codes()

    _login(client, "owner@acme.example")
    done = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert done.status_code == 302
    assert client.get("/").status_code == 200

    again = Client()
    _login(again, "owner@acme.example")
    reused = again.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert reused.status_code == 200
    assert again.get("/").status_code == 302


def test_repeated_failed_logins_lock_the_account_out(acme: TenantSetup, client: Client) -> None:
    for _ in range(5):
        assert _login(client, "owner@acme.example", "wrong").status_code == 200

    locked = _login(client, "owner@acme.example")

    assert locked.status_code == 200
    assert "Too many failed login attempts" in locked.content.decode()
    assert client.get("/").status_code == 302
    # Another account from the same address is not locked by it.
    other = Client()
    assert (
        other.post("/accounts/login/", {"login": "x@none.example", "password": "x"}).status_code
        == 200
    )


def test_a_tenant_that_requires_mfa_sends_staff_without_it_to_set_it_up(
    acme: TenantSetup, client: Client
) -> None:
    with tenant_context(acme.tenant):
        tenant_update_settings(
            tenant=acme.tenant, actor=Actor.system(), now=clock.now(), require_mfa=True
        )
    _login(client, "owner@acme.example")

    blocked = client.get("/dashboard/api-keys/")
    assert blocked.status_code == 302
    assert blocked["Location"].startswith("/accounts/2fa/totp/activate/")
    # Adding an authenticator asks for the password again (allauth's default).
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith(
        "/accounts/reauthenticate/"
    )
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page.content.decode())
    assert secret is not None
    activated = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret.group(1))})

    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=acme.owner, type="totp").exists()
    assert client.get("/dashboard/api-keys/").status_code == 200


def test_password_reset_by_email(acme: TenantSetup, client: Client) -> None:
    client.post("/accounts/password/reset/", {"email": "owner@acme.example"})
    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/password/reset/key/[^\s]+)", message.body)
    assert link is not None

    form_page = client.get(link.group(1), follow=True)
    changed = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": "Another-pass-77", "password2": "Another-pass-77"},
    )

    assert changed.status_code == 302
    assert _login(Client(), "owner@acme.example", "Another-pass-77").status_code == 302
    assert _login(Client(), "owner@acme.example", PASSWORD).status_code == 200
