import hashlib
import secrets
from functools import cache, partial
from typing import Any, Self, TypeVar, cast
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.errors import TenantNotSet
from core.ids import new_public_id
from tenants.cancel_reasons import validate_cancel_reasons
from tenants.context import current_tenant, platform_access_active
from tenants.embed import validate_embed_domains
from tenants.permissions import Role, role_has_permission

_COLOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f6feb."))


@cache
def _time_zones() -> frozenset[str]:
    # available_timezones() walks the tz database's folders on every call (~30 ms).
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


def validate_currency(value: str) -> None:
    from core.money import is_known_currency

    if not is_known_currency(value):
        raise ValidationError(_("Unknown currency: %(cur)s"), params={"cur": value})


class User(AbstractUser):
    """A staff user; may belong to several tenants through ``Membership``.

    Subscribers are ``customers.Customer`` rows, not users of this table.
    """

    email = models.EmailField(_("email address"), unique=True)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # not in django-stubs
        swappable = "AUTH_USER_MODEL"


class Tenant(models.Model):
    """A merchant: everything else in Ciclo belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=63, unique=True)
    default_currency = models.CharField(
        _("default currency"), max_length=3, default="BRL", validators=[validate_currency]
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="America/Sao_Paulo", validators=[validate_time_zone]
    )
    locale = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="pt-br"
    )
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    primary_color = models.CharField(
        _("primary colour"), max_length=7, default="#1f6feb", validators=[_COLOR]
    )
    accent_color = models.CharField(
        _("accent colour"), max_length=7, default="#0e9f6e", validators=[_COLOR]
    )
    support_email = models.EmailField(_("support email"), blank=True)
    support_phone = models.CharField(_("support phone"), max_length=40, blank=True)
    embed_domains = models.JSONField(
        _("sites allowed to embed the checkout"),
        default=list,
        blank=True,
        validators=[validate_embed_domains],
        help_text=_("One origin per line, like https://shop.example.com."),
    )
    require_mfa = models.BooleanField(
        _("require two-factor authentication for all staff"), default=False
    )
    # [{"code", "label"}, …] in order; empty = the built-in defaults (tenants.cancel_reasons).
    cancel_reasons = models.JSONField(
        _("cancellation reasons"),
        default=list,
        blank=True,
        validators=[validate_cancel_reasons],
    )
    # Billing rules of this merchant (DESIGN.md "Proration", "Invoice").
    proration_precision = models.CharField(
        _("proration precision"),
        max_length=6,
        choices=[("day", _("Calendar day")), ("second", _("Second"))],
        default="day",
    )
    rounding_mode = models.CharField(
        _("rounding mode"),
        max_length=9,
        choices=[("half_even", _("Half even (banker's)")), ("half_up", _("Half up"))],
        default="half_even",
    )
    # Issue 16: the defaults of an interval change now and of a pause now (each
    # call may choose otherwise).
    interval_change_anchor = models.CharField(
        _("billing anchor on an interval change"),
        max_length=5,
        choices=[
            ("reset", _("Reset to the change date")),
            ("keep", _("Keep the anchor's day (prorated to it)")),
        ],
        default="reset",
    )
    pause_unused = models.CharField(
        _("unused time when pausing now"),
        max_length=6,
        choices=[
            ("credit", _("Credit it to the customer")),
            ("carry", _("Carry the paid-through date forward")),
        ],
        default="credit",
    )
    # Issue 16 "Conventions": how prorations count days (billing.domain.amounts).
    proration_change_day = models.CharField(
        _("day of a change or cancellation"),
        max_length=3,
        choices=[
            ("new", _("Belongs to the new state (credited on the old one)")),
            ("old", _("Counts as used on the old state")),
        ],
        default="new",
    )
    proration_day_count = models.CharField(
        _("days in a month when prorating"),
        max_length=8,
        choices=[
            ("calendar", _("Calendar days")),
            ("thirty", _("30 days in every month")),
        ],
        default="calendar",
    )
    quantity_change_lines = models.CharField(
        _("lines of a quantity change"),
        max_length=10,
        choices=[
            ("split", _("A credit line and a charge line")),
            ("difference", _("One line for the difference")),
        ],
        default="split",
    )
    # Issue 16 "Trial invoices": a R$ 0,00 invoice (a "Trial period" line, paid at
    # once, never charged) when a trial starts (Stripe, Kill Bill), or none.
    trial_invoice = models.CharField(
        _("invoice when a trial starts"),
        max_length=4,
        choices=[
            ("none", _("None")),
            ("zero", _("A zero invoice for the trial period")),
        ],
        default="none",
    )
    invoice_prefix = models.CharField(
        _("invoice number prefix"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[A-Z0-9]*$", _("Capital letters and digits only."))],
        help_text=_("Defaults to the slug in capitals, e.g. ACME-2026-000123."),
    )
    net_terms_days = models.PositiveSmallIntegerField(_("days to pay an invoice"), default=0)
    # How subscribers may sign in to this merchant's portal besides the emailed code.
    portal_password_signin = models.BooleanField(
        _("subscribers may also sign in with a password"), default=False
    )
    google_client_id = models.CharField(
        _("Google OAuth client id"),
        max_length=200,
        blank=True,
        help_text=_('With its secret, the portal offers "Continue with Google".'),
    )
    # Fernet token (core.secrets) of the client secret; never shown back.
    google_client_secret_encrypted = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name

    @property
    def document_prefix(self) -> str:
        return self.invoice_prefix or self.slug.replace("-", "").upper()[:12]


_M = TypeVar("_M", bound=models.Model)


class TenantQuerySet(models.QuerySet[_M]):
    def for_tenant(self, tenant: Tenant) -> Self:
        return self.filter(tenant=tenant)


_TenantManagerBase = models.Manager.from_queryset(TenantQuerySet)


class TenantManager(_TenantManagerBase[_M]):
    """Scopes every query to the current tenant; with none set, refuses to run.

    ``platform_access()`` is the explicit opt-out for code that must see every
    tenant. On PostgreSQL, row-level security applies the same rule again.
    """

    def get_queryset(self) -> TenantQuerySet[_M]:
        qs = cast("TenantQuerySet[_M]", super().get_queryset())
        if platform_access_active():
            return qs
        tenant = current_tenant()
        if tenant is None:
            raise TenantNotSet(
                f"{self.model.__name__} was queried with no tenant set; set one with "
                "tenant_context() or opt into platform_access()."
            )
        return qs.filter(tenant_id=tenant.pk)


class TenantOwned(models.Model):
    """Base of every tenant-owned model. Its migration must add ``EnableTenantRLS``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        tenant = current_tenant()
        if self.tenant_id is None and tenant is not None:
            self.tenant = tenant
        if not platform_access_active() and (tenant is None or self.tenant_id != tenant.pk):
            raise TenantNotSet(
                f"Refusing to save a {type(self).__name__} of tenant {self.tenant_id} "
                f"under tenant {tenant.pk if tenant else None}."
            )
        super().save(*args, **kwargs)


