from decimal import Decimal
from functools import partial

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id
from tenants.models import TenantOwned


def _pid(prefix: str) -> "models.CharField[str, str]":
    return models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, prefix)
    )


class TaxRate(TenantOwned):
    """ISS / VAT style: a percentage, inclusive in the price or added on top."""

    public_id = _pid("txr")
    name = models.CharField(_("name"), max_length=100)
    percent = models.DecimalField(_("rate (%)"), max_digits=7, decimal_places=4)
    inclusive = models.BooleanField(_("included in the price"), default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="taxrate_percent_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.percent}%"


class Seller(TenantOwned):
    """A sales rep (vendedor) who may own coupons, with a discount cap per plan."""

    public_id = _pid("slr")
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class SellerPlanCap(TenantOwned):
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="caps")
    plan_code = models.SlugField(max_length=64)
    max_percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller", "plan_code"], name="sellercap_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.seller_id}:{self.plan_code} ≤ {self.max_percent}%"


class Coupon(TenantOwned):
    class Duration(models.TextChoices):
        ONCE = "once", _("Once")
        REPEATING = "repeating", _("For a number of cycles")
        FOREVER = "forever", _("Forever")

    class AppliesTo(models.TextChoices):
        RECURRING = "recurring", _("Recurring fee")
        SETUP = "setup", _("Setup fee")
        BOTH = "both", _("Both")

    public_id = _pid("co")
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    setup_percent_off = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="A different percentage for the setup fee; defaults to percent_off.",
    )
    amount_off_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    duration = models.CharField(max_length=9, choices=Duration.choices, default=Duration.ONCE)
    duration_cycles = models.PositiveSmallIntegerField(null=True, blank=True)
    applies_to = models.CharField(
        max_length=9, choices=AppliesTo.choices, default=AppliesTo.RECURRING
    )
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    redeem_by = models.DateTimeField(null=True, blank=True)
    plan_codes = models.JSONField(default=list, blank=True)
    first_purchase_only = models.BooleanField(default=False)
    seller = models.ForeignKey(
        Seller, null=True, blank=True, on_delete=models.PROTECT, related_name="coupons"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="coupon_code_unique"),
            models.CheckConstraint(
                condition=(Q(percent_off__isnull=False) & Q(amount_off_minor__isnull=True))
                | (Q(percent_off__isnull=True) & Q(amount_off_minor__isnull=False)),
                name="coupon_percent_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=F("max_redemptions")),
                name="coupon_redemptions_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(TenantOwned):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="redemptions"
    )
    redeemed_at = models.DateTimeField()
    # None = forever; counts down once per invoiced recurring period.
    cycles_left = models.PositiveSmallIntegerField(null=True, blank=True)
    setup_applied = models.BooleanField(default=False)
    # An amount-off coupon's first cycle is one pool shared by the setup fee and
    # the first recurring charge, even when a trial puts them on two invoices.
    setup_discount_minor = models.BigIntegerField(default=0)
    recurring_uses = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "subscription"], name="redemption_sub")]

    def __str__(self) -> str:
        return f"{self.coupon_id} → {self.subscription_id}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")
    UNCOLLECTIBLE = "uncollectible", _("Uncollectible")


_I = InvoiceStatus
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    _I.DRAFT: frozenset({_I.OPEN, _I.PAID}),  # finalizing a zero-due draft pays it
    _I.OPEN: frozenset({_I.PAID, _I.VOID, _I.UNCOLLECTIBLE}),
    _I.PAID: frozenset(),
    _I.VOID: frozenset(),
    # Written off, yet still payable: a late payment is taken (as Stripe does).
    _I.UNCOLLECTIBLE: frozenset({_I.PAID}),
}


