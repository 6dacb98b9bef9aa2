"""What discounts and taxes a price: tax rates, sellers and their caps, coupons, redemptions."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from billing.models.fields import public_id
from tenants.models import TenantOwned


class TaxRate(TenantOwned):
    """ISS / VAT style: a percentage, inclusive in the price or added on top."""

    public_id = public_id("txr")
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
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

    public_id = public_id("slr")
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

    public_id = public_id("co")
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
    # Null: a customer-level discount, applied to the invoices of all the
    # customer's subscriptions (a subscription's own discount wins over it).
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.CASCADE,
        related_name="redemptions",
        null=True,
        blank=True,
    )
    redeemed_at = models.DateTimeField()
    # When the discount was removed (history is kept); null while it applies.
    ended_at = models.DateTimeField(null=True, blank=True)
    # None = forever; counts down once per invoiced recurring period.
    cycles_left = models.PositiveSmallIntegerField(null=True, blank=True)
    setup_applied = models.BooleanField(default=False)
    # An amount-off coupon's first cycle is one pool shared by the setup fee and
    # the first recurring charge, even when a trial puts them on two invoices.
    setup_discount_minor = models.BigIntegerField(default=0)
    recurring_uses = models.PositiveIntegerField(default=0)
    # What an amount-off coupon could not use on an invoice smaller than it:
    # it discounts the next invoices until spent, even past the coupon's cycles.
    carried_minor = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "subscription"], name="redemption_sub"),
            models.Index(fields=["tenant", "customer"], name="redemption_customer"),
        ]
        constraints = [
            # One live discount per subscription, and one per customer.
            models.UniqueConstraint(
                fields=["tenant", "subscription"],
                condition=Q(ended_at__isnull=True, subscription__isnull=False),
                name="redemption_one_live_per_sub",
            ),
            models.UniqueConstraint(
                fields=["tenant", "customer"],
                condition=Q(ended_at__isnull=True, subscription__isnull=True),
                name="redemption_one_live_per_customer",
            ),
            models.CheckConstraint(
                condition=Q(carried_minor__gte=0), name="redemption_carried_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} → {self.subscription_id}"


class PlanPortalOptions(TenantOwned):
    """What a subscriber of one plan (all its price versions) may do in the
    portal, and the retention offer the cancellation flow shows before the
    cancellation is confirmed. A plan without a row allows everything and
    offers nothing."""

    class Offer(models.TextChoices):
        NONE = "none", _("No offer")
        COUPON = "coupon", _("A coupon")
        PAUSE = "pause", _("A pause instead of cancelling")
        PLAN = "plan", _("A cheaper plan")

    # Per plan code: every price version of the plan shares its options.
    plan_code = models.SlugField(max_length=64)
    allow_change = models.BooleanField(_("subscribers may change plan or quantity"), default=True)
    allow_pause = models.BooleanField(_("subscribers may pause"), default=True)
    allow_cancel = models.BooleanField(_("subscribers may cancel"), default=True)
    # Plan codes a subscriber may move to; empty = the plans of the same product.
    change_plan_codes = models.JSONField(_("plans offered"), default=list, blank=True)
    offer = models.CharField(
        _("retention offer"), max_length=10, choices=Offer.choices, default="none"
    )
    offer_coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    offer_plan = models.ForeignKey(
        "subscriptions.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    offer_pause_cycles = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan_code"], name="plan_portal_options_code")
        ]

    def __str__(self) -> str:
        return f"portal options of plan {self.plan_code}"