class Membership(TenantOwned):
    """A staff user's seat in a tenant, with one role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    def has_perm(self, perm: str) -> bool:
        return role_has_permission(self.role, perm)


class ApiKey(TenantOwned):
    """A secret (``sk_``) or publishable (``pk_``) key; only its SHA-256 is kept.

    Keys are 32 random bytes, so a fast hash is the right tool here: there is
    nothing to brute-force, unlike a password.
    """

    class Kind(models.TextChoices):
        SECRET = "secret", _("Secret")
        PUBLISHABLE = "publishable", _("Publishable")

    class Mode(models.TextChoices):
        TEST = "test", _("Test")
        LIVE = "live", _("Live")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SECRET)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.TEST)
    prefix = models.CharField(max_length=16, help_text="sk_test_, pk_live_ …, for display")
    last4 = models.CharField(max_length=4)
    key_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(_("read only"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        indexes = [models.Index(fields=["tenant", "created_at"], name="apikey_tenant_created")]

    def __str__(self) -> str:
        return f"{self.prefix}…{self.last4}"

    @property
    def masked(self) -> str:
        return f"{self.prefix}…{self.last4}"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def generate(kind: str, mode: str) -> str:
        prefix = {"secret": "sk", "publishable": "pk"}[kind]
        return f"{prefix}_{mode}_{secrets.token_urlsafe(32)}"


class AuditEntry(TenantOwned):
    """Who did what, to what, when and from where (DESIGN.md invariant 7)."""

    class ActorType(models.TextChoices):
        STAFF = "staff", _("Staff user")
        SUBSCRIBER = "subscriber", _("Subscriber")
        API_KEY = "api_key", _("API key")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(db_index=False)
    actor_type = models.CharField(max_length=12, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["tenant", "-at"], name="audit_tenant_at"),
            models.Index(fields=["tenant", "target_type", "target_id"], name="audit_tenant_target"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class IdempotencyKey(TenantOwned):
    """A POST's ``Idempotency-Key`` and the first response it got (issue 6).

    Scoped per API key. While the first request runs the row is a lock
    (``status_code`` null); afterwards a retry with the same key and body gets
    the stored response back without acting again. Rows live 24 hours.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and the request body (JSON canonicalized).
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    locked_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.api_key_id}:{self.key}"


class Event(TenantOwned):
    """A domain event, written in the same transaction as the change (the outbox).

    Delivery (email, SMS, webhooks) reads from here at least once and
    deduplicates by ``public_id``.
    """

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "evt")
    )
    type = models.CharField(max_length=64)
    at = models.DateTimeField()
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set, in the same transaction, when the outbox dispatcher has planned this
    # event's webhooks and messages (notifications/outbox.py).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table it had in notifications (moved with state-only migrations).
        db_table = "notifications_event"
        indexes = [
            models.Index(fields=["tenant", "at", "id"], name="event_tenant_at"),
            models.Index(fields=["tenant", "subject_id"], name="event_tenant_subject"),
            # The API lists newest first by (created_at, id).
            models.Index(fields=["tenant", "created_at", "id"], name="event_tenant_created"),
            # The dispatcher's queue: small, since rows leave it as they are dispatched.
            models.Index(
                fields=["tenant", "id"],
                condition=Q(dispatched_at__isnull=True),
                name="event_undispatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_id}"


class Invitation(TenantOwned):
    """A staff member invited by email; the emailed link is signed and names this row.

    The row makes the link single-use (``accepted_at``) and lets a manager see and
    withdraw pending invitations; the signature makes it unforgeable and expiring.
    """

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    nonce = models.CharField(max_length=32, unique=True, default=partial(secrets.token_hex, 16))
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant_id} ({self.role})"

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
