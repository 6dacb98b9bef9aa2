"""Forms of the portal's subscription pages: types and scope only; the services
decide (their errors come back next to the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from billing.forms import SubscriptionPaymentMethodForm
from billing.retention import COMMENT_MAX, portal_change_plans
from subscriptions.models import Subscription
from tenants.cancel_reasons import cancel_reasons_of
from tenants.models import Tenant

MAX_QUANTITY = 10_000


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError(_("Remove the invalid characters."))


class _PlanChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class PortalChangeForm(forms.Form):
    plan = _PlanChoice(label=_("Plan"), queryset=None, to_field_name="public_id")
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY)

    def __init__(self, *args: Any, subscription: Subscription, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"plan": subscription.plan.public_id, "quantity": subscription.quantity}
        )
        super().__init__(*args, **kwargs)
        # Only the plans the merchant offers this subscriber: any other id,
        # another tenant's included, is "not a valid choice".
        self.fields["plan"].queryset = portal_change_plans(sub=subscription)  # type: ignore[attr-defined]


class PortalPauseForm(forms.Form):
    when = forms.ChoiceField(
        label=_("When"),
        choices=[
            ("period_end", _("At the end of the current period")),
            ("now", _("Now")),
        ],
        initial="period_end",
        required=False,
        widget=forms.RadioSelect,
    )
    cycles = forms.IntegerField(
        label=_("Billing periods to skip"),
        initial=1,
        min_value=1,
        max_value=120,
        required=False,
    )
    resume_on = forms.DateField(
        label=_("Resume on (pausing now; optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["when"] = data.get("when") or "period_end"
        if (
            data["when"] == "period_end"
            and data.get("cycles") is None
            and "cycles" not in self.errors
        ):
            self.add_error("cycles", self.fields["cycles"].error_messages["required"])
        return data


class PortalResumeForm(forms.Form):
    resume_on = forms.DateField(
        label=_("Resume on (optional; empty: now)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class CancelReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you cancelling?"),
        choices=[],
        error_messages={"invalid_choice": _("Choose one of the reasons listed.")},
    )
    comment = forms.CharField(
        label=_("Anything else you want to tell us? (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[_no_nul],
    )
    when = forms.ChoiceField(
        label=_("When"),
        choices=[
            ("period_end", _("At the end of the current period")),
            ("now", _("Now")),
        ],
        initial="period_end",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The merchant's own list, worded as this page is (the label shown is
        # the one the cancellation keeps).
        reasons = cancel_reasons_of(tenant, get_language())
        self.fields["reason"].choices = [(r.code, r.label) for r in reasons]  # type: ignore[attr-defined]


class PortalPaymentMethodForm(SubscriptionPaymentMethodForm):
    """The subscriber's wording of the card paying a subscription; no ids shown."""

    field_label = _("Pays this subscription")
    default_label = _("My default payment method")
    show_ids = False
