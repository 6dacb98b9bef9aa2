"""What sellers earn: the commission plan on each seller, the sale that ties a
subscription to its seller, and the commission ledger (earned and reversed)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.catalog import Seller
from billing.models.documents import Invoice
from billing.models.fields import public_id
from billing.models.payments import Refund
from tenants.models import TenantOwned


class CommissionKind(models.TextChoices):
    NONE = "none", _("No commission")
    FIRST_PAYMENT = "first_payment", _("Percentage of the first payment")
    RECURRING = "recurring", _("Percentage of every payment for some months")
    FIXED = "fixed", _("Fixed amount per sale")


class CommissionPlan(TenantOwned):
    """A seller's commission rule. One per seller; a sale copies it when it is
    attributed, so changing the rule later never rewrites what was agreed."""

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, related_name="commission")
    kind = models.CharField(
        max_length=16, choices=CommissionKind.choices, default=CommissionKind.NONE
    )
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(percent__gt=0) & Q(percent__lte=100)),
                name="commission_plan_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__isnull=True) | Q(amount_minor__gt=0),
                name="commission_plan_amount_pos",
            ),
        ]


class Sale(TenantOwned):
    """A subscription sold by a seller, with the commission rule agreed then."""

    public_id = public_id("sale")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="sales")
    subscription = models.OneToOneField(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="sale"
    )
    kind = models.CharField(max_length=16, choices=CommissionKind.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    sold_at = models.DateTimeField()
    source = models.CharField(max_length=10)  # "coupon" or "manual"


class Commission(TenantOwned):
    """One line of a seller's statement: earned on a paid invoice, or reversed
    (a negative amount) by a refund of it or a chargeback lost on it."""

    class Kind(models.TextChoices):
        EARNED = "earned", _("Earned")
        REVERSED = "reversed", _("Reversed")

    public_id = public_id("com")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="commissions")
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="commissions")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    refund = models.OneToOneField(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dispute = models.OneToOneField(
        "billing.Dispute", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    base_minor = models.BigIntegerField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(kind="earned"),
                name="commission_earned_once_per_invoice",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "seller", "occurred_at"], name="commission_stmt")]
