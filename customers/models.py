from functools import partial

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id
from tenants.models import TenantOwned


class Customer(TenantOwned):
    """A merchant's subscriber."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "cus")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    tax_id = models.CharField(_("tax id (CPF/CNPJ)"), max_length=32, blank=True)
    locale = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    test_clock = models.ForeignKey(
        "billing.TestClock",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="customers",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="customer_tenant_created"),
            models.Index(fields=["tenant", "email"], name="customer_tenant_email"),
        ]

    def __str__(self) -> str:
        return self.name
