from functools import partial

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id
from subscriptions.domain.cycles import Interval
from tenants.models import TenantOwned


class Product(TenantOwned):
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "prod")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="product_tenant_created")
        ]

    def __str__(self) -> str:
        return self.name


class BillingTiming(models.TextChoices):
    """When a plan's period is invoiced (issue 16, item 6)."""

    IN_ADVANCE = "in_advance", _("In advance (at the start of each period)")
    IN_ARREARS = "in_arrears", _("In arrears (at the end of each period)")


class Plan(TenantOwned):
    """One priced version of a plan. Versions share a ``code``; a used version's
    price never changes: ``plan_change_price`` makes the next version."""

    BillingTiming = BillingTiming

    class PricingModel(models.TextChoices):
        FLAT = "flat", _("Flat")
        PER_SEAT = "per_seat", _("Per seat")
        GRADUATED = "graduated", _("Per seat, graduated tiers")
        VOLUME = "volume", _("Per seat, volume tiers")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "plan")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plans")
    code = models.SlugField(_("code"), max_length=64)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("price (minor units)"))
    pricing_model = models.CharField(
        max_length=10, choices=PricingModel.choices, default=PricingModel.FLAT
    )
    tiers = models.JSONField(default=list, blank=True)
    interval = models.CharField(
        max_length=5, choices=[(i.value, i.value) for i in Interval], default=Interval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    trial_days = models.PositiveSmallIntegerField(default=0)
    setup_fee_minor = models.BigIntegerField(default=0)
    term_cycles = models.PositiveSmallIntegerField(null=True, blank=True)
    term_notice_days = models.PositiveSmallIntegerField(default=30)
    # An introductory phase (issue 16): the first ``intro_cycles`` paid periods
    # of a subscription cost ``intro_amount_minor`` a unit instead of
    # ``amount_minor`` (the evergreen price). None/0: no phase.
    intro_amount_minor = models.BigIntegerField(
        _("intro price (minor units)"), null=True, blank=True
    )
    intro_cycles = models.PositiveSmallIntegerField(_("intro cycles"), default=0, db_default=0)
    max_pauses = models.PositiveSmallIntegerField(default=0)
    max_pause_cycles = models.PositiveSmallIntegerField(default=0)
    max_installments = models.PositiveSmallIntegerField(default=1)
    entitlements = models.JSONField(default=dict, blank=True)
    # A physical plan ships a box each paid period (billing/fulfilment.py makes
    # the order); ``box_items`` is what the box holds, one item per line.
    ships_goods = models.BooleanField(_("ships goods"), default=False)
    box_items = models.TextField(_("box contents"), blank=True, max_length=2000)
    # In arrears, a period is invoiced at its end, for what was used (Kill Bill's
    # IN_ARREAR billing mode, Lago's "pay in arrears").
    billing_timing = models.CharField(
        _("billing timing"),
        max_length=10,
        choices=BillingTiming.choices,
        default=BillingTiming.IN_ADVANCE,
    )
    tax_rate = models.ForeignKey(
        "billing.TaxRate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code", "version"], name="plan_code_version"),
            models.CheckConstraint(condition=Q(amount_minor__gte=0), name="plan_amount_nonneg"),
            models.CheckConstraint(condition=Q(setup_fee_minor__gte=0), name="plan_setup_nonneg"),
            models.CheckConstraint(condition=Q(interval_count__gte=1), name="plan_interval_pos"),
            models.CheckConstraint(
                condition=Q(intro_amount_minor__isnull=True) | Q(intro_amount_minor__gte=0),
                name="plan_intro_nonneg",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "created_at", "id"], name="plan_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def in_arrears(self) -> bool:
        return self.billing_timing == BillingTiming.IN_ARREARS


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", _("Incomplete")
    TRIALING = "trialing", _("Trialing")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    PAUSED = "paused", _("Paused")
    CANCELED = "canceled", _("Canceled")
    ENDED = "ended", _("Ended")


