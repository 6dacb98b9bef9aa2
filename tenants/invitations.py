"""Signed, expiring links that invite a staff member into a tenant.

The link carries the tenant and the invitation's nonce, signed with the project's
secret and a salt of its own (like ``customers.portal_links``); the ``Invitation``
row makes it single-use and carries the expiry the service checks against ``now``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from tenants.models import Invitation, Tenant

SALT = "ciclo.team.invitation"
MAX_AGE = timedelta(days=7)


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"t": invitation.tenant_id, "n": invitation.nonce}, salt=SALT)


def invitation_token_read(token: str) -> dict[str, object] | None:
    """The token's payload, or None when it is forged or older than ``MAX_AGE``."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def invitation_url(invitation: Invitation) -> str:
    path = reverse("dashboard:team_accept", kwargs={"token": invitation_token(invitation)})
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def invitation_send(invitation: Invitation, tenant: Tenant) -> None:
    """Email the link, in the tenant's language."""
    with override(tenant.locale):
        subject = _("You are invited to %(tenant)s on Ciclo") % {"tenant": tenant.name}
        body = _(
            "You have been invited to join %(tenant)s as %(role)s.\n\n"
            "Accept the invitation (sign in or sign up with this email address):\n"
            "%(url)s\n\nThe link works once and expires in %(days)d days."
        ) % {
            "tenant": tenant.name,
            "role": invitation.get_role_display(),
            "url": invitation_url(invitation),
            "days": MAX_AGE.days,
        }
    send_mail(subject, body, None, [invitation.email])
