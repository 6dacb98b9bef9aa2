"""Physical subscriptions: the box a paid period of a ``ships_goods`` plan sends."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models.documents import Invoice
from billing.models.fields import public_id
from tenants.models import TenantOwned


class FulfilmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELED = "canceled", _("Canceled")


# Where each status may go; shipping straight from pending is allowed (a merchant
# who does not record packing), everything else follows the box's path.
FULFILMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    FulfilmentStatus.PENDING: frozenset(
        {FulfilmentStatus.PACKED, FulfilmentStatus.SHIPPED, FulfilmentStatus.CANCELED}
    ),
    FulfilmentStatus.PACKED: frozenset({FulfilmentStatus.SHIPPED, FulfilmentStatus.CANCELED}),
    FulfilmentStatus.SHIPPED: frozenset({FulfilmentStatus.DELIVERED}),
    FulfilmentStatus.DELIVERED: frozenset(),
    FulfilmentStatus.CANCELED: frozenset(),
}


class FulfilmentOrder(TenantOwned):
    """One box per (subscription, period), made when the period's invoice is
    paid. The address, plan name and items are copied at creation: a later
    change of the customer or the plan never rewrites a box already promised."""

    Status = FulfilmentStatus

    public_id = public_id("ful")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    plan_name = models.CharField(max_length=200)
    items = models.TextField(blank=True)
    quantity = models.PositiveIntegerField(default=1)
    ship_to_name = models.CharField(max_length=200)
    shipping_address = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=FulfilmentStatus.choices, default=FulfilmentStatus.PENDING
    )
    carrier = models.CharField(max_length=60, blank=True)
    tracking_code = models.CharField(max_length=100, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="fulfilment_one_per_period"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at", "-id"])]
