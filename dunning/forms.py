"""Dashboard forms for a dunning policy: its settings and its steps (a formset)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dunning.models import Action


class PolicyForm(forms.Form):
    run_hour = forms.IntegerField(
        label=_("Local hour the steps run"),
        min_value=0,
        max_value=23,
        help_text=_("In your account's time zone, 0 to 23."),
    )
    smart_retry = forms.BooleanField(
        label=_("Smart retries"),
        required=False,
        help_text=_(
            "Cards only: retry at the hour and weekday your payment history shows the best "
            "success rate (the fixed schedule while history is thin)."
        ),
    )
    active = forms.BooleanField(label=_("Active"), required=False)


class StepForm(forms.Form):
    offset_days = forms.IntegerField(
        label=_("Day (relative to the due date)"), min_value=-60, max_value=180
    )
    action = forms.ChoiceField(label=_("Action"), choices=Action.choices)
    email = forms.BooleanField(label=_("Email"), required=False)
    sms = forms.BooleanField(label=_("SMS"), required=False)
    template = forms.CharField(label=_("Template"), max_length=64, required=False)

    def as_step(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "offset_days": data["offset_days"],
            "action": data["action"],
            "channels": [c for c in ("email", "sms") if data.get(c)],
            "template": data.get("template", "").strip(),
        }


StepFormSet = forms.formset_factory(StepForm, extra=2, can_delete=True, max_num=30)


def step_initial(step: Any) -> dict[str, Any]:
    return {
        "offset_days": step.offset_days,
        "action": step.action,
        "email": "email" in step.channels,
        "sms": "sms" in step.channels,
        "template": step.template,
    }
