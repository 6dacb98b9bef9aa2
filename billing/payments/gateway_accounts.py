"""The tenant's own gateway accounts: credentials checked, encrypted at rest,
deactivated by erasing them."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from billing.models import GatewayAccount
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from tenants import audit
from tenants.models import Tenant

_CREDENTIAL_RULES: dict[str, dict[str, str]] = {
    # field → the regular expression it must match
    "stripe": {
        "api_key": r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$",
        "webhook_secret": r"^whsec_\S{8,}$",
        "publishable_key": r"^pk_(test|live)_[A-Za-z0-9]{8,}$",
    },
}
# Fields a gateway works without (Stripe Elements needs the publishable key;
# off-session charges do not).
_OPTIONAL_CREDENTIALS: dict[str, set[str]] = {"stripe": {"publishable_key"}}


@transaction.atomic
def gateway_account_set(
    *,
    tenant: Tenant,
    gateway: str,
    credentials: dict[str, str],
    actor: Actor,
    now: datetime,
    mode: str = "test",
) -> GatewayAccount:
    """Store (or replace) a tenant's credentials for a gateway, encrypted at rest.
    The audit log records which fields changed, never their values."""
    import re

    from core.secrets import encrypt_json

    rules = _CREDENTIAL_RULES.get(gateway)
    if rules is None:
        raise ValidationFailed(f"Unknown gateway: {gateway}", param="gateway")
    if mode not in GatewayAccount.Mode.values:
        raise ValidationFailed(f"Unknown mode: {mode}", param="mode")
    optional = _OPTIONAL_CREDENTIALS.get(gateway, set())
    if (
        not isinstance(credentials, dict)
        or not set(rules) - optional <= set(credentials)
        or not set(credentials) <= set(rules)
    ):
        raise ValidationFailed(
            f"{gateway} needs: {', '.join(sorted(set(rules) - optional))}"
            + (f" (optionally {', '.join(sorted(optional))})" if optional else "")
            + ".",
            param="credentials",
        )
    for field_name, pattern in rules.items():
        if field_name not in credentials:
            continue
        value = credentials[field_name]
        if not isinstance(value, str) or not re.match(pattern, value):
            raise ValidationFailed(f"That {field_name} does not look right.", param=field_name)
    key_mode = "live" if "_live_" in credentials.get("api_key", "") else "test"
    if gateway == "stripe" and key_mode != mode:
        raise ValidationFailed(f"A {key_mode} key cannot be used in {mode} mode.", param="api_key")
    publishable = credentials.get("publishable_key", "")
    if publishable and ("_live_" in publishable) != (mode == "live"):
        raise ValidationFailed(
            "The publishable key's mode differs from the secret key's.", param="publishable_key"
        )
    account, _created = GatewayAccount.objects.update_or_create(
        tenant=tenant,
        gateway=gateway,
        mode=mode,
        defaults={"credentials_encrypted": encrypt_json(credentials), "active": True},
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="gateway_account.set",
        target=account,
        changes={"fields": sorted(credentials), "mode": mode},
        at=now,
    )
    return account


@transaction.atomic
def gateway_account_deactivate(
    *, tenant: Tenant, gateway: str, mode: str, actor: Actor, now: datetime
) -> GatewayAccount:
    """Stop using an account (its credentials are erased; setting it again
    re-activates it). Cards saved through it stay, but can no longer be charged
    until it is configured again."""
    account = (
        GatewayAccount.objects.select_for_update()
        .filter(tenant=tenant, gateway=gateway, mode=mode, active=True)
        .first()
    )
    if account is None:
        raise NotFound("No such gateway account.", param="gateway")
    from core.secrets import encrypt_json

    account.active = False
    account.credentials_encrypted = encrypt_json({})
    account.save(update_fields=["active", "credentials_encrypted", "updated_at"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="gateway_account.deactivated",
        target=account,
        changes={"mode": mode},
        at=now,
    )
    return account
