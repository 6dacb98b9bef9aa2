"""Forms of the subscription pages: they check types and tenant scope; the
services check the business rules (their errors come back next to the field)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from billing.forms import SubscriptionPaymentMethodForm
from core.money import Money
from subscriptions.models import Plan, Subscription, SubscriptionStatus
from subscriptions.services import AnchorChoice, PauseUnused, ProrationBehavior
from subscriptions.services import items as item_rules
from tenants.cancel_reasons import cancel_reasons_of
from tenants.models import Tenant

COLLECTION_METHODS = [
    ("", _("Any")),
    ("charge_automatically", _("Charge automatically")),
    ("send_invoice", _("Send invoice")),
]


class _PlanChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} v{obj.version} ({obj.code})"


class SubscriptionFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *SubscriptionStatus.choices],
    )
    plan = forms.CharField(label=_("Plan"), required=False, max_length=64)
    collection_method = forms.ChoiceField(
        label=_("Collection"), required=False, choices=COLLECTION_METHODS
    )
    renews_from = forms.DateField(
        label=_("Renews from"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    renews_to = forms.DateField(
        label=_("Renews until"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One choice per plan code (all its price versions), its latest name.
        codes = dict(
            Plan.objects.for_tenant(tenant).order_by("code", "version").values_list("code", "name")
        )
        self.fields["plan"] = forms.ChoiceField(
            label=_("Plan"), required=False, choices=[("", _("Any plan")), *codes.items()]
        )


class ChangeForm(forms.Form):
    plan = _PlanChoice(label=_("Plan"), queryset=None, to_field_name="public_id")
    quantity = forms.IntegerField(label=_("Quantity"))
    when = forms.ChoiceField(
        label=_("When"),
        choices=[("now", _("Now")), ("period_end", _("At the end of the period"))],
        initial="now",
    )
    proration = forms.ChoiceField(
        label=_("Proration"),
        choices=[
            (ProrationBehavior.NEXT_INVOICE, _("Add to the next invoice")),
            (ProrationBehavior.INVOICE_NOW, _("Invoice now")),
            (ProrationBehavior.NONE, _("Do not prorate")),
        ],
        initial=ProrationBehavior.NEXT_INVOICE,
    )
    anchor = forms.ChoiceField(
        label=_("Billing anchor (on a change of interval)"),
        choices=[
            ("", _("The account's default")),
            (AnchorChoice.RESET, _("Reset to today")),
            (AnchorChoice.KEEP, _("Keep its day (the first period prorated)")),
        ],
        required=False,
    )

    def __init__(self, *args: Any, subscription: Subscription, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {"plan": subscription.plan.public_id, "quantity": subscription.quantity},
        )
        super().__init__(*args, **kwargs)
        # Only this tenant's plans sold in the subscription's currency: any other id
        # is "not a valid choice".
        self.fields["plan"].queryset = (  # type: ignore[attr-defined]
            Plan.objects.filter(
                tenant_id=subscription.tenant_id,
                active=True,
                currency=subscription.plan.currency,
            )
            .select_related("product")
            .order_by("code", "-version")
        )


class PauseForm(forms.Form):
    when = forms.ChoiceField(
        label=_("When"),
        choices=[
            ("period_end", _("From the end of the period")),
            ("now", _("Now, in the middle of the period")),
        ],
        initial="period_end",
        required=False,
    )
    cycles = forms.IntegerField(
        label=_("Billing periods to skip"),
        initial=1,
        required=False,
        help_text=_("From the end of the period."),
    )
    resume_on = forms.DateField(
        label=_("Resume on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Pausing now: empty means the plan's longest pause."),
    )
    unused = forms.ChoiceField(
        label=_("Paid time left"),
        choices=[
            ("", _("The account's default")),
            (PauseUnused.CREDIT, _("Credit it to the customer")),
            (PauseUnused.CARRY, _("Carry the paid-through date past the pause")),
        ],
        required=False,
        help_text=_("Pausing now."),
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


class ResumeForm(forms.Form):
    resume_on = forms.DateField(
        label=_("Resume on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: now."),
    )


class CancelForm(forms.Form):
    when = forms.ChoiceField(
        label=_("When"),
        choices=[
            ("period_end", _("At the end of the period")),
            ("now", _("Now")),
        ],
        initial="period_end",
    )
    credit = forms.BooleanField(label=_("Credit the unused time"), required=False)
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        error_messages={"invalid_choice": _("Choose one of the reasons listed.")},
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The account's own list (Settings), as the portal offers it; optional here.
        reasons = cancel_reasons_of(tenant, get_language())
        self.fields["reason"].choices = [  # type: ignore[attr-defined]
            ("", _("No reason given")),
            *((r.code, r.label) for r in reasons),
        ]


class PaymentMethodForm(SubscriptionPaymentMethodForm):
    """The staff wording of the card paying a subscription."""


# -- add-on items (issue 16 item 4) ---------------------------------------------------

ITEM_PRORATION_CHOICES = [
    (ProrationBehavior.INVOICE_NOW, _("Invoice now")),
    (ProrationBehavior.NEXT_INVOICE, _("Add to the next invoice")),
    (ProrationBehavior.NONE, _("Do not prorate")),
]


def _item_quantity() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Quantity"),
        initial=1,
        min_value=1,
        max_value=item_rules.MAX_QUANTITY,
        error_messages={
            "min_value": _("The quantity is at least 1; to stop billing an add-on, remove it."),
            "max_value": _("The quantity is at most 1,000,000."),
        },
    )


def _item_proration() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Proration"),
        choices=ITEM_PRORATION_CHOICES,
        initial=ProrationBehavior.INVOICE_NOW,
        help_text=_("The rest of the current period, prorated."),
    )


def addon_plans(subscription: Subscription) -> QuerySet[Plan]:
    """The plans that may be added to ``subscription``: the tenant's, sold, of the
    base plan's currency and billing interval, billed in advance, not the base
    plan's code, not on it already. The service checks the same again."""
    base = subscription.plan
    live = [i.plan.code for i in getattr(subscription, "live_items", ())]
    return (
        Plan.objects.filter(
            tenant_id=subscription.tenant_id,
            active=True,
            currency=base.currency,
            interval=base.interval,
            interval_count=base.interval_count,
            billing_timing=Plan.BillingTiming.IN_ADVANCE,
        )
        .exclude(code__in=[base.code, *live])
        .select_related("product")
        .order_by("code", "-version")
    )


