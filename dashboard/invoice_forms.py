"""Forms for the invoices pages: filters, and the amounts staff type."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Invoice, PaymentAttempt, Refund
from customers.models import PaymentMethod
from dashboard.amounts import parse_money


class AmountForm(forms.Form):
    """An amount in the invoice's currency, at most ``limit_minor``, with a reason."""

    amount = forms.CharField(
        label=gettext_lazy("Amount"),
        max_length=40,
        # Text, not number: a browser's number field drops "12,50" typed in pt-BR.
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)

    def __init__(self, *args: Any, currency: str, limit_minor: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.limit_minor = limit_minor

    def clean_amount(self) -> int:
        minor = parse_money(self.cleaned_data["amount"], self.currency, positive=True)
        if minor > self.limit_minor:
            raise forms.ValidationError(_("That is more than can be given back."))
        return minor

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why."))
        return reason


class RefundForm(AmountForm):
    payment = forms.CharField(max_length=40, widget=forms.HiddenInput)


class MarkPaidForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500)

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("Say how it was paid."))
        return note


class SegundaViaForm(forms.Form):
    due_date = forms.DateField(
        label=gettext_lazy("New due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class InstallmentsForm(forms.Form):
    """Split an open invoice: the count (2..the plan's maximum), previewed first."""

    count = forms.TypedChoiceField(label=gettext_lazy("Installments"), coerce=int, choices=())
    # Set only by the preview's confirm button: without it nothing is written.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["count"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(n, str(n)) for n in range(2, limit + 1)]


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any")), *Invoice.Status.choices],
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Payment method"),
        required=False,
        choices=[("", gettext_lazy("Any")), *PaymentMethod.Kind.choices],
    )
    due_from = forms.DateField(
        label=gettext_lazy("Due from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    due_to = forms.DateField(
        label=gettext_lazy("Due until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)


class PaymentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any")), *PaymentAttempt.Status.choices],
    )


class RefundFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any")), *Refund.Status.choices],
    )


class EventFilterForm(forms.Form):
    type = forms.CharField(label=gettext_lazy("Type"), required=False, max_length=64)
