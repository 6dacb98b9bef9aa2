"""Billing forms (staff settings; the card paying a subscription, for staff and
subscribers alike); they validate shape, services validate meaning."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import GatewayAccount
from customers.models import PaymentMethod
from subscriptions.models import Subscription


class SubscriptionPaymentMethodForm(forms.Form):
    """Which of the customer's live payment methods pays one subscription (empty:
    the customer's default). The dashboard and the portal word it their own way."""

    field_label: Any = _("Payment method")
    default_label: Any = _("The customer's default")
    show_ids = True  # staff see a method's id when it has no last four digits

    # The queryset is set per form: a tenant's manager may not be read at import.
    payment_method: forms.ModelChoiceField[PaymentMethod] = forms.ModelChoiceField(
        queryset=None, to_field_name="public_id", required=False
    )

    def __init__(self, *args: Any, subscription: Subscription, **kwargs: Any) -> None:
        method = subscription.payment_method
        kwargs.setdefault("initial", {"payment_method": method.public_id if method else None})
        super().__init__(*args, **kwargs)
        field = self.fields["payment_method"]
        assert isinstance(field, forms.ModelChoiceField)
        field.label = self.field_label
        field.empty_label = self.default_label
        field.queryset = PaymentMethod.objects.filter(
            tenant_id=subscription.tenant_id,
            customer_id=subscription.customer_id,
            detached_at__isnull=True,
        ).order_by("-is_default", "id")
        field.label_from_instance = self.method_label  # type: ignore[assignment]

    def method_label(self, method: PaymentMethod) -> str:
        if method.last4:
            return f"{method.get_kind_display()} {method.brand} •••• {method.last4}".replace(
                "  ", " "
            )
        if self.show_ids:
            return f"{method.get_kind_display()} ({method.public_id})"
        return str(method.get_kind_display())


class StripeAccountForm(forms.Form):
    mode = forms.ChoiceField(label=_("Mode"), choices=GatewayAccount.Mode.choices)
    api_key = forms.CharField(
        label=_("Secret key"),
        help_text=_("sk_test_… or sk_live_… (or a restricted rk_… key)."),
        widget=forms.PasswordInput(render_value=False),
        max_length=255,
    )
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret"),
        help_text=_("whsec_… from the webhook endpoint you add in Stripe for the URL below."),
        widget=forms.PasswordInput(render_value=False),
        max_length=255,
    )
    publishable_key = forms.CharField(
        label=_("Publishable key"),
        help_text=_("pk_… — needed for Stripe Elements in the customer portal."),
        required=False,
        max_length=255,
    )

    def credentials(self) -> dict[str, str]:
        data = {
            "api_key": self.cleaned_data["api_key"].strip(),
            "webhook_secret": self.cleaned_data["webhook_secret"].strip(),
        }
        if self.cleaned_data["publishable_key"].strip():
            data["publishable_key"] = self.cleaned_data["publishable_key"].strip()
        return data


class LateChargesForm(forms.Form):
    fine_percent = forms.DecimalField(
        label=_("Late fee (multa, %)"),
        min_value=0,
        max_value=10,
        decimal_places=2,
        help_text=_("Charged once on a segunda via. Consumer contracts in Brazil: at most 2 %."),
    )
    monthly_interest_percent = forms.DecimalField(
        label=_("Interest (juros, % a month)"),
        min_value=0,
        max_value=10,
        decimal_places=2,
        help_text=_("Pro rata per day late."),
    )
    days_to_pay = forms.IntegerField(
        label=_("Days to pay a boleto"),
        min_value=1,
        max_value=30,
        help_text=_(
            "From the day it is issued, for a new boleto and a segunda via; the invoice "
            "falls due with the boleto."
        ),
    )
    pix_automatico = forms.BooleanField(
        label=_("Offer Pix Automático"),
        required=False,
        help_text=_(
            "A subscriber who pays a recurring plan by Pix (checkout, portal) scans one QR "
            "code that pays the first charge and authorises the next ones to be debited."
        ),
    )
    with_pix = forms.BooleanField(
        label=_("Boleto with Pix (bolepix)"),
        required=False,
        help_text=_(
            "Each boleto also carries a Pix QR code for the same amount; paying by one "
            "withdraws the other."
        ),
    )
