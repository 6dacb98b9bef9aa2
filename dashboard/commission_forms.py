"""The dashboard's forms for sellers' commissions: the rule and the statement period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from billing import commissions
from billing.models import CommissionKind
from core.errors import ValidationFailed
from dashboard.amounts import parse_money


class SellerCommissionForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Commission"), choices=CommissionKind.choices)
    percent = forms.DecimalField(
        label=gettext_lazy("Percentage (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        localize=True,
        help_text=gettext_lazy("Of the payment without tax."),
    )
    amount = forms.CharField(label=gettext_lazy("Fixed amount"), required=False)
    months = forms.IntegerField(
        label=gettext_lazy("For how many months"),
        required=False,
        min_value=1,
        max_value=commissions.MAX_MONTHS,
    )

    def __init__(self, *args: Any, currency: str, **kw: Any):
        super().__init__(*args, **kw)
        self.currency = currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        kind = data.get("kind")
        amount_minor = None
        if kind == CommissionKind.FIXED:
            try:
                amount_minor = parse_money(
                    data.get("amount") or "",
                    self.currency,
                    positive=True,
                    maximum=commissions.MAX_FIXED_MINOR,
                )
            except forms.ValidationError as exc:
                self.add_error("amount", exc)
                return data
        try:
            data["rule"] = commissions.commission_rule_clean(
                kind=kind,
                percent=data.get("percent"),
                amount_minor=amount_minor,
                months=data.get("months"),
            )
        except ValidationFailed as exc:
            field = {"amount_minor": "amount"}.get(exc.param or "", exc.param or "")
            self.add_error(field if field in self.fields else None, exc.message)
        return data


class StatementPeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), localize=True)
    end = forms.DateField(label=gettext_lazy("To"), localize=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            commissions.statement_period(data["start"], data["end"])
        except ValidationFailed as exc:
            self.add_error("end", exc.message)
        return data
