"""The merchant's endpoints: reads and the services that create, update,
rotate the secret of, disable, enable and delete them (each writes its event
and audit record)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from core.secrets import decrypt_json
from notifications.models import WebhookEndpoint
from notifications.webhooks.enqueue import _enqueue_due
from notifications.webhooks.filters import validate_event_filters
from notifications.webhooks.signing import _store_secrets, new_secret
from notifications.webhooks.urlguard import validate_url
from tenants import audit
from tenants.models import Tenant
from tenants.outbox import emit


def endpoint_list(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def endpoint_get(*, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(tenant=tenant, public_id=endpoint_id).first()
    if found is None:
        raise NotFound(_("No such webhook endpoint: %(id)s") % {"id": endpoint_id[:80]}, param="id")
    return found


def _endpoint_for_update(tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    found = (
        WebhookEndpoint.objects.select_for_update()
        .filter(tenant=tenant, public_id=endpoint_id)
        .first()
    )
    if found is None:
        raise NotFound(
            _("No such webhook endpoint: %(id)s") % {"id": str(endpoint_id)[:80]}, param="id"
        )
    return found


def _endpoint_event(endpoint: WebhookEndpoint, type: str, now: datetime, **data: Any) -> None:
    emit(
        tenant_id=endpoint.tenant_id,
        type=type,
        at=now,
        subject_type="webhook_endpoint",
        subject_id=endpoint.public_id,
        data={"webhook_endpoint": endpoint.public_id, "url": endpoint.url, **data},
    )


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


@transaction.atomic
def webhook_endpoint_create(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    url: str,
    enabled_events: Sequence[str],
    description: str = "",
) -> EndpointWithSecret:
    """A new endpoint, enabled; its secret is returned this once (stored encrypted)."""
    url = validate_url(url)
    filters = validate_event_filters(list(enabled_events))
    description = _clean_description(description)
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        description=description,
        enabled_events=filters,
        secrets_encrypted=_store_secrets(secret),
        created_at=now,
        updated_at=now,
    )
    _endpoint_event(endpoint, "webhook_endpoint.created", now, enabled_events=filters)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.created",
        target=endpoint,
        at=now,
        changes={"url": url, "enabled_events": filters, "description": description},
    )
    return EndpointWithSecret(endpoint, secret)


def _clean_description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 500 or "\x00" in value:
        raise ValidationFailed(
            _("The description is text of at most 500 characters."),
            param="description",
            code="invalid_description",
        )
    return value.strip()


@transaction.atomic
def webhook_endpoint_update(
    *,
    tenant: Tenant,
    actor: Actor,
    now: datetime,
    endpoint_id: str,
    url: str | None = None,
    enabled_events: Sequence[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    changes: dict[str, Any] = {}
    if url is not None:
        url = validate_url(url)
        if url != endpoint.url:
            changes["url"] = [endpoint.url, url]
            endpoint.url = url
    if enabled_events is not None:
        filters = validate_event_filters(list(enabled_events))
        if filters != endpoint.enabled_events:
            changes["enabled_events"] = [endpoint.enabled_events, filters]
            endpoint.enabled_events = filters
    if description is not None:
        description = _clean_description(description)
        if description != endpoint.description:
            changes["description"] = [endpoint.description, description]
            endpoint.description = description
    if not changes:
        return endpoint
    endpoint.updated_at = now
    endpoint.save(update_fields=[*(k for k in changes), "updated_at"])
    _endpoint_event(endpoint, "webhook_endpoint.updated", now, changed=sorted(changes))
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.updated",
        target=endpoint,
        at=now,
        changes=changes,
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> EndpointWithSecret:
    """A new secret; the old one keeps signing (a second signature) for the grace period."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    old = decrypt_json(endpoint.secrets_encrypted)["current"]
    secret = new_secret()
    grace = timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS)
    endpoint.secrets_encrypted = _store_secrets(secret, old, now + grace)
    endpoint.updated_at = now
    endpoint.save(update_fields=["secrets_encrypted", "updated_at"])
    _endpoint_event(endpoint, "webhook_endpoint.secret_rotated", now)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.secret_rotated",
        target=endpoint,
        at=now,
    )
    return EndpointWithSecret(endpoint, secret)


@transaction.atomic
def webhook_endpoint_disable(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> WebhookEndpoint:
    """Stop sending (deliveries wait, pending, until it is enabled again)."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    if endpoint.status == WebhookEndpoint.Status.DISABLED:
        return endpoint
    _disable(endpoint, WebhookEndpoint.DisabledReason.MANUAL, now)
    audit.record(
        tenant=tenant, actor=actor, action="webhook_endpoint.disabled", target=endpoint, at=now
    )
    return endpoint


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.status = WebhookEndpoint.Status.DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    endpoint.updated_at = now
    endpoint.save(update_fields=["status", "disabled_reason", "disabled_at", "updated_at"])
    _endpoint_event(endpoint, "webhook_endpoint.disabled", now, reason=reason)


@transaction.atomic
def webhook_endpoint_enable(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> WebhookEndpoint:
    """Resume sending: the failure streak starts afresh and waiting deliveries go out."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    if endpoint.status == WebhookEndpoint.Status.ENABLED:
        return endpoint
    endpoint.status = WebhookEndpoint.Status.ENABLED
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.consecutive_failures = 0
    endpoint.updated_at = now
    endpoint.save(
        update_fields=[
            "status",
            "disabled_reason",
            "disabled_at",
            "failing_since",
            "consecutive_failures",
            "updated_at",
        ]
    )
    _endpoint_event(endpoint, "webhook_endpoint.enabled", now)
    audit.record(
        tenant=tenant, actor=actor, action="webhook_endpoint.enabled", target=endpoint, at=now
    )
    transaction.on_commit(partial(_enqueue_due, tenant.pk))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(
    *, tenant: Tenant, actor: Actor, now: datetime, endpoint_id: str
) -> str:
    """Delete the endpoint with its delivery log; returns its id."""
    endpoint = _endpoint_for_update(tenant, endpoint_id)
    public_id = endpoint.public_id
    _endpoint_event(endpoint, "webhook_endpoint.deleted", now)
    audit.record(
        tenant=tenant,
        actor=actor,
        action="webhook_endpoint.deleted",
        target=endpoint,
        at=now,
        changes={"url": endpoint.url},
    )
    endpoint.delete()
    return public_id
