"""Email to subscribers through Django's email backend (``EMAIL_URL``: SMTP in
production, the console in the embedded default).

Every message has a text and an HTML part, the tenant's name as the sender's
display name (on the platform's address, which is the one that may send),
replies going to the tenant's support email, ``Content-Language`` and a
``Message-ID`` derived from the delivery, so a resend after a lost answer is
recognisably the same message. Optional (marketing) messages carry the
one-click ``List-Unsubscribe`` headers (RFC 8058).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.rendering import Rendered
from tenants.models import Tenant


class EmailSendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    message_id: str
    to: str
    language: str
    rendered: Rendered
    unsubscribe_url: str = ""


def bcp47(language: str) -> str:
    """``pt-br`` → ``pt-BR`` (Django's codes are lower case; headers use BCP 47)."""
    lang, _sep, region = language.partition("-")
    return f"{lang}-{region.upper()}" if len(region) == 2 else language


def message_id_for(delivery_public_id: str) -> str:
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2] or "ciclo.local"
    return f"<{delivery_public_id}@{domain}>"


def sender_for(tenant: Tenant) -> str:
    """The tenant's name on the platform's sending address."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((tenant.name, address or "no-reply@ciclo.local"))


def build_email(*, tenant: Tenant, email: OutgoingEmail) -> EmailMultiAlternatives:
    text = email.rendered.text
    headers = {
        "Message-ID": email.message_id,
        "Content-Language": bcp47(email.language),
        "X-Ciclo-Message": email.message_id.strip("<>").partition("@")[0],
    }
    if email.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        with translation.override(email.language):
            text += "\n\n" + _("Unsubscribe from optional messages: %(url)s") % {
                "url": email.unsubscribe_url
            }
    message = EmailMultiAlternatives(
        subject=email.rendered.subject,
        body=text,
        from_email=sender_for(tenant),
        to=[email.to],
        reply_to=[tenant.support_email] if tenant.support_email else None,
        headers=headers,
        connection=get_connection(fail_silently=False),
    )
    message.attach_alternative(email.rendered.html, "text/html")
    return message


def send_email(*, tenant: Tenant, email: OutgoingEmail) -> str:
    """Send; returns the provider id (our Message-ID). Raises ``EmailSendError``."""
    message = build_email(tenant=tenant, email=email)
    try:
        sent = message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailSendError(f"recipient refused: {exc.recipients}", permanent=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailSendError(f"{type(exc).__name__}: {exc}") from exc
    if sent != 1:
        raise EmailSendError("the email backend did not send the message")
    return email.message_id
