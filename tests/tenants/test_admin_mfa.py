"""Issue 12, finding 1: a staff password alone never opens Django's admin.

Its login is allauth's (lockout, rate limits), a second factor is required in
the session, and production leaves the admin out unless ADMIN_ENABLED is set."""

from __future__ import annotations

from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from tenants.models import User
from tests.core.test_deploy_check import _manage
from tests.support.totp import totp

PASSWORD = "s3cret-Pass!"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 10 + "a-real-secret-of-more-than-fifty-characters-1234567890",
    "ALLOWED_HOSTS": "billing.example.com",
}


def _superuser() -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.create_superuser(
        username="root", email="root@ciclo.example", password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_the_admins_own_password_form_opens_nothing(db: None, client: Client) -> None:
    _superuser()

    posted = client.post(
        "/admin/login/?next=/admin/", {"username": "root@ciclo.example", "password": PASSWORD}
    )
    posted_username = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD}
    )

    for response in (posted, posted_username):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/auth/group/").status_code == 302


def test_a_password_login_without_a_second_factor_is_sent_to_set_one_up(
    db: None, client: Client
) -> None:
    _superuser()

    login = client.post("/accounts/login/", {"login": "root@ciclo.example", "password": PASSWORD})
    admin = client.get("/admin/")

    assert login.status_code == 302  # signed in to the dashboard with the password...
    assert admin.status_code == 302  # ...but the admin wants a second factor first
    assert client.get(admin["Location"])["Location"].startswith("/accounts/2fa/totp/activate/")


def test_a_session_signed_in_by_password_alone_is_refused_even_with_totp_set_up(
    db: None, client: Client
) -> None:
    user = _superuser()
    TOTP.activate(user, SECRET)
    client.force_login(user)  # as a session from before MFA was set up

    admin = client.get("/admin/")

    assert admin.status_code == 302
    assert client.get(admin["Location"])["Location"].startswith("/accounts/2fa/reauthenticate/")


def test_allauth_login_with_a_totp_code_opens_the_admin(db: None, client: Client) -> None:
    user = _superuser()
    TOTP.activate(user, SECRET)

    first = client.post("/accounts/login/", {"login": "root@ciclo.example", "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302
    client.post("/accounts/2fa/authenticate/", {"code": totp(SECRET)})

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 200


def test_production_leaves_the_admin_out_unless_asked() -> None:
    probe = (
        "from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/admin/'); print('ADMIN ON')\n"
        "except Resolver404:\n    print('ADMIN OFF')\n"
    )

    off = _manage("shell", "-c", probe, **PRODUCTION)
    on = _manage("shell", "-c", probe, **PRODUCTION, ADMIN_ENABLED="1")

    assert "ADMIN OFF" in off.stdout, off.stderr
    assert "ADMIN ON" in on.stdout, on.stderr
