from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tenants.cancel_reasons import (
    cancel_reasons_of,
    cancel_reasons_text,
    default_cancel_reasons,
    parse_cancel_reasons_text,
)
from tenants.embed import embed_origins
from tenants.models import ApiKey, Tenant
from tenants.permissions import Role
from tenants.services import LOGO_EXTENSIONS, MAX_LOGO_BYTES, MAX_NET_TERMS_DAYS


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
    """Everything a tenant configures; the service checks every value again."""

    net_terms_days = forms.IntegerField(
        label=_("Days to pay an invoice"), min_value=0, max_value=MAX_NET_TERMS_DAYS
    )

    class Meta:
        model = Tenant
        fields = [
            "name",
            "default_currency",
            "time_zone",
            "locale",
            "proration_precision",
            "rounding_mode",
            "interval_change_anchor",
            "pause_unused",
            "proration_change_day",
            "proration_day_count",
            "quantity_change_lines",
            "trial_invoice",
            "invoice_prefix",
            "net_terms_days",
            "logo",
            "primary_color",
            "accent_color",
            "support_email",
            "support_phone",
            "require_mfa",
            "embed_domains",
            "portal_password_signin",
            "google_client_id",
            "cancel_reasons",
        ]
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "accent_color": forms.TextInput(attrs={"type": "color"}),
            "locale": forms.Select(choices=settings.LANGUAGES),
            "logo": forms.ClearableFileInput(
                attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}
            ),
        }
        help_texts = {
            "time_zone": _("An IANA time zone name, e.g. America/Sao_Paulo or Europe/Bucharest."),
            "default_currency": _("A three-letter code of a currency in circulation, e.g. BRL."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One origin per line (the model keeps a list).
        self.fields["embed_domains"] = forms.CharField(
            label=_("Sites allowed to embed the checkout"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example.com"}),
            help_text=_("One origin per line, like https://shop.example.com."),
        )
        # Write-only: the stored secret is never rendered back into the page.
        self.fields["google_client_secret"] = forms.CharField(
            label=_("Google OAuth client secret"),
            required=False,
            max_length=500,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            help_text=_(
                "Leave empty to keep the stored secret. Clear the client id to remove both."
            ),
        )
        self.fields["cancel_reasons"] = forms.CharField(
            label=_("Cancellation reasons"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 8}),
            help_text=_(
                "What subscribers choose from when they cancel in the portal, in order: one "
                "per line as code | label. The code (lowercase letters, digits, - or _) is kept "
                "with each cancellation; labels up to 200 characters; at most 20 reasons. Empty: "
                "the default list."
            ),
        )
        if not self.is_bound:
            self.initial["embed_domains"] = "\n".join(self.instance.embed_domains or [])
            self.initial["cancel_reasons"] = cancel_reasons_text(cancel_reasons_of(self.instance))
        # Issue 16's defaults: a form posted without them keeps the saved values.
        for name in (
            "interval_change_anchor",
            "pause_unused",
            "proration_change_day",
            "proration_day_count",
            "quantity_change_lines",
            "trial_invoice",
        ):
            self.fields[name].required = False

    def clean_interval_change_anchor(self) -> str:
        return str(
            self.cleaned_data.get("interval_change_anchor") or self.instance.interval_change_anchor
        )

    def clean_pause_unused(self) -> str:
        return str(self.cleaned_data.get("pause_unused") or self.instance.pause_unused)

    def clean_cancel_reasons(self) -> list[dict[str, str]]:
        value = str(self.cleaned_data.get("cancel_reasons") or "")
        if "\x00" in value:
            raise forms.ValidationError(_("Remove the NUL character."))
        try:
            return parse_cancel_reasons_text(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The untouched default list stays "the defaults" (and follows the
        # tenant's language) rather than being frozen by an unrelated save.
        defaults = [
            {"code": r.code, "label": r.label} for r in default_cancel_reasons(self.instance.locale)
        ]
        if not self.instance.cancel_reasons and data.get("cancel_reasons") == defaults:
            data.pop("cancel_reasons")
        return data

    def clean_proration_change_day(self) -> str:
        return str(
            self.cleaned_data.get("proration_change_day") or self.instance.proration_change_day
        )

    def clean_proration_day_count(self) -> str:
        return str(
            self.cleaned_data.get("proration_day_count") or self.instance.proration_day_count
        )

    def clean_quantity_change_lines(self) -> str:
        return str(
            self.cleaned_data.get("quantity_change_lines") or self.instance.quantity_change_lines
        )

    def clean_trial_invoice(self) -> str:
        return str(self.cleaned_data.get("trial_invoice") or self.instance.trial_invoice)

    def clean_embed_domains(self) -> list[str]:
        value = str(self.cleaned_data.get("embed_domains") or "")
        if "\x00" in value:
            raise forms.ValidationError(_("Remove the NUL character."))
        try:
            return embed_origins(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None

    def clean_google_client_id(self) -> str:
        value = str(self.cleaned_data.get("google_client_id") or "").strip()
        if "\x00" in value:
            raise forms.ValidationError(_("Remove the NUL character."))
        return value

    def clean_google_client_secret(self) -> str:
        value = str(self.cleaned_data.get("google_client_secret") or "")
        if "\x00" in value:
            raise forms.ValidationError(_("Remove the NUL character."))
        return value

    def clean_default_currency(self) -> str:
        return str(self.cleaned_data["default_currency"]).strip().upper()

    def clean_invoice_prefix(self) -> str:
        return str(self.cleaned_data["invoice_prefix"]).strip().upper()

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if logo and isinstance(logo, UploadedFile):
            name = (logo.name or "").lower()
            if not name.endswith(LOGO_EXTENSIONS):
                raise forms.ValidationError(_("Upload a PNG, JPEG, WebP or GIF image."))
            if logo.size is not None and logo.size > MAX_LOGO_BYTES:
                raise forms.ValidationError(_("The logo must be 512 KB or smaller."))
        return logo


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=ApiKey.Kind.choices)
    mode = forms.ChoiceField(label=_("Mode"), choices=ApiKey.Mode.choices)
    read_only = forms.BooleanField(label=_("Read only"), required=False)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