_S = SubscriptionStatus
SUBSCRIPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.INCOMPLETE: frozenset({_S.TRIALING, _S.ACTIVE, _S.INCOMPLETE, _S.CANCELED, _S.ENDED}),
    _S.TRIALING: frozenset({_S.ACTIVE, _S.INCOMPLETE, _S.CANCELED}),
    _S.ACTIVE: frozenset({_S.PAST_DUE, _S.PAUSED, _S.CANCELED, _S.ENDED}),
    _S.PAST_DUE: frozenset({_S.ACTIVE, _S.PAUSED, _S.CANCELED, _S.ENDED}),
    _S.PAUSED: frozenset({_S.ACTIVE, _S.CANCELED, _S.ENDED}),
    _S.CANCELED: frozenset(),
    _S.ENDED: frozenset(),
}


class Subscription(TenantOwned):
    Status = SubscriptionStatus

    def move_to(self, status: str) -> None:
        """Change status along ``SUBSCRIPTION_TRANSITIONS``, or raise (not saved)."""
        from core.transitions import transition

        if status != self.status:
            transition(self, status, SUBSCRIPTION_TRANSITIONS, what="subscription")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "sub")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices)
    # The method this subscription is charged with; empty = the customer's default.
    payment_method = models.ForeignKey(
        "customers.PaymentMethod",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    collection_method = models.CharField(
        max_length=20,
        choices=[
            ("charge_automatically", "charge_automatically"),
            ("send_invoice", "send_invoice"),
        ],
        default="charge_automatically",
    )
    # Periods are boundary(billing_anchor, n); period_index is the current n.
    billing_anchor = models.DateTimeField()
    # The day of the month periods fall on, when it differs from the anchor's
    # own (a billing day of 31 whose first anchor is Feb 28).
    billing_day = models.PositiveSmallIntegerField(null=True, blank=True)
    # Periods align on the calendar (the 1st of the month, calendar quarters,
    # Jan 1st): an interval change keeping the anchor realigns on the new grid.
    calendar_billing = models.BooleanField(default=False, db_default=False)
    period_index = models.IntegerField(default=0)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    # The earliest moment something is due (renewal, trial end, a scheduled
    # change, the term notice); the billing run sweeps on it.
    next_event_at = models.DateTimeField(null=True, blank=True)
    start_at = models.DateTimeField()
    started = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    paid_cycles = models.PositiveIntegerField(default=0)
    pauses_used = models.PositiveSmallIntegerField(default=0)
    pause_cycles_left = models.PositiveSmallIntegerField(default=0)
    term_notice_sent = models.BooleanField(default=False)
    # A pause that began mid-period (``subscription_pause(when="now")``): when it
    # began, and, when the unused paid time is carried forward rather than
    # credited, the paid-through date it interrupted. While it runs, the current
    # period is [paused_at, the resumption).
    paused_at = models.DateTimeField(null=True, blank=True)
    # Installments chosen at signup (0: none); renewals are split the same way.
    installments = models.PositiveSmallIntegerField(default=0)
    pause_carry_until = models.DateTimeField(null=True, blank=True)
    # In arrears: where the current plan's use in this period began, when a
    # change now split the period (the use before it waits as a pending line).
    arrears_from = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # Why the subscriber cancelled (or scheduled it): the merchant's reason code
    # and the label shown then, so renaming the reason later keeps history.
    cancel_reason_code = models.CharField(max_length=64, blank=True, default="")
    cancel_reason_label = models.CharField(max_length=200, blank=True, default="")
    cancel_comment = models.TextField(blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set by dunning's suspend step (status past_due, access off); cleared when
    # the subscription is reactivated. See ``has_access``.
    access_suspended_at = models.DateTimeField(null=True, blank=True)
    # The contract's own unit price after a readjustment (reajuste); null = the
    # plan's. Cleared when the subscription moves to another plan.
    unit_amount_minor = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def unit_amount(self) -> int:
        """The unit price billed from the next period (the plan's unless readjusted)."""
        if self.unit_amount_minor is not None:
            return self.unit_amount_minor
        return self.plan.amount_minor

    @property
    def has_access(self) -> bool:
        """Whether the subscriber gets the plan's entitlements now: trialing,
        active, or past due while dunning has not suspended it (a grace period)."""
        return (
            self.status
            in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
            and self.access_suspended_at is None
        )

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(fields=["tenant", "next_event_at", "id"], name="sub_tenant_due"),
            models.Index(fields=["tenant", "customer"], name="sub_tenant_customer"),
            models.Index(fields=["tenant", "created_at", "id"], name="sub_tenant_created"),
            # Reports: trials started and ended in a range (few rows have a trial).
            models.Index(
                fields=["tenant", "start_at"],
                condition=Q(trial_end__isnull=False),
                name="sub_trial_start",
            ),
            models.Index(
                fields=["tenant", "trial_end"],
                condition=Q(trial_end__isnull=False),
                name="sub_trial_end",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")),
                name="sub_period_positive",
            ),
            models.CheckConstraint(
                condition=Q(unit_amount_minor__isnull=True) | Q(unit_amount_minor__gte=0),
                name="sub_unit_amount_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class SubscriptionItem(TenantOwned):
    """An add-on billed with its subscription: a plan of the same currency and
    interval as the base plan (``Subscription.plan``), times ``quantity``, on
    the same invoice each period. Its own setup fee is charged when it is added;
    with a fixed term (its plan's ``term_cycles``) it ends by itself after that
    many full periods (``cycles_billed``). Ended items stay, for history."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "si")
    )
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    # Full periods billed to the item (a prorated first part does not count).
    cycles_billed = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # The contract's own unit price for the add-on after a readjustment whose
    # policy covers add-ons; null = its plan's list price.
    unit_amount_minor = models.BigIntegerField(null=True, blank=True)

    @property
    def unit_amount(self) -> int:
        """The add-on's unit price billed from the next period (its plan's unless readjusted)."""
        if self.unit_amount_minor is not None:
            return self.unit_amount_minor
        return self.plan.amount_minor

    class Meta:
        verbose_name = _("subscription item")
        verbose_name_plural = _("subscription items")
        indexes = [
            # The engine loads a batch's live items in one query.
            models.Index(
                fields=["tenant", "subscription"],
                condition=Q(ended_at__isnull=True),
                name="subitem_live",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="subitem_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_amount_minor__isnull=True) | Q(unit_amount_minor__gte=0),
                name="subitem_unit_amount_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class ScheduledChange(TenantOwned):
    """A change that takes effect at a set moment (period end): plan or quantity
    change, cancellation, pause. Undoing one cancels the row, never deletes it."""

    class Kind(models.TextChoices):
        CHANGE = "change", _("Change plan or quantity")
        CANCEL = "cancel", _("Cancel")
        PAUSE = "pause", _("Pause")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPLIED = "applied", _("Applied")
        CANCELED = "canceled", _("Canceled")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="scheduled_changes"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    effective_at = models.DateTimeField()
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(null=True, blank=True)
    pause_cycles = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "subscription", "status"], name="schedchange_sub"),
        ]
        constraints = [
            # At most one pending change of each kind per subscription.
            models.UniqueConstraint(
                fields=["subscription", "kind"],
                condition=Q(status="pending"),
                name="schedchange_one_pending_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.effective_at:%Y-%m-%d}"


# --- readjustment (reajuste) ------------------------------------------------------------


class IndexSeries(TenantOwned):
    """A price index with monthly rates: IPCA, IGP-M, INPC, or the merchant's own."""

    class Kind(models.TextChoices):
        IPCA = "ipca", _("IPCA (IBGE)")
        IGPM = "igpm", _("IGP-M (FGV)")
        INPC = "inpc", _("INPC (IBGE)")
        CUSTOM = "custom", _("The merchant's own")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "idx")
    )
    kind = models.CharField(_("index"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("index series")
        verbose_name_plural = _("index series")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="indexseries_tenant_name"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at", "id"], name="idx_tenant_created")]

    def __str__(self) -> str:
        return self.name


class IndexValue(TenantOwned):
    """One month's rate of a series, in percent (0.53 = +0.53 %; negative allowed)."""

    series = models.ForeignKey(IndexSeries, on_delete=models.CASCADE, related_name="values")
    month = models.DateField(_("month"))  # always the 1st
    rate_percent = models.DecimalField(_("rate (%)"), max_digits=9, decimal_places=4)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("index value")
        verbose_name_plural = _("index values")
        constraints = [
            models.UniqueConstraint(fields=["series", "month"], name="indexvalue_series_month"),
            models.CheckConstraint(
                condition=Q(rate_percent__gte=-50) & Q(rate_percent__lte=100),
                name="indexvalue_rate_sane",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "series", "month"], name="idxvalue_series")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.rate_percent}"


class ReadjustmentPolicy(TenantOwned):
    """How the contracts of a plan (every version of its code) are readjusted:
    their recurring fee, and with ``applies_to`` ``recurring_and_add_ons`` their
    add-ons' (``SubscriptionItem``) too, by the same factor."""

    class AppliesTo(models.TextChoices):
        RECURRING = "recurring", _("The recurring fee")
        RECURRING_AND_ADD_ONS = "recurring_and_add_ons", _("The recurring fee and add-ons")

    class Method(models.TextChoices):
        INDEX = "index", _("By an index")
        FIXED = "fixed", _("Fixed percentage")

    class Period(models.TextChoices):
        ANNIVERSARY = "anniversary", _("Every 12 months from each contract's start")
        FIXED_MONTH = "fixed_month", _("A fixed month for all contracts")

    plan_code = models.SlugField(_("plan"), max_length=64)
    method = models.CharField(_("method"), max_length=5, choices=Method.choices)
    series = models.ForeignKey(
        IndexSeries,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        verbose_name=_("index"),
    )
    fixed_percent = models.DecimalField(
        _("fixed percentage"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    period = models.CharField(
        _("period"), max_length=11, choices=Period.choices, default=Period.ANNIVERSARY
    )
    month = models.PositiveSmallIntegerField(_("month"), null=True, blank=True)
    floor_percent = models.DecimalField(
        _("floor (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    cap_percent = models.DecimalField(
        _("cap (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    notice_days = models.PositiveSmallIntegerField(_("days of notice"), default=30)
    automatic = models.BooleanField(_("apply automatically"), default=True)
    applies_to = models.CharField(
        _("applies to"),
        max_length=21,
        choices=AppliesTo.choices,
        default=AppliesTo.RECURRING,
        db_default=AppliesTo.RECURRING,
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def covers_add_ons(self) -> bool:
        return self.applies_to == self.AppliesTo.RECURRING_AND_ADD_ONS

    class Meta:
        verbose_name = _("readjustment policy")
        verbose_name_plural = _("readjustment policies")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan_code"], name="rdjpolicy_plan"),
            models.CheckConstraint(
                condition=Q(floor_percent__isnull=True)
                | Q(cap_percent__isnull=True)
                | Q(cap_percent__gte=models.F("floor_percent")),
                name="rdjpolicy_cap_over_floor",
            ),
        ]

    def __str__(self) -> str:
        return self.plan_code


class Readjustment(TenantOwned):
    """One contract's readjustment: decided (notice sent) and, from the first
    period starting on or after ``due_on``, applied. Never edited afterwards
    but for its status; one per subscription and due date."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        APPLIED = "applied", _("Applied")
        SKIPPED = "skipped", _("Skipped")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "rdj")
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="readjustments"
    )
    policy = models.ForeignKey(
        ReadjustmentPolicy, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.SCHEDULED)
    due_on = models.DateField()
    effective_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    old_amount_minor = models.BigIntegerField()
    new_amount_minor = models.BigIntegerField()
    # The factor applied (after floor and cap) and the one computed before them.
    factor = models.DecimalField(max_digits=14, decimal_places=8)
    computed_factor = models.DecimalField(max_digits=14, decimal_places=8)
    series_name = models.CharField(max_length=100, blank=True)
    index_months = models.JSONField(default=list, blank=True)  # ["2023-01", …]
    # The add-ons readjusted with the recurring fee (a policy covering add-ons),
    # as decided: [{"item": "si_…", "plan": code, "quantity": n, "old": minor,
    # "new": minor}]. A snapshot read only with its readjustment (the engine
    # loads these rows per batch already), so a list here rather than a table.
    item_changes = models.JSONField(default=list, blank=True)
    notice_event = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("readjustment")
        verbose_name_plural = _("readjustments")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "due_on"], name="rdj_one_per_due"),
            models.CheckConstraint(
                condition=Q(new_amount_minor__gte=0), name="rdj_new_amount_nonneg"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "subscription", "due_on"], name="rdj_tenant_sub"),
            models.Index(fields=["tenant", "status", "effective_at"], name="rdj_tenant_status"),
        ]

    @property
    def index_month_list(self) -> list[str]:
        return [str(m) for m in self.index_months or []]

    def __str__(self) -> str:
        return self.public_id


class EntitlementState(TenantOwned):
    """What a customer could use when it was last pushed: the
    ``customer.entitlements.updated`` event goes out only when this changes."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="+"
    )
    features = models.JSONField(default=dict)
    subscriptions = models.JSONField(default=list)
    updated_at = models.DateTimeField()
