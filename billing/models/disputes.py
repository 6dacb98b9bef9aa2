"""Chargebacks: a payer's bank disputing a successful payment."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models.fields import public_id
from billing.models.payments import PaymentAttempt
from tenants.models import TenantOwned


class Dispute(TenantOwned):
    """A chargeback on a payment, as the gateway reports it. While ``open`` the
    money is held; ``lost`` means it went back to the payer for good, ``won``
    that the merchant keeps it."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    public_id = public_id("dp")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="disputes")
    gateway = models.CharField(max_length=20)
    gateway_ref = models.CharField(max_length=100)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway", "gateway_ref"], name="dispute_ref_unique"),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gt=0), name="dispute_amount_pos"
            ),
        ]
