"""Forms of the dashboard's customer pages. They check shapes only; the services
check the business rules and their errors are put next to the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from billing.services import BALANCE_ADJUST_LIMIT
from customers.forms import ADDRESS_FIELD_NAMES, AddressForm
from dashboard.amounts import parse_money
from dashboard.templatetags.money import tax_id as tax_id_display


class CustomerForm(AddressForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    tax_id = forms.CharField(label=_("CPF or CNPJ"), required=False, max_length=32)
    locale = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("The account's language")), *settings.LANGUAGES],
    )
    # The billing address: customers.forms.AddressForm's fields, after these.
    field_order = ["name", "email", "phone", "tax_id", "locale", *ADDRESS_FIELD_NAMES]

    def service_values(self) -> dict[str, Any]:
        """The cleaned data as the customer services take it (``address`` as one object)."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in ADDRESS_FIELD_NAMES}
        data["address"] = self.address()
        return data

    @staticmethod
    def initial_for(customer: Any) -> dict[str, Any]:
        initial = {f: getattr(customer, f) for f in ("name", "email", "phone", "tax_id", "locale")}
        # Shown with its mask, as people type it (the service takes either).
        initial["tax_id"] = tax_id_display(customer.tax_id)
        initial.update(AddressForm.initial_for(customer.address))
        return initial


class CustomerNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    subscription = forms.ChoiceField(
        label=_("Subscription"),
        required=False,
        choices=[("", _("Any")), ("active", _("Active or trialing")), ("none", _("None active"))],
    )
    delinquent = forms.ChoiceField(
        label=_("Payment"),
        required=False,
        choices=[("", _("Any")), ("1", _("Past due or in dunning"))],
    )
    mode = forms.ChoiceField(
        label=_("Mode"),
        required=False,
        choices=[("", _("Live and test")), ("live", _("Live")), ("test", _("On a test clock"))],
    )


class BalanceAdjustForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount"),
        max_length=40,
        help_text=_("Positive adds credit, negative removes it."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        """Minor units of the tenant's currency, typed in the viewer's language."""
        return parse_money(
            self.cleaned_data["amount"],
            self.currency,
            signed=True,
            positive=True,
            maximum=BALANCE_ADJUST_LIMIT,
        )
