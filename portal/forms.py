from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from customers.forms import ADDRESS_FIELD_NAMES, AddressForm


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError(_("Remove the NUL character."))
    return value


class PasswordSignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shares the sign-in page with the code form: its own element ids.
        kwargs.setdefault("auto_id", "id_pw_%s")
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        return _no_nul(self.cleaned_data["password"])


class PasswordSetForm(forms.Form):
    """A new portal password, typed twice; Django's password validators judge it."""

    new_password1 = forms.CharField(
        label=_("New password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, customer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_new_password1(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        value = _no_nul(self.cleaned_data["new_password1"])
        validate_password(value, user=self.customer)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second is not None and first != second:
            self.add_error("new_password2", _("The two passwords differ."))
        return data


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
