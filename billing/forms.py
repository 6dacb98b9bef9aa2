"""Staff forms for billing settings; they validate shape, services validate meaning."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import GatewayAccount


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
