"""Forms of the readjustment (reajuste) pages: series, values, CSV, policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from subscriptions.models import IndexSeries, ReadjustmentPolicy
from subscriptions.services.readjustment import MAX_NOTICE_DAYS, parse_month

MAX_CSV_BYTES = 200_000
MONTHS = [(str(m), date(2000, m, 1).strftime("%m")) for m in range(1, 13)]


def _percent(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(-50),
        max_value=Decimal(100),
        localize=True,
        help_text=help_text,
    )


class IndexSeriesForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Index"), choices=IndexSeries.Kind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)


class IndexValueForm(forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Month"),
        max_length=7,
        help_text=gettext_lazy("YYYY-MM, e.g. 2023-01"),
        widget=forms.TextInput(attrs={"placeholder": "2023-01", "inputmode": "numeric"}),
    )
    rate = forms.DecimalField(
        label=gettext_lazy("Rate (%)"),
        max_digits=9,
        decimal_places=4,
        min_value=Decimal(-50),
        max_value=Decimal(100),
        localize=True,
        help_text=gettext_lazy("The month's change in percent; negative months are allowed."),
    )

    def clean_month(self) -> date:
        try:
            return parse_month(self.cleaned_data["month"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class IndexCsvForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "One month a line: month (YYYY-MM) and rate in percent, separated by a comma "
            "or a semicolon; a header line is allowed. One bad line and nothing is imported."
        ),
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(gettext_lazy("The file is too large (200 KB at most)."))
        raw = upload.read()
        try:
            return str(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            return str(raw.decode("latin-1"))


class PolicyForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("Plan"))
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        choices=ReadjustmentPolicy.Method.choices,
        widget=forms.RadioSelect,
        initial=ReadjustmentPolicy.Method.INDEX,
    )
    series = forms.ChoiceField(label=gettext_lazy("Index"), required=False)
    fixed_percent = _percent(gettext_lazy("Fixed percentage"))
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=ReadjustmentPolicy.Period.choices,
        initial=ReadjustmentPolicy.Period.ANNIVERSARY,
    )
    month = forms.TypedChoiceField(
        label=gettext_lazy("Month (fixed month)"),
        choices=[("", "—"), *MONTHS],
        coerce=int,
        empty_value=None,
        required=False,
    )
    floor_percent = _percent(
        gettext_lazy("Floor (%)"),
        help_text=gettext_lazy("0 keeps a negative year from lowering prices."),
    )
    cap_percent = _percent(gettext_lazy("Cap (%)"))
    notice_days = forms.IntegerField(
        label=gettext_lazy("Days of notice"), min_value=0, max_value=MAX_NOTICE_DAYS, initial=30
    )
    automatic = forms.BooleanField(
        label=gettext_lazy("Apply automatically (the notice goes out on its day)"),
        required=False,
        initial=True,
    )
    # Left out (an older form, a script): the recurring fee only, as before.
    applies_to = forms.TypedChoiceField(
        label=gettext_lazy("Applies to"),
        choices=ReadjustmentPolicy.AppliesTo.choices,
        widget=forms.RadioSelect,
        required=False,
        empty_value=ReadjustmentPolicy.AppliesTo.RECURRING,
        initial=ReadjustmentPolicy.AppliesTo.RECURRING,
        help_text=gettext_lazy(
            "With add-ons, each contract's add-ons are readjusted by the same factor; "
            "an add-on added after the notice keeps its price until the next readjustment."
        ),
    )

    def __init__(
        self, *args: Any, plans: list[tuple[str, str]], series: list[tuple[str, str]], **kw: Any
    ):
        super().__init__(*args, **kw)
        self.fields["plan"].choices = plans  # type: ignore[attr-defined]
        self.fields["series"].choices = [("", "—"), *series]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        floor, cap = data.get("floor_percent"), data.get("cap_percent")
        if floor is not None and cap is not None and cap < floor:
            self.add_error("cap_percent", gettext_lazy("The cap cannot be below the floor."))
        if data.get("method") == ReadjustmentPolicy.Method.INDEX and not data.get("series"):
            self.add_error("series", gettext_lazy("Choose the index series."))
        if (
            data.get("method") == ReadjustmentPolicy.Method.FIXED
            and data.get("fixed_percent") is None
        ):
            self.add_error("fixed_percent", gettext_lazy("Give a percentage."))
        if data.get("period") == ReadjustmentPolicy.Period.FIXED_MONTH and not data.get("month"):
            self.add_error("month", gettext_lazy("Choose a month from 1 to 12."))
        return data
