"""Pix Automático: a subscriber's authorisation (mandate) for a subscription and
each cycle's charge instruction sent to the payer's PSP."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models.fields import public_id
from tenants.models import TenantOwned


class MandateStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    CANCELLED_BY_PAYER = "cancelled_by_payer", _("Cancelled by the payer")
    CANCELLED_BY_MERCHANT = "cancelled_by_merchant", _("Cancelled by the merchant")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")


MANDATE_TRANSITIONS: dict[str, frozenset[str]] = {
    MandateStatus.PENDING: frozenset(
        {
            MandateStatus.ACTIVE,
            MandateStatus.REJECTED,
            MandateStatus.EXPIRED,
            MandateStatus.CANCELLED_BY_MERCHANT,
        }
    ),
    MandateStatus.ACTIVE: frozenset(
        {
            MandateStatus.CANCELLED_BY_PAYER,
            MandateStatus.CANCELLED_BY_MERCHANT,
            MandateStatus.EXPIRED,
        }
    ),
    MandateStatus.CANCELLED_BY_PAYER: frozenset(),
    MandateStatus.CANCELLED_BY_MERCHANT: frozenset(),
    MandateStatus.EXPIRED: frozenset(),
    MandateStatus.REJECTED: frozenset(),
}


class PeriodicityChoice(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMIANNUAL = "semiannual", _("Semiannual")
    ANNUAL = "annual", _("Annual")


class RetryPolicyChoice(models.TextChoices):
    NONE = "no_retry", _("No retries after the due date")
    THREE_IN_SEVEN_DAYS = "3r_7d", _("Up to 3 retries within 7 days")


class PixMandate(TenantOwned):
    """The payer's authorisation (autorização) of a recurrence for one
    subscription: a fixed amount or a maximum, a periodicity, a validity. Made
    pending with its QR code (journey 2 or 3); the PSP's webhook activates it."""

    Status = MandateStatus

    public_id = public_id("pxm")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=24, choices=MandateStatus.choices, default=MandateStatus.PENDING
    )
    journey = models.CharField(max_length=1)  # "2" or "3"
    provider = models.CharField(max_length=20)
    fixed_amount_minor = models.BigIntegerField(null=True, blank=True)
    max_amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="BRL")
    periodicity = models.CharField(max_length=12, choices=PeriodicityChoice.choices)
    retry_policy = models.CharField(
        max_length=8, choices=RetryPolicyChoice.choices, default=RetryPolicyChoice.NONE
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    payer_tax_id = models.CharField(max_length=14)
    payer_psp_ispb = models.CharField(max_length=8, blank=True)
    payer_psp_name = models.CharField(max_length=80, blank=True)
    # The PSP's ids: the recurrence (idRec) and the txid of journey 3's first charge.
    recurrence_id = models.CharField(max_length=40, blank=True)
    txid = models.CharField(max_length=35, blank=True)
    payload = models.TextField(blank=True)  # the BR Code shown to the payer
    first_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_amount_minor = models.BigIntegerField(null=True, blank=True)
    payment_method = models.ForeignKey(
        "customers.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    authorised_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(fixed_amount_minor__isnull=False, max_amount_minor__isnull=True)
                    | models.Q(fixed_amount_minor__isnull=True, max_amount_minor__isnull=False)
                ),
                name="pixmandate_fixed_xor_max",
            ),
            models.CheckConstraint(
                condition=models.Q(fixed_amount_minor__gt=0) | models.Q(max_amount_minor__gt=0),
                name="pixmandate_amount_positive",
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(status="pending"),
                name="pixmandate_one_pending_per_sub",
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(status="active"),
                name="pixmandate_one_active_per_sub",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"

    @property
    def amount_minor(self) -> int:
        return int(self.fixed_amount_minor or self.max_amount_minor or 0)


class PixInstruction(TenantOwned):
    """One cycle's charge instruction (agendamento), sent to the PSP within the
    rail's window (D-10 to D-2), once per (mandate, due date)."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = public_id("pxi")
    mandate = models.ForeignKey(PixMandate, on_delete=models.PROTECT, related_name="instructions")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="BRL")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    provider_ref = models.CharField(max_length=40, blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mandate", "due_date"], name="pixinstruction_one_per_due_date"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gt=0), name="pixinstruction_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "due_date"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.due_date}"