class Invoice(TenantOwned):
    Status = InvoiceStatus

    class Reason(models.TextChoices):
        SUBSCRIPTION_CREATE = "subscription_create", _("New subscription")
        SUBSCRIPTION_CYCLE = "subscription_cycle", _("Renewal")
        SUBSCRIPTION_UPDATE = "subscription_update", _("Subscription change")
        MANUAL = "manual", _("Manual")
        LATE_CHARGES = "late_charges", _("Late charges")

    public_id = _pid("in")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="invoices"
    )
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    number = models.CharField(max_length=40, null=True, blank=True)
    status = models.CharField(
        max_length=13, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    billing_reason = models.CharField(max_length=20, choices=Reason.choices)
    currency = models.CharField(max_length=3)
    # The subscription period this invoice bills (renewals and first invoices).
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    credit_applied_minor = models.BigIntegerField(default=0)
    amount_due_minor = models.BigIntegerField(default=0)
    amount_paid_minor = models.BigIntegerField(default=0)
    credited_minor = models.BigIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Exactly once: one invoice per subscription period (DESIGN.md invariant 4).
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=Q(billing_reason__in=["subscription_create", "subscription_cycle"]),
                name="invoice_one_per_period",
            ),
            models.UniqueConstraint(
                fields=["tenant", "number"],
                condition=Q(number__isnull=False),
                name="invoice_number_unique",
            ),
            models.CheckConstraint(condition=Q(total_minor__gte=0), name="invoice_total_nonneg"),
            models.CheckConstraint(
                condition=Q(amount_due_minor=F("total_minor") - F("credit_applied_minor")),
                name="invoice_amount_due",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer", "created_at"], name="invoice_customer"),
            models.Index(fields=["tenant", "status", "due_at"], name="invoice_status_due"),
            models.Index(fields=["tenant", "created_at", "id"], name="invoice_tenant_created"),
        ]

    def __str__(self) -> str:
        return self.number or self.public_id


class InvoiceLine(TenantOwned):
    class Kind(models.TextChoices):
        RECURRING = "recurring", _("Subscription")
        SETUP_FEE = "setup_fee", _("Setup fee")
        PRORATION = "proration", _("Proration")
        CREDIT_CARRIED = "credit_carried", _("Credit carried to balance")
        ADJUSTMENT = "adjustment", _("Adjustment")
        LATE_FEE = "late_fee", _("Late fee")
        LATE_INTEREST = "late_interest", _("Late interest")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    description = models.CharField(max_length=300)
    quantity = models.IntegerField(default=1)
    amount_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    tax_inclusive = models.BooleanField(default=False)
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    total_minor = models.BigIntegerField()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    plan = models.ForeignKey(
        "subscriptions.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["tenant", "invoice"], name="invoiceline_invoice")]

    def __str__(self) -> str:
        return self.description


class PendingLine(TenantOwned):
    """A line waiting for the subscription's next invoice (prorations added "to
    the next invoice"). Picked up exactly once: ``invoice`` is set when billed."""

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="pending_lines"
    )
    kind = models.CharField(max_length=14, choices=InvoiceLine.Kind.choices)
    description = models.CharField(max_length=300)
    quantity = models.IntegerField(default=1)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    plan = models.ForeignKey(
        "subscriptions.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The tax of the plan the line is for, as it was when the change was made.
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    tax_inclusive = models.BooleanField(default=False)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "subscription"], name="pendingline_sub")]

    def __str__(self) -> str:
        return self.description


class CreditNote(TenantOwned):
    """The only way to correct a finalized invoice."""

    public_id = _pid("cn")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)
    total_minor = models.BigIntegerField()
    issued_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="creditnote_number_unique"),
            models.CheckConstraint(condition=Q(total_minor__gt=0), name="creditnote_total_pos"),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(TenantOwned):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=300)
    amount_minor = models.BigIntegerField()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.description


class BalanceTransaction(TenantOwned):
    """The customer's credit balance ledger: positive adds credit, negative uses it."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="balance_transactions"
    )
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    description = models.CharField(max_length=200)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credit_note = models.ForeignKey(
        CreditNote, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "customer", "currency"], name="balance_customer")]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency}"


class DocumentSequence(TenantOwned):
    """Gapless numbering per tenant, kind and year: allocated inside the same
    transaction that finalizes the document, under a row lock."""

    kind = models.CharField(max_length=12)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "year"], name="docseq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_value}"


class Installment(TenantOwned):
    """One of the N parts (parcelas) an invoice is paid in; the parts sum to the
    amount due exactly, the odd centavos going to the first ones."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        PAID = "paid", _("Paid")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="installments")
    number = models.PositiveSmallIntegerField()
    amount_minor = models.BigIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="installment_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="installment_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "due_at"], name="installment_due")]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.number}: {self.amount_minor}"


class PaymentAttempt(TenantOwned):
    """One try at collecting an invoice. Written ``pending`` before the gateway is
    called and settled after; its idempotency key is derived from (invoice,
    attempt number), so asking the gateway again never charges twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        REQUIRES_ACTION = "requires_action", _("Requires action")

    public_id = _pid("pay")
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

    public_id = _pid("re")
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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="collection_settings_one"),
        ]

    def __str__(self) -> str:
        return f"{self.boleto_fine_percent}% + {self.boleto_monthly_interest_percent}%/month"
