from functools import partial

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id
from tenants.models import TenantOwned


class TestClock(TenantOwned):
    """Frozen time for the customers attached to it; advancing it runs every due
    renewal, trial end, scheduled change and notice in time order."""

    __test__ = False  # not a pytest test class

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "clock")
    )
    name = models.CharField(max_length=200, blank=True)
    frozen_time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # An advance running off the request (billing/clocks.py): where it goes, the
    # last moment it has processed (its progress) and why it stopped, if it failed.
    advancing_to = models.DateTimeField(null=True, blank=True)
    advanced_through = models.DateTimeField(null=True, blank=True)
    advance_error = models.CharField(max_length=300, blank=True)

    class Meta:
        # The table it had in billing (moved with state-only migrations).
        db_table = "billing_testclock"

    def __str__(self) -> str:
        return f"{self.name or self.public_id} @ {self.frozen_time:%Y-%m-%d %H:%M}"


class Customer(TenantOwned):
    """A merchant's subscriber."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "cus")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    tax_id = models.CharField(_("tax id (CPF/CNPJ)"), max_length=32, blank=True)
    locale = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    # Billing address, shape and rules in customers/domain/address.py ({} = none).
    address = models.JSONField(_("billing address"), default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Set when the subscriber opted out of optional (marketing) messages; legally
    # required notices (invoices, receipts, payment problems) still go out.
    marketing_opted_out_at = models.DateTimeField(
        _("opted out of marketing messages"), null=True, blank=True
    )
    # Channels (notifications' "email", "sms") the subscriber turned marketing off
    # for, in the portal's preferences; ``marketing_opted_out_at`` turns off all.
    marketing_channels_off = models.JSONField(default=list, blank=True)
    # The portal password's hash (django.contrib.auth.hashers), "" when none; used
    # only when the tenant turns password sign-in on.
    portal_password = models.CharField(max_length=128, blank=True, default="")
    test_clock = models.ForeignKey(
        TestClock,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customers",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="customer_tenant_created"),
            models.Index(fields=["tenant", "email"], name="customer_tenant_email"),
        ]

    def __str__(self) -> str:
        return self.name

    def marketing_off(self, channel: str) -> bool:
        """Whether optional (marketing) messages on ``channel`` must not be sent."""
        return self.marketing_opted_out_at is not None or channel in (
            self.marketing_channels_off or []
        )


class PaymentMethod(TenantOwned):
    """A gateway's token for a customer's card, boleto or Pix: never a card number."""

    class Kind(models.TextChoices):
        CARD = "card", _("Card")
        BOLETO = "boleto", _("Boleto")
        PIX = "pix", _("Pix")
        PIX_AUTOMATICO = "pix_automatico", _("Pix Automático")

    public_id = models.CharField(
        max_length=40, unique=True, editable=False, default=partial(new_public_id, "pm")
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    gateway = models.CharField(_("gateway"), max_length=20)
    token = models.CharField(max_length=200)
    brand = models.CharField(_("brand"), max_length=20, blank=True)
    last4 = models.CharField(_("last four digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    # Set once the "card expiring" notice went out, so it goes out once.
    expiry_notice_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default=True, detached_at__isnull=True),
                name="payment_method_one_default",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "customer"], name="pm_tenant_customer")]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}" if self.last4 else self.get_kind_display()


class CustomerNote(TenantOwned):
    """A staff member's note on a customer, shown in the customer's timeline."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept when the author's account goes away.
    author_label = models.CharField(max_length=254, blank=True)
    text = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        indexes = [
            models.Index(fields=["tenant", "customer", "created_at"], name="note_tenant_customer"),
        ]

    def __str__(self) -> str:
        return self.text[:50]
