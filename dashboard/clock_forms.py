"""Forms of the test clock pages: shapes and bounds; the services check the rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.get_fixed_timezone(0))
# A clock starts at most this far ahead of today.
AHEAD = timedelta(days=366 * 10)
_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _when_field(label: Any, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=_FORMATS,
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
        help_text=_("In the account's time zone."),
    )


class ClockCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    frozen_time = _when_field(_("Starts at"))

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if "\x00" in name:
            raise forms.ValidationError(_("The name cannot hold a NUL character."))
        return name.strip()

    def clean_frozen_time(self) -> datetime:
        when: datetime = self.cleaned_data["frozen_time"]
        if when < EARLIEST:
            raise forms.ValidationError(_("Pick a time from the year 2000 on."))
        if when > self.now + AHEAD:
            raise forms.ValidationError(_("Pick a time at most 10 years from today."))
        return when


class ClockAdvanceForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Advance"),
        choices=[("day", _("By a day")), ("month", _("By a month")), ("date", _("To a date"))],
        initial="month",
    )
    to = _when_field(pgettext_lazy("date range", "To"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("by") == "date" and not data.get("to") and "to" not in self.errors:
            self.add_error("to", _("Pick the date to advance to."))
        return data
