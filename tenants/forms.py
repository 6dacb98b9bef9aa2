from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tenants.models import ApiKey, Tenant


class SignupForm(forms.Form):
    """allauth's signup, plus the company that becomes the new tenant."""

    company = forms.CharField(
        label=_("Company name"),
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("Acme Ltda."), "autocomplete": "organization"}
        ),
    )

    def clean_company(self) -> str:
        value = self.cleaned_data["company"].strip()
        if not value:
            raise forms.ValidationError(_("Enter your company's name."))
        return value

    def signup(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        # The tenant is created by AccountAdapter.save_user, in the same
        # transaction as the user.
        pass


class TenantSettingsForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = [
            "name",
            "default_currency",
            "time_zone",
            "locale",
            "primary_color",
            "accent_color",
            "support_email",
            "support_phone",
            "require_mfa",
        ]
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "accent_color": forms.TextInput(attrs={"type": "color"}),
            "locale": forms.Select(choices=settings.LANGUAGES),
        }


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=ApiKey.Kind.choices)
    mode = forms.ChoiceField(label=_("Mode"), choices=ApiKey.Mode.choices)
    read_only = forms.BooleanField(label=_("Read only"), required=False)
