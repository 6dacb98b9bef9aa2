"""The documents: invoices and their lines, prorations waiting for an invoice, credit notes, the
customer's balance ledger, gapless numbering and installment schedules."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from billing.models.catalog import Coupon
from billing.models.fields import public_id
from tenants.models import TenantOwned


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

    public_id = public_id("in")
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
    # The customer as billed (name, tax id, address), kept when the customer's own
    # row is anonymised on an erasure request: fiscal records keep what was issued.
    customer_snapshot = models.JSONField(default=dict, blank=True)
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
        TRIAL = "trial", _("Trial period")

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

    public_id = public_id("cn")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)
    # As the invoice splits them: the total is the sum of the lines' totals,
    # ``subtotal - discount`` plus the tax that is not inside the amounts.
    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
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
    """A credited part of one invoice line, priced as the invoice priced it: the
    amount (before discount), its discount, its tax and their total."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(
        InvoiceLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    amount_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    tax_inclusive = models.BooleanField(default=False)
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    total_minor = models.BigIntegerField(default=0)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

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
