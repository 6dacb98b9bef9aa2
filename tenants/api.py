"""The account's own settings over the REST API: ``/api/v1/account`` (GET, PATCH).

The same settings as the dashboard's settings page, through the same service
(``tenant_update_settings``), so both refuse the same values. The logo is
uploaded in the dashboard only; the API says whether there is one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from core import clock
from core.actors import Actor
from core.api.fields import StrictSerializer
from tenants import services
from tenants.cancel_reasons import cancel_reasons_of
from tenants.models import Tenant
from tenants.requests import TenantApiRequest

_COLOUR = r"^#[0-9a-fA-F]{6}$"
_PRECISIONS = [("day", "Calendar day"), ("second", "Second")]
_ROUNDINGS = [("half_even", "Half even (banker's)"), ("half_up", "Half up")]
_ANCHORS = [("reset", "Reset to the change"), ("keep", "Keep the anchor's day")]
_UNUSED = [("credit", "Credit the customer"), ("carry", "Carry the paid-through date")]
_CHANGE_DAYS = [("new", "The new state"), ("old", "Used on the old state")]
_DAY_COUNTS = [("calendar", "Calendar days"), ("thirty", "30 days a month")]
_QUANTITY_LINES = [("split", "A credit and a charge line"), ("difference", "One line")]
_TRIAL_INVOICES = [("none", "No invoice"), ("zero", "A zero invoice for the trial")]
_LOCALES = [code for code, _name in settings.LANGUAGES]

_HELP = {
    "name": "The business's name, shown to customers.",
    "default_currency": "ISO 4217 code of a currency in circulation (BRL, USD, EUR …); "
    "XXX, XTS, XAU and the like are refused.",
    "time_zone": "IANA time zone name, e.g. America/Sao_Paulo: dates on pages, emails "
    "and PDFs, and the hour dunning steps run at.",
    "locale": "Language of customer-facing pages, emails and PDFs.",
    "proration_precision": "Prorations count whole calendar days or seconds.",
    "rounding_mode": "How fractions of a minor unit are rounded.",
    "interval_change_anchor": "On a change of billing interval: reset the anchor to the "
    "change (reset) or keep its day, the first new period prorated to it (keep).",
    "pause_unused": "Pausing now, mid-period: credit the paid time left to the customer "
    "(credit) or carry the paid-through date past the pause (carry).",
    "proration_change_day": "The day of a change or cancellation belongs to the new state, "
    "credited on the old one (new), or counts as used on the old state (old).",
    "proration_day_count": "Prorate over calendar days (calendar) or count every month as "
    "30 days (thirty, fixed-days proration).",
    "quantity_change_lines": "A quantity change now bills a credit line and a charge line "
    "(split) or one line for the difference (difference).",
    "trial_invoice": "When a trial starts: no invoice (none) or a paid zero-amount invoice "
    "with a 'Trial period' line for the trial's dates (zero), never charged.",
    "invoice_prefix": "Capital letters and digits, up to 12; empty means the slug in "
    "capitals (ACME-2026-000123).",
    "net_terms_days": "Days a customer has to pay an invoice, 0 to 365.",
    "primary_color": "Brand colour as #rrggbb, used by the portal, emails and PDFs.",
    "accent_color": "Second brand colour as #rrggbb.",
    "support_email": "Where customers write for help; empty for none.",
    "support_phone": "Support phone number shown to customers; empty for none.",
    "require_mfa": "Every staff member must use two-factor authentication.",
    "cancel_reasons": "The reasons subscribers choose from when they cancel in the portal, in "
    "order: code (a lowercase slug, unique, kept with each cancellation) and label (1 to 200 "
    "characters, shown to subscribers); at most 20. Until set, or set to [], a default list "
    "in the account's language.",
    "embed_domains": "Origins allowed to embed the checkout in an iframe, like "
    "https://shop.example.com (scheme, host and port only; at most 20).",
    "portal_password_signin": "Subscribers may also sign in to the portal with a password "
    "they set on their profile (the emailed code always works).",
    "google_client_id": "Google OAuth client id; with its secret the portal offers "
    '"Continue with Google". Empty removes Google sign-in (and the stored secret).',
    "google_client_secret": "Google OAuth client secret. Write-only: stored encrypted and "
    "never returned; see has_google_client_secret.",
}


class CancelReasonSerializer(StrictSerializer):
    code = serializers.CharField(help_text="Stable slug, e.g. too_expensive.")
    # DRF's metaclass takes declared fields off the class, so this "label" never
    # shadows Field.label at run time; mypy only sees the class attribute.
    label = serializers.CharField(  # type: ignore[assignment]
        allow_blank=True, trim_whitespace=False, help_text="What subscribers read."
    )


class AccountSerializer(serializers.Serializer[Tenant]):
    object = serializers.SerializerMethodField(help_text='Always "account".')
    slug = serializers.CharField(help_text="The account's unique short name (read-only).")
    name = serializers.CharField(help_text=_HELP["name"])
    default_currency = serializers.CharField(help_text=_HELP["default_currency"])
    time_zone = serializers.CharField(help_text=_HELP["time_zone"])
    locale = serializers.ChoiceField(choices=_LOCALES, help_text=_HELP["locale"])
    proration_precision = serializers.ChoiceField(
        choices=_PRECISIONS, help_text=_HELP["proration_precision"]
    )
    rounding_mode = serializers.ChoiceField(choices=_ROUNDINGS, help_text=_HELP["rounding_mode"])
    interval_change_anchor = serializers.ChoiceField(
        choices=_ANCHORS, help_text=_HELP["interval_change_anchor"]
    )
    pause_unused = serializers.ChoiceField(choices=_UNUSED, help_text=_HELP["pause_unused"])
    proration_change_day = serializers.ChoiceField(
        choices=_CHANGE_DAYS, help_text=_HELP["proration_change_day"]
    )
    proration_day_count = serializers.ChoiceField(
        choices=_DAY_COUNTS, help_text=_HELP["proration_day_count"]
    )
    quantity_change_lines = serializers.ChoiceField(
        choices=_QUANTITY_LINES, help_text=_HELP["quantity_change_lines"]
    )
    trial_invoice = serializers.ChoiceField(
        choices=_TRIAL_INVOICES, help_text=_HELP["trial_invoice"]
    )
    invoice_prefix = serializers.CharField(help_text=_HELP["invoice_prefix"])
    document_prefix = serializers.CharField(
        help_text="The prefix invoice numbers actually get (invoice_prefix or the default)."
    )
    net_terms_days = serializers.IntegerField(help_text=_HELP["net_terms_days"])
    has_logo = serializers.SerializerMethodField(
        help_text="Whether a logo is set; it is uploaded in the dashboard (Settings)."
    )
    primary_color = serializers.CharField(help_text=_HELP["primary_color"])
    accent_color = serializers.CharField(help_text=_HELP["accent_color"])
    support_email = serializers.CharField(help_text=_HELP["support_email"])
    support_phone = serializers.CharField(help_text=_HELP["support_phone"])
    require_mfa = serializers.BooleanField(help_text=_HELP["require_mfa"])
    embed_domains = serializers.ListField(
        child=serializers.CharField(), help_text=_HELP["embed_domains"]
    )
    portal_password_signin = serializers.BooleanField(help_text=_HELP["portal_password_signin"])
    google_client_id = serializers.CharField(help_text=_HELP["google_client_id"])
    has_google_client_secret = serializers.SerializerMethodField(
        help_text="Whether a Google client secret is stored (it is never shown)."
    )
    cancel_reasons = serializers.SerializerMethodField(help_text=_HELP["cancel_reasons"])
    created_at = serializers.DateTimeField(help_text="When the account was created.")

    @extend_schema_field(serializers.BooleanField())
    def get_has_google_client_secret(self, obj: Tenant) -> bool:
        return bool(obj.google_client_secret_encrypted)

    @extend_schema_field(serializers.CharField())
    def get_object(self, obj: Tenant) -> str:
        return "account"

    @extend_schema_field(CancelReasonSerializer(many=True))
    def get_cancel_reasons(self, obj: Tenant) -> list[dict[str, str]]:
        return [{"code": r.code, "label": r.label} for r in cancel_reasons_of(obj)]

    @extend_schema_field(serializers.BooleanField())
    def get_has_logo(self, obj: Tenant) -> bool:
        return bool(obj.logo)


class AccountUpdateSerializer(StrictSerializer):
    """Any subset of the settings; a field left out keeps its value, null is refused."""

    name = serializers.CharField(
        required=False, min_length=1, max_length=200, help_text=_HELP["name"]
    )
    default_currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, help_text=_HELP["default_currency"]
    )
    time_zone = serializers.CharField(
        required=False, min_length=1, max_length=64, help_text=_HELP["time_zone"]
    )
    locale = serializers.ChoiceField(choices=_LOCALES, required=False, help_text=_HELP["locale"])
    proration_precision = serializers.ChoiceField(
        choices=_PRECISIONS, required=False, help_text=_HELP["proration_precision"]
    )
    rounding_mode = serializers.ChoiceField(
        choices=_ROUNDINGS, required=False, help_text=_HELP["rounding_mode"]
    )
    interval_change_anchor = serializers.ChoiceField(
        choices=_ANCHORS, required=False, help_text=_HELP["interval_change_anchor"]
    )
    pause_unused = serializers.ChoiceField(
        choices=_UNUSED, required=False, help_text=_HELP["pause_unused"]
    )
    proration_change_day = serializers.ChoiceField(
        choices=_CHANGE_DAYS, required=False, help_text=_HELP["proration_change_day"]
    )
    proration_day_count = serializers.ChoiceField(
        choices=_DAY_COUNTS, required=False, help_text=_HELP["proration_day_count"]
    )
    quantity_change_lines = serializers.ChoiceField(
        choices=_QUANTITY_LINES, required=False, help_text=_HELP["quantity_change_lines"]
    )
    trial_invoice = serializers.ChoiceField(
        choices=_TRIAL_INVOICES, required=False, help_text=_HELP["trial_invoice"]
    )
    invoice_prefix = serializers.RegexField(
        r"^[A-Z0-9]*$",
        required=False,
        allow_blank=True,
        max_length=12,
        help_text=_HELP["invoice_prefix"],
    )
    net_terms_days = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=services.MAX_NET_TERMS_DAYS,
        help_text=_HELP["net_terms_days"],
    )
    primary_color = serializers.RegexField(
        _COLOUR, required=False, help_text=_HELP["primary_color"]
    )
    accent_color = serializers.RegexField(_COLOUR, required=False, help_text=_HELP["accent_color"])
    support_email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text=_HELP["support_email"]
    )
    support_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text=_HELP["support_phone"]
    )
    require_mfa = serializers.BooleanField(required=False, help_text=_HELP["require_mfa"])
    embed_domains = serializers.ListField(
        child=serializers.CharField(max_length=300),
        required=False,
        max_length=20,
        help_text=_HELP["embed_domains"],
    )
    portal_password_signin = serializers.BooleanField(
        required=False, help_text=_HELP["portal_password_signin"]
    )
    google_client_id = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text=_HELP["google_client_id"]
    )
    google_client_secret = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        write_only=True,
        help_text=_HELP["google_client_secret"],
    )
    cancel_reasons = serializers.ListField(
        child=CancelReasonSerializer(),
        required=False,
        help_text=_HELP["cancel_reasons"],
    )


class AccountViewSet(viewsets.GenericViewSet[Any]):
    """The calling key's account: one object, no id (see ``config.api.ApiRouter``)."""

    serializer_class = AccountSerializer
    request: TenantApiRequest

    def _tenant(self) -> Tenant:
        # Fresh from the database: the request's tenant may predate a change.
        return Tenant.objects.get(pk=self.request.tenant.pk)

    @extend_schema(
        summary="Retrieve the account",
        description="The settings of the account the API key belongs to.",
        responses=AccountSerializer,
    )
    def show(self, request: Request) -> Response:
        return Response(AccountSerializer(self._tenant()).data)

    @extend_schema(
        summary="Update the account",
        description="Change any of the account's settings; fields left out keep their "
        "value. All or nothing: one bad value and nothing changes. Read-only keys are "
        "refused. The logo is set in the dashboard.",
        request=AccountUpdateSerializer,
        responses=AccountSerializer,
    )
    def modify(self, request: Request) -> Response:
        body = AccountUpdateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        updated = services.tenant_update_settings(
            tenant=self.request.tenant,
            actor=Actor.api_key(request.auth),
            now=clock.now(),
            **body.validated_data,
        )
        return Response(AccountSerializer(updated).data)


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the API router (see config/api.py)."""
    router.register("account", AccountViewSet, basename="account")
