"""The reports' own tables: the MRR movement log and the daily snapshot.

``MrrMovement`` is written by ``reports.movements`` in the transaction of every
subscription change (an outbox listener, ``settings.OUTBOX_LISTENERS``), so MRR
history is never recomputed from scratch. ``DailyMetrics`` rolls the log and the
payments up per tenant, currency and local day (``reports.snapshots``, a beat
task); ``ReportState`` says which days the roll-up covers. Definitions:
reports/README.md.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantOwned


class MovementKind(models.TextChoices):
    NEW = "new", _("New business")
    EXPANSION = "expansion", _("Expansion")
    CONTRACTION = "contraction", _("Contraction")
    CHURN = "churn", _("Churn")
    REACTIVATION = "reactivation", _("Reactivation")


class MrrMovement(TenantOwned):
    """One change of one subscription's MRR, classified at the customer's level
    (ChartMogul's rule). ``delta_minor`` is the subscription's new MRR minus its
    old one, so the sum of the deltas up to a moment is the MRR at that moment."""

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(
        "subscriptions.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    currency = models.CharField(max_length=3)
    at = models.DateTimeField()
    # The tenant's local day and month of ``at`` (computed once, when written).
    day = models.DateField()
    month = models.DateField()
    # The month the customer first brought MRR in this currency (its cohort).
    cohort = models.DateField()
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    delta_minor = models.BigIntegerField()
    mrr_after_minor = models.BigIntegerField()
    # The day the customer last became a paying customer (new or reactivation).
    joined = models.DateField()
    # The subscription entered MRR straight out of a trial (a trial conversion).
    from_trial = models.BooleanField(default=False)
    # +1 when the subscription enters MRR for the first time, -1 when it ends.
    live_delta = models.SmallIntegerField(default=0)
    # +1 when the customer becomes (again) a paying customer, -1 when it churns.
    customer_delta = models.SmallIntegerField(default=0)
    event_type = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "currency", "day"], name="mrrmove_tenant_day"),
            models.Index(fields=["tenant", "subscription"], name="mrrmove_sub"),
            models.Index(fields=["tenant", "customer", "currency"], name="mrrmove_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta_minor} {self.currency} @ {self.day}"


class DailyMetrics(TenantOwned):
    """One tenant's day in one currency: the movement log and the payments
    summed (the daily snapshot). Levels (MRR, customers) are running sums."""

    currency = models.CharField(max_length=3)
    day = models.DateField()
    new_minor = models.BigIntegerField(default=0)
    expansion_minor = models.BigIntegerField(default=0)
    contraction_minor = models.BigIntegerField(default=0)
    churn_minor = models.BigIntegerField(default=0)
    reactivation_minor = models.BigIntegerField(default=0)
    new_customers = models.IntegerField(default=0)
    churned_customers = models.IntegerField(default=0)
    reactivated_customers = models.IntegerField(default=0)
    # Churned customers who were already paying when the day's month began
    # (logo churn leaves out those who started in the period).
    churned_established = models.IntegerField(default=0)
    subscriptions_delta = models.IntegerField(default=0)
    trials_started = models.IntegerField(default=0)
    trials_ended = models.IntegerField(default=0)
    trials_converted = models.IntegerField(default=0)
    payments_succeeded = models.IntegerField(default=0)
    payments_failed = models.IntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0)
    failed_minor = models.BigIntegerField(default=0)
    dunning_opened = models.IntegerField(default=0)
    dunning_recovered = models.IntegerField(default=0)
    recovered_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "currency", "day"], name="dailymetrics_one_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.day}"


class ReportState(TenantOwned):
    """How far the daily snapshot reaches: days up to ``through_day`` are in
    ``DailyMetrics``, except from ``dirty_from`` on (history written late, e.g.
    by a test clock), which the next snapshot rebuilds."""

    through_day = models.DateField(null=True, blank=True)
    dirty_from = models.DateField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="reportstate_one")]

    def __str__(self) -> str:
        return f"{self.tenant_id} through {self.through_day}"
