from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from customers.forms import ADDRESS_FIELD_NAMES, AddressForm


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=12)

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError(_("Enter the 6 digits from the email."))
        return code


class ProfileForm(AddressForm):
    """What a subscriber may change about themselves (the email has its own,
    verified, form). The services check the values; their errors come back to
    the field they name."""

    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    tax_id = forms.CharField(label=_("CPF or CNPJ"), max_length=32, required=False)
    locale = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("The merchant's language")), *settings.LANGUAGES],
    )

    # The billing address: customers.forms.AddressForm's fields (shared with
    # the dashboard and the checkout), after these.
    field_order = ["name", "phone", "tax_id", "locale", *ADDRESS_FIELD_NAMES]


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=_("New email"), max_length=254)