class _AddonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        """ "Support (support) — R$46.50", "Storage (storage) — R$31.00 a seat"."""
        if obj.pricing_model not in (Plan.PricingModel.FLAT, Plan.PricingModel.PER_SEAT):
            return f"{obj.name} ({obj.code})"
        price = Money(obj.amount_minor, obj.currency).format(get_language() or "en")
        if obj.pricing_model == Plan.PricingModel.PER_SEAT:
            price = _("%(price)s a seat") % {"price": price}
        return f"{obj.name} ({obj.code}) — {price}"


class ItemAddForm(forms.Form):
    plan = _AddonChoice(
        label=_("Add-on plan"),
        queryset=None,
        to_field_name="public_id",
        empty_label=_("Choose a plan"),
        error_messages={
            "invalid_choice": _("Choose one of the plans listed."),
        },
    )
    quantity = _item_quantity()
    proration = _item_proration()

    def __init__(self, *args: Any, subscription: Subscription, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Another tenant's plan, or one that cannot be an add-on here, is "not a valid choice".
        self.fields["plan"].queryset = addon_plans(subscription)  # type: ignore[attr-defined]


class ItemQuantityForm(forms.Form):
    quantity = _item_quantity()
    proration = _item_proration()


class ItemRemoveForm(forms.Form):
    proration = forms.ChoiceField(
        label=_("Unused time"),
        choices=[
            (ProrationBehavior.INVOICE_NOW, _("Credit it now")),
            (ProrationBehavior.NEXT_INVOICE, _("Credit it on the next invoice")),
            (ProrationBehavior.NONE, _("Do not credit it")),
        ],
        initial=ProrationBehavior.INVOICE_NOW,
    )
