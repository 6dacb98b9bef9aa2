"""Writes for tenants, staff memberships and API keys. One transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.actors import Actor
from core.errors import NotFound, PermissionDenied, StateConflict, ValidationFailed
from core.registry import registered
from tenants import audit, invitations
from tenants.cancel_reasons import clean_cancel_reasons
from tenants.context import tenant_context
from tenants.embed import embed_origins
from tenants.models import ApiKey, Invitation, Membership, Tenant, User
from tenants.permissions import Role
from tenants.selectors import api_key_forget

RESERVED_SLUGS = frozenset({"api", "admin", "accounts", "dashboard", "static", "media", "t"})
TENANT_SETTINGS_FIELDS = (
    "name",
    "default_currency",
    "time_zone",
    "locale",
    "primary_color",
    "accent_color",
    "support_email",
    "support_phone",
    "require_mfa",
    "proration_precision",
    "rounding_mode",
    "interval_change_anchor",
    "pause_unused",
    "proration_change_day",
    "proration_day_count",
    "quantity_change_lines",
    "trial_invoice",
    "invoice_prefix",
    "net_terms_days",
    "logo",
    "embed_domains",
    "portal_password_signin",
    "google_client_id",
    # Write-only: stored encrypted in ``google_client_secret_encrypted``.
    "google_client_secret",
    "cancel_reasons",
)
MAX_NET_TERMS_DAYS = 365
MAX_LOGO_BYTES = 512 * 1024
# Raster images only: an SVG can carry script, and the logo is shown on public pages.
LOGO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def _unique_slug(base: str) -> str:
    root = (slugify(base) or "tenant")[:50].strip("-") or "tenant"
    if root in RESERVED_SLUGS:
        root = f"{root}-co"
    slug, n = root, 1
    while Tenant.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


def tenant_create(
    *,
    name: str,
    owner: User,
    now: datetime,
    slug: str | None = None,
    default_currency: str = "BRL",
    time_zone: str = "America/Sao_Paulo",
    locale: str = "pt-br",
) -> Tenant:
    """Create a tenant and make ``owner`` its owner."""
    name = name.strip()
    if not name:
        raise ValidationFailed("A tenant needs a name.", param="name")
    if slug is not None and (slugify(slug) != slug or slug in RESERVED_SLUGS or not slug):
        raise ValidationFailed(f"'{slug}' is not a usable slug.", param="slug")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                tenant = Tenant(
                    name=name,
                    slug=slug or _unique_slug(name),
                    default_currency=default_currency,
                    time_zone=time_zone,
                    locale=locale,
                )
                # Slug uniqueness is the database's job (the IntegrityError below).
                tenant.full_clean(validate_unique=False)
                tenant.save()
                with tenant_context(tenant):
                    Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
                    # Apps that set a new tenant up (dunning seeds its policies) do it
                    # here, in this transaction: a tenant never exists without them.
                    for listener in registered("TENANT_CREATED_LISTENERS"):
                        listener(tenant=tenant, now=now)
                    audit.record(
                        tenant=tenant,
                        actor=Actor.staff(owner),
                        action="tenant.created",
                        target=tenant,
                        changes={"name": name, "slug": tenant.slug},
                        at=now,
                    )
                return tenant
        except IntegrityError:
            if slug is not None:
                raise ValidationFailed(f"The slug '{slug}' is taken.", param="slug") from None
            # Another signup took the same generated slug between our check and insert.
    raise ValidationFailed("Could not find a free slug; choose one.", param="slug")


def _check_logo(logo: Any) -> None:
    name = str(getattr(logo, "name", "") or "").lower()
    if not name.endswith(LOGO_EXTENSIONS):
        raise ValidationFailed("The logo must be a PNG, JPEG, WebP or GIF image.", param="logo")
    if (getattr(logo, "size", 0) or 0) > MAX_LOGO_BYTES:
        raise ValidationFailed("The logo must be 512 KB or smaller.", param="logo")


@transaction.atomic
def tenant_update_settings(*, tenant: Tenant, actor: Actor, now: datetime, **values: Any) -> Tenant:
    """Change any of ``TENANT_SETTINGS_FIELDS``; all or nothing, audited with old and new."""
    unknown = set(values) - set(TENANT_SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown setting: {sorted(unknown)[0]}", param=sorted(unknown)[0])
    net_terms = values.get("net_terms_days")
    if "net_terms_days" in values and (
        not isinstance(net_terms, int)
        or isinstance(net_terms, bool)
        or not 0 <= net_terms <= MAX_NET_TERMS_DAYS
    ):
        raise ValidationFailed(
            f"Days to pay must be a whole number from 0 to {MAX_NET_TERMS_DAYS}.",
            param="net_terms_days",
        )
    if "embed_domains" in values:
        try:
            values["embed_domains"] = embed_origins(values["embed_domains"])
        except DjangoValidationError as exc:
            raise ValidationFailed(exc.messages[0], param="embed_domains") from None
    if "cancel_reasons" in values:
        try:
            values["cancel_reasons"] = clean_cancel_reasons(values["cancel_reasons"])
        except DjangoValidationError as exc:
            raise ValidationFailed(exc.messages[0], param="cancel_reasons") from None
    if "logo" in values and not values["logo"]:
        values["logo"] = ""  # a form's "clear" checkbox gives False
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    secret_change = _google_secret_change(locked, values)
    changes = {
        field: [getattr(locked, field), value]
        for field, value in values.items()
        if getattr(locked, field) != value
    }
    if not changes and secret_change is None:
        return locked
    if changes.get("logo", [None, None])[1]:
        _check_logo(changes["logo"][1])
    for field, (_old, new) in changes.items():
        setattr(locked, field, new)
    try:
        locked.full_clean(validate_unique=False)
    except DjangoValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(messages[0], param=None if field == "__all__" else field) from None
    recorded: dict[str, Any] = {
        # A file is recorded by its name, not its bytes.
        f: [str(o or ""), str(n or "")] if f == "logo" else [o, n]
        for f, (o, n) in changes.items()
    }
    if secret_change is not None:
        locked.google_client_secret_encrypted = secret_change
        # The secret itself is never written anywhere readable: only that it changed.
        recorded["google_client_secret"] = "set" if secret_change else "cleared"
    locked.save(
        update_fields=list(changes)
        + (["google_client_secret_encrypted"] if secret_change is not None else [])
    )
    audit.record(
        tenant=locked,
        actor=actor,
        action="tenant.settings_changed",
        target=locked,
        changes=recorded,
        at=now,
    )
    return locked


MAX_GOOGLE_SECRET_LENGTH = 500


def _google_secret_change(tenant: Tenant, values: dict[str, Any]) -> str | None:
    """Pop the write-only Google client secret from ``values``: the new Fernet
    token to store, "" to clear it (when the client id is cleared), or None for
    no change. An empty secret keeps the stored one (forms never show it back)."""
    from core.secrets import encrypt_json

    secret = values.pop("google_client_secret", "")
    if not isinstance(secret, str) or "\x00" in secret or len(secret) > MAX_GOOGLE_SECRET_LENGTH:
        raise ValidationFailed(
            "Enter the client secret Google gave you.", param="google_client_secret"
        )
    client_id = values.get("google_client_id", tenant.google_client_id)
    if not isinstance(client_id, str) or "\x00" in client_id:
        raise ValidationFailed("Enter the client id Google gave you.", param="google_client_id")
    values["google_client_id"] = client_id.strip()
    if not values["google_client_id"]:
        if secret.strip():
            raise ValidationFailed(
                "Enter the client id that goes with this secret.", param="google_client_id"
            )
        return "" if tenant.google_client_secret_encrypted else None
    if secret.strip():
        return encrypt_json({"client_secret": secret.strip()})
    return None


def google_client_secret(tenant: Tenant) -> str:
    """The decrypted Google client secret of ``tenant``, "" when none."""
    from core.secrets import decrypt_json

    if not tenant.google_client_secret_encrypted:
        return ""
    return str(decrypt_json(tenant.google_client_secret_encrypted).get("client_secret", ""))


@transaction.atomic
def membership_add(
    *, tenant: Tenant, user: User, role: str, actor: Actor, now: datetime
) -> Membership:
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role: {role}", param="role")
    membership, created = Membership.objects.get_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    if created or membership.role != role:
        old = None if created else membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            tenant=tenant,
            actor=actor,
            action="membership.role_set",
            target=membership,
            changes={"role": [old, role]},
            at=now,
        )
    return membership


# --- team: invitations, roles, removal ------------------------------------------------


def _owner_rule(by: Membership, *roles: str) -> None:
    """Only an owner makes, unmakes or removes owners (an admin manages everyone else)."""
    if Role.OWNER in roles and by.role != Role.OWNER:
        raise PermissionDenied("Only an owner can make, change or remove owners.", param="role")


def _membership_of(tenant: Tenant, membership_id: int) -> Membership:
    found = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(tenant=tenant, pk=membership_id)
        .first()
    )
    if found is None:
        raise NotFound(f"No such member: {membership_id}", param="membership_id")
    return found


def _last_owner(tenant: Tenant, membership: Membership) -> bool:
    # Locks every owner seat: two managers demoting the last two owners at once
    # cannot both succeed.
    owners = list(
        Membership.objects.select_for_update()
        .filter(tenant=tenant, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    return membership.role == Role.OWNER and owners == [membership.pk]


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    invitation: Invitation
    token: str


@transaction.atomic
def membership_invite(
    *, tenant: Tenant, by: Membership, email: str, role: str, actor: Actor, now: datetime
) -> IssuedInvitation:
    """Invite ``email`` with ``role``; the signed link is emailed once this commits.

    An earlier pending invitation of the same address is withdrawn, so only the
    newest link works.
    """
    email = (email or "").strip().lower()
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role: {role}", param="role")
    _owner_rule(by, role)
    if not email or "@" not in email:
        raise ValidationFailed("Enter an email address.", param="email")
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise ValidationFailed(f"{email} is already a member.", param="email")
    Invitation.objects.filter(tenant=tenant, email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=now
    )
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        invited_by=by.user,
        created_at=now,
        expires_at=now + invitations.MAX_AGE,
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="membership.invited",
        target=invitation,
        changes={"email": email, "role": role},
        at=now,
    )
    transaction.on_commit(partial(invitations.invitation_send, invitation, tenant))
    return IssuedInvitation(invitation=invitation, token=invitations.invitation_token(invitation))


@transaction.atomic
def membership_accept(*, token: str, user: User, now: datetime) -> Membership:
    """Seat ``user`` in the inviting tenant with the invited role; the link works once."""
    payload = invitations.invitation_token_read(token)
    if payload is None:
        raise ValidationFailed(
            "This invitation link is invalid or has expired.", code="invitation_invalid"
        )
    tenant_id = payload.get("t")
    tenant = Tenant.objects.filter(pk=tenant_id).first() if isinstance(tenant_id, int) else None
    if tenant is None:
        raise ValidationFailed("This invitation link is invalid.", code="invitation_invalid")
    with tenant_context(tenant):
        invitation = (
            Invitation.objects.select_for_update()
            .filter(tenant=tenant, nonce=str(payload.get("n", "")))
            .first()
        )
        if invitation is None or invitation.revoked_at is not None:
            raise ValidationFailed("This invitation was withdrawn.", code="invitation_invalid")
        if invitation.accepted_at is not None:
            raise ValidationFailed("This invitation has already been used.", code="invitation_used")
        if now >= invitation.expires_at:
            raise ValidationFailed("This invitation has expired.", code="invitation_expired")
        if user.email.strip().lower() != invitation.email:
            raise PermissionDenied(
                f"This invitation is for {invitation.email}; sign in with that address.",
                code="invitation_other_email",
            )
        if Membership.objects.filter(tenant=tenant, user=user).exists():
            raise ValidationFailed(
                "You are already a member of this account.", code="invitation_used"
            )
        membership = Membership.objects.create(tenant=tenant, user=user, role=invitation.role)
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            tenant=tenant,
            actor=Actor.staff(user),
            action="membership.accepted",
            target=membership,
            changes={"role": invitation.role, "invitation": invitation.pk},
            at=now,
        )
    return membership


@transaction.atomic
def membership_set_role(
    *, tenant: Tenant, by: Membership, membership_id: int, role: str, actor: Actor, now: datetime
) -> Membership:
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role: {role}", param="role")
    membership = _membership_of(tenant, membership_id)
    if membership.role == role:
        return membership
    _owner_rule(by, membership.role, role)
    if _last_owner(tenant, membership):
        raise StateConflict("An account keeps at least one owner.", param="role")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        tenant=tenant,
        actor=actor,
        action="membership.role_set",
        target=membership,
        changes={"role": [old, role]},
        at=now,
    )
    return membership


@transaction.atomic
def membership_remove(
    *, tenant: Tenant, by: Membership, membership_id: int, actor: Actor, now: datetime
) -> None:
    membership = _membership_of(tenant, membership_id)
    _owner_rule(by, membership.role)
    if _last_owner(tenant, membership):
        raise StateConflict("The last owner cannot be removed.", param="membership_id")
    audit.record(
        tenant=tenant,
        actor=actor,
        action="membership.removed",
        target=membership,
        changes={"email": membership.user.email, "role": membership.role},
        at=now,
    )
    membership.delete()


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: ApiKey
    raw: str  # shown once, never stored


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    actor: Actor,
    now: datetime,
    kind: str = ApiKey.Kind.SECRET,
    mode: str = ApiKey.Mode.TEST,
    read_only: bool = False,
    created_by: User | None = None,
) -> IssuedApiKey:
    if kind not in ApiKey.Kind.values:
        raise ValidationFailed(f"Unknown key kind: {kind}", param="kind")
    if mode not in ApiKey.Mode.values:
        raise ValidationFailed(f"Unknown key mode: {mode}", param="mode")
    name = name.strip() or "API key"
    raw = ApiKey.generate(kind, mode)
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name[:100],
        kind=kind,
        mode=mode,
        prefix=raw[: len("sk_test_")],
        last4=raw[-4:],
        key_hash=ApiKey.hash(raw),
        read_only=read_only,
        created_by=created_by,
    )
    audit.record(
        tenant=tenant,
        actor=actor,
        action="api_key.created",
        target=key,
        changes={"name": key.name, "kind": kind, "mode": mode, "read_only": read_only},
        at=now,
    )
    return IssuedApiKey(key=key, raw=raw)


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key_id: int, actor: Actor, now: datetime) -> ApiKey:
    key = ApiKey.objects.select_for_update().filter(tenant=tenant, pk=key_id).first()
    if key is None:
        raise NotFound("No such API key.", param="key_id")
    if key.revoked_at is not None:
        return key
    key.revoked_at = now
    key.save(update_fields=["revoked_at"])
    audit.record(tenant=tenant, actor=actor, action="api_key.revoked", target=key, at=now)
    # The cached identity is replaced by a tombstone now and again at commit; a
    # request that read the key live meanwhile cannot re-cache it (it only adds).
    forget = partial(api_key_forget, key.key_hash)
    forget()
    transaction.on_commit(forget)
    return key
