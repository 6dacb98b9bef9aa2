"""A tenant's own wording of its messages: save, reset, and the starting text."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from notifications import catalog
from notifications.models import MessageTemplate
from notifications.rendering import TemplateError, compile_tenant_template, render_text
from tenants import audit
from tenants.models import Tenant

SMS_MAX = 1600  # Twilio's limit for one message body


def _check_target(key: str, channel: str, language: str) -> catalog.MessageKind:
    kind = catalog.get(key) if isinstance(key, str) else None
    if kind is None:
        raise NotFound("No such message.", param="key")
    if channel not in kind.channels:
        raise ValidationFailed(f"{key} is not sent by {channel}.", param="channel")
    if language not in {code for code, _n in settings.LANGUAGES}:
        raise ValidationFailed(f"Unknown language: {language}", param="language")
    return kind


def validate_source(*, channel: str, subject: str, body: str) -> None:
    """Raise ``ValidationFailed`` (with the field) for text that cannot be used."""
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("The text cannot be empty.", param="body")
    if not isinstance(subject, str):
        raise ValidationFailed("The subject must be text.", param="subject")
    if channel == catalog.SMS and subject:
        raise ValidationFailed("An SMS has no subject.", param="subject")
    if channel == catalog.SMS and len(body) > SMS_MAX:
        raise ValidationFailed(f"An SMS holds at most {SMS_MAX} characters.", param="body")
    if len(subject) > 200:
        raise ValidationFailed("The subject holds at most 200 characters.", param="subject")
    if len(body) > 10_000:
        raise ValidationFailed("The text holds at most 10,000 characters.", param="body")
    for field, source in (("subject", subject), ("body", body)):
        try:
            compile_tenant_template(source)
        except TemplateError as exc:
            raise ValidationFailed(str(exc), param=field, code="template_syntax_error") from exc


@transaction.atomic
def message_template_save(
    *,
    tenant: Tenant,
    key: str,
    channel: str,
    language: str,
    subject: str,
    body: str,
    actor: Actor,
    now: datetime,
) -> MessageTemplate:
    _check_target(key, channel, language)
    validate_source(channel=channel, subject=subject, body=body)
    template, created = MessageTemplate.objects.update_or_create(
        tenant=tenant,
        key=key,
        channel=channel,
        language=language,
        defaults={"subject": subject.strip(), "body": body, "updated_at": now},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="message_template.created" if created else "message_template.updated",
        target=template,
        at=now,
        changes={"key": key, "channel": channel, "language": language},
    )
    return template


@transaction.atomic
def message_template_reset(
    *, tenant: Tenant, key: str, channel: str, language: str, actor: Actor, now: datetime
) -> None:
    """Back to Ciclo's default wording (deletes the override, if any)."""
    _check_target(key, channel, language)
    template = MessageTemplate.objects.filter(
        tenant=tenant, key=key, channel=channel, language=language
    ).first()
    if template is None:
        return
    audit.record(
        tenant=tenant,
        actor=actor,
        action="message_template.reset",
        target=template,
        at=now,
        changes={"key": key, "channel": channel, "language": language},
    )
    template.delete()


def starting_text(*, key: str, channel: str, language: str) -> tuple[str, str]:
    """Ciclo's default wording in ``language`` with ``{{ variables }}`` in place
    of the values: where a merchant's own version starts from."""
    placeholders = {name: "{{ " + name + " }}" for name in catalog.VARIABLES}
    subject, text = render_text(key=key, channel=channel, language=language, context=placeholders)
    return subject, text
