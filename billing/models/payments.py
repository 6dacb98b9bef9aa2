"""Money moving: payment attempts, refunds, gateway accounts and mirrors, inbound webhooks, the
sandbox gateway's own books, and the tenant's collection settings."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.documents import CreditNote, Installment, Invoice
from billing.models.fields import public_id
from tenants.models import TenantOwned


class PaymentAttempt(TenantOwned):
    """One try at collecting an invoice. Written ``pending`` before the gateway is
    called and settled after; its idempotency key is derived from (invoice,
    attempt number), so asking the gateway again never charges twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        REQUIRES_ACTION = "requires_action", _("Requires action")

    public_id = public_id("pay")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="attempts")
    installment = models.ForeignKey(
        Installment, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    number = models.PositiveSmallIntegerField()
    payment_method = models.ForeignKey(
        "customers.PaymentMethod", on_delete=models.PROTECT, related_name="+"
    )
    gateway = models.CharField(max_length=20)
    idempotency_key = models.CharField(max_length=100)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    gateway_ref = models.CharField(max_length=100, blank=True)
    failure_code = models.CharField(max_length=50, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    action_url = models.CharField(max_length=300, blank=True)
    # A segunda via collects the late fee (multa) and interest (juros) on top of
    # the amount due; once paid they are billed on a late-charges invoice.
    late_fee_minor = models.BigIntegerField(default=0)
    late_interest_minor = models.BigIntegerField(default=0)
    # Whoever asked for this charge announces its failure in its own message (a
    # dunning retry step with a template): notifications sends no second notice.
    failure_announced = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="attempt_number_unique"),
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="attempt_key_unique"
            ),
            # At most one attempt in flight per invoice: two workers cannot both charge.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["pending", "requires_action"]),
                name="attempt_one_in_flight",
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="attempt_amount_pos"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "created_at"], name="attempt_status"),
            models.Index(fields=["gateway", "gateway_ref"], name="attempt_gateway_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.number} {self.status}"


class InboundWebhook(models.Model):
    """A gateway's webhook, stored before it is processed and processed once.

    Platform-level: it arrives before any tenant is known; processing finds the
    tenant from the object it names.
    """

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_once"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.event_id}"


class SandboxCharge(models.Model):
    """The sandbox gateway's own books. It stands in for an external system, so it
    keeps what a real gateway keeps: each charge under its idempotency key."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    ref = models.CharField(max_length=40, unique=True)
    token = models.CharField(max_length=200)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)
    failure_code = models.CharField(max_length=50, blank=True)
    refunded_minor = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=8, default="card")
    # What the payer needs: a boleto's linha digitável, a Pix payload.
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.ref} {self.status}"


class Refund(TenantOwned):
    """Money given back on a successful payment; each one comes with a credit note."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    public_id = public_id("re")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    number = models.PositiveSmallIntegerField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=100)
    gateway_ref = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    credit_note = models.ForeignKey(
        CreditNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "number"], name="refund_number_unique"),
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="refund_key_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount_minor} {self.status}"


class GatewayAccount(TenantOwned):
    """A tenant's account at a payment gateway; credentials encrypted at rest."""

    class Mode(models.TextChoices):
        TEST = "test", _("Test")
        LIVE = "live", _("Live")

    gateway = models.CharField(_("gateway"), max_length=20)
    mode = models.CharField(_("mode"), max_length=4, choices=Mode.choices, default=Mode.TEST)
    credentials_encrypted = models.TextField()
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("gateway account")
        verbose_name_plural = _("gateway accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "gateway", "mode"], name="gateway_account_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} ({self.mode})"

    @property
    def credentials(self) -> dict[str, str]:
        from core.secrets import decrypt_json

        return decrypt_json(self.credentials_encrypted)


class SandboxCard(models.Model):
    """The sandbox gateway's saved cards (its vault). Like a real gateway, it
    keeps what it shows back about a token; the card number is never stored."""

    token = models.CharField(max_length=200, unique=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class GatewayCustomer(TenantOwned):
    """A customer's mirror at a gateway (a Stripe ``cus_…``), made once and reused:
    a gateway saves cards on its own customer object."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="gateway_mirrors"
    )
    gateway = models.CharField(max_length=20)
    mode = models.CharField(max_length=4, default="test")
    ref = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "customer", "gateway", "mode"], name="gateway_customer_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.ref}"


class CollectionSettings(TenantOwned):
    """How the tenant collects late payments: a boleto's late fee (multa, once)
    and monthly interest (juros, pro rata per day) on a segunda via."""

    boleto_fine_percent = models.DecimalField(
        _("late fee (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("2.00"),  # the cap for consumer contracts (CDC art. 52 §1)
    )
    boleto_monthly_interest_percent = models.DecimalField(
        _("monthly interest (%)"), max_digits=5, decimal_places=2, default=Decimal("1.00")
    )
    boleto_days_to_pay = models.PositiveSmallIntegerField(_("days to pay a boleto"), default=3)
    # Bolepix: each boleto also carries a Pix QR code for the same amount; the
    # first rail paid withdraws the other.
    boleto_with_pix = models.BooleanField(_("boleto with Pix (bolepix)"), default=False)
    # Pix Automático: a subscriber choosing Pix for a recurring plan (portal,
    # checkout) authorises the recurrence with the QR that pays the first charge.
    pix_automatico = models.BooleanField(_("offer Pix Automático"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="collection_settings_one"),
        ]

    def __str__(self) -> str:
        return f"{self.boleto_fine_percent}% + {self.boleto_monthly_interest_percent}%/month"


class BoletoReturnFile(TenantOwned):
    """A bank's CNAB 240 return file as uploaded, with what each of its títulos did.

    Uploading the same file twice makes a second row whose lines say "already
    paid": the settlement is per boleto (its payment attempt), never per file."""

    public_id = public_id("brf")
    filename = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    bank_code = models.CharField(max_length=3)
    sequence = models.PositiveIntegerField()  # the bank's NSA
    uploaded_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"], name="boleto_return_file_at")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.filename}"


class BoletoReturnLine(TenantOwned):
    """One título of a return file and what it did to our books."""

    class Outcome(models.TextChoices):
        SETTLED = "settled", _("Settled")
        OVERPAID = "overpaid", _("Settled, overpaid")
        ALREADY_PAID = "already_paid", _("Already paid")
        UNDERPAID = "underpaid", _("Underpaid, not settled")
        UNKNOWN = "unknown", _("Unknown nosso número")
        WITHDRAWN = "withdrawn", _("Paid after being withdrawn")
        NOT_A_PAYMENT = "not_a_payment", _("Not a payment")

    file = models.ForeignKey(BoletoReturnFile, on_delete=models.CASCADE, related_name="lines")
    line = models.PositiveIntegerField()
    movement_code = models.CharField(max_length=2)
    our_number = models.CharField(max_length=20)
    paid_minor = models.BigIntegerField()
    expected_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="BRL")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Money received that nothing owes: to give back (an overpayment, a second
    # payment on a withdrawn slip or an already paid invoice).
    refund_due_minor = models.BigIntegerField(default=0)
    attempt = models.ForeignKey(
        PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint(fields=["file", "line"], name="boleto_return_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.our_number} {self.outcome}"
