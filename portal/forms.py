from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=12)

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError(_("Enter the 6 digits from the email."))
        return code


ADDRESS_FIELDS = (
    ("line1", _("Street"), 200),
    ("number", _("Number"), 20),
    ("complement", _("Complement"), 100),
    ("district", _("District"), 100),
    ("city", _("City"), 100),
    ("state", _("State"), 60),
    ("postal_code", _("Postal code"), 16),
    ("country", _("Country (2 letters)"), 2),
)


class ProfileForm(forms.Form):
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label, size in ADDRESS_FIELDS:
            self.fields[f"address_{key}"] = forms.CharField(
                label=label, max_length=size, required=False
            )

    def address(self) -> dict[str, str]:
        values = {
            key: self.cleaned_data.get(f"address_{key}", "") for key, _l, _s in ADDRESS_FIELDS
        }
        return {k: v for k, v in values.items() if v}


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=_("New email"), max_length=254)
