"""Sending the portal's own emails (sign-in codes, email-change verification)
off the request, so how long the answer takes does not tell whether the email
belongs to a customer."""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.email import OutgoingEmail, message_id_for, send_email
from notifications.rendering import Rendered
from tenants.models import Tenant
from tenants.tasks import TenantTask


@shared_task(base=TenantTask, name="portal.send_code_email", ignore_result=True)
def send_code_email(*, tenant_id: int, to: str, language: str, secrets_key: str) -> None:
    """Send the code and link held under ``secrets_key`` in the cache (taken out
    and deleted here: secrets never travel in the task's arguments, which the
    broker stores and the logs print)."""
    held = cache.get(secrets_key)
    cache.delete(secrets_key)
    if not held:
        return
    code, link, purpose = held["code"], held["link"], held.get("purpose", "sign_in")
    tenant = Tenant.objects.get(pk=tenant_id)
    with translation.override(language):
        context: dict[str, Any] = {"tenant": tenant, "code": code, "link": link, "purpose": purpose}
        if purpose == "email_change":
            subject = _("Confirm your new email at %(tenant)s") % {"tenant": tenant.name}
        else:
            subject = _("Your sign-in code for %(tenant)s: %(code)s") % {
                "tenant": tenant.name,
                "code": code,
            }
        rendered = Rendered(
            subject=subject,
            text=render_to_string("portal/email/code.txt", context),
            html=render_to_string("portal/email/code.html", context),
        )
    send_email(
        tenant=tenant,
        email=OutgoingEmail(
            message_id=message_id_for(f"portal_{uuid.uuid4().hex}"),
            to=to,
            language=language,
            rendered=rendered,
        ),
    )


def queue_code_email(
    *, tenant: Tenant, to: str, language: str, code: str, link: str, purpose: str = "sign_in"
) -> None:
    """Hold the secrets in the cache for the task and queue it."""
    key = f"portal:mail:{uuid.uuid4().hex}"
    cache.set(key, {"code": code, "link": link, "purpose": purpose}, timeout=15 * 60)
    send_code_email.delay(tenant_id=tenant.pk, to=to, language=language, secrets_key=key)
