from functools import partial

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id
from tenants.models import TenantOwned


class CheckoutSession(TenantOwned):
    """One visitor's way through the hosted checkout, created through the API
    (``POST /api/v1/checkout_sessions``) with the plan, the quantity and what
    the integrator already knows about the visitor. Its public id in the URL
    (``/t/<slug>/checkout/s/<cs_id>/``) carries the whole state: the embedded
    page needs no cookie of its own to know what it is selling."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLETE = "complete", _("Complete")
        EXPIRED = "expired", _("Expired")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "cs")
    )
    # The plan sold: the first of ``plan_options`` until the visitor picks one.
    plan = models.ForeignKey("subscriptions.Plan", on_delete=models.PROTECT, related_name="+")
    # The plans the visitor may pick from (public ids, in the integrator's
    # order; a later version of a plan opens in their place). One for a
    # single-plan session.
    plan_options = models.JSONField(default=list, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    customer_tax_id = models.CharField(max_length=40, blank=True)
    success_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField()
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "status", "expires_at"])]

    def __str__(self) -> str:
        return self.public_id


class PriceTable(TenantOwned):
    """Several plans side by side on one hosted page
    (``/t/<slug>/checkout/pricing/<ptab_id>/``), each leading to its plan's
    checkout. The plans are kept by public id in the merchant's order; a plan
    whose price changed since shows its current version, an archived one drops
    out of the page."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "ptab")
    )
    name = models.CharField(max_length=120)
    plans = models.JSONField(default=list)
    highlighted = models.CharField(max_length=64, blank=True)  # a plan's public id, or ""
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "active", "name"])]

    def __str__(self) -> str:
        return self.name
