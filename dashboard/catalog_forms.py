"""Forms of the catalog pages: products, plans, coupons, tax rates, sellers.

Amounts are typed as money in the viewer's language (``29,90`` in pt-BR, ``29.90`` in
en) and become integer minor units exactly: parsed to a Decimal, never a float, and
refused when they carry more decimals than the currency has.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Coupon, Seller, TaxRate
from core import clock
from core.money import is_known_currency
from dashboard.amounts import minor_to_text, parse_money
from dashboard.templatetags.catalog_tags import rate_label
from subscriptions.domain.cycles import Interval
from subscriptions.models import Plan, Product

TIER_ROWS = 5
ENTITLEMENT_ROWS = 5


class ProductForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


def _currency(value: str) -> str:
    code = (value or "").strip().upper()
    if not is_known_currency(code):
        raise forms.ValidationError(_("Unknown currency: %(cur)s") % {"cur": value})
    return code


class EntitlementRowsForm(forms.Form):
    """A plan's entitlements typed as rows of name and value (new plans and edits)."""

    # Errors about the entitlement rows as a whole land here.
    entitlements = forms.CharField(required=False, widget=forms.HiddenInput)
    rows = ENTITLEMENT_ROWS

    def add_entitlement_fields(self, rows: int) -> None:
        self.rows = rows
        for i in range(rows):
            self.fields[f"ent_{i}_key"] = forms.CharField(
                required=False, max_length=64, label=_("Entitlement")
            )
            self.fields[f"ent_{i}_value"] = forms.CharField(
                required=False, max_length=200, label=_("Value")
            )

    def entitlement_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"ent_{i}_key"], self[f"ent_{i}_value"]) for i in range(self.rows)]

    def entitlement_map(self, data: dict[str, Any]) -> dict[str, Any]:
        """The rows as the plan stores them; a nameless or repeated row is an error."""
        entitlements: dict[str, Any] = {}
        for i in range(self.rows):
            key = (data.get(f"ent_{i}_key") or "").strip()
            value = (data.get(f"ent_{i}_value") or "").strip()
            if not key and not value:
                continue
            if not key:
                self.add_error(f"ent_{i}_key", _("Name this entitlement."))
                continue
            if key in entitlements:
                self.add_error(f"ent_{i}_key", _("This entitlement is listed twice."))
                continue
            entitlements[key] = _entitlement_value(value)
        return entitlements


class PlanForm(EntitlementRowsForm):
    product = forms.ChoiceField(label=gettext_lazy("Product"))
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    code = forms.SlugField(
        label=gettext_lazy("Code"),
        max_length=64,
        help_text=gettext_lazy("Letters, digits and hyphens; the API and coupons use it."),
    )
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3)
    pricing_model = forms.ChoiceField(
        label=gettext_lazy("Pricing model"), choices=Plan.PricingModel.choices
    )
    amount = forms.CharField(
        label=gettext_lazy("Price"),
        help_text=gettext_lazy("Per period; per seat for per-seat pricing. 0 for tiered plans."),
    )
    interval = forms.ChoiceField(
        label=gettext_lazy("Billed every"),
        choices=[
            (Interval.DAY, gettext_lazy("day")),
            (Interval.WEEK, gettext_lazy("week")),
            (Interval.MONTH, gettext_lazy("month")),
            (Interval.YEAR, gettext_lazy("year")),
        ],
        initial=Interval.MONTH,
    )
    interval_count = forms.IntegerField(
        label=gettext_lazy("Number of intervals"), min_value=1, max_value=365, initial=1
    )
    trial_days = forms.IntegerField(
        label=gettext_lazy("Trial days"), min_value=0, max_value=730, initial=0
    )
    setup_fee = forms.CharField(
        label=gettext_lazy("Setup fee"), required=False, help_text=gettext_lazy("Charged once.")
    )
    term_cycles = forms.IntegerField(
        label=gettext_lazy("Fixed term (cycles)"),
        min_value=1,
        max_value=1200,
        required=False,
        help_text=gettext_lazy("Empty: no fixed term."),
    )
    term_notice_days = forms.IntegerField(
        label=gettext_lazy("Notice before the term ends (days)"),
        min_value=0,
        max_value=365,
        initial=30,
    )
    intro_amount = forms.CharField(
        label=gettext_lazy("Intro price"),
        required=False,
        help_text=gettext_lazy(
            "An introductory phase: this price for the first cycles, then the price above. "
            "Empty: none."
        ),
    )
    intro_cycles = forms.IntegerField(
        label=gettext_lazy("Intro cycles"),
        min_value=0,
        max_value=1200,
        required=False,
        help_text=gettext_lazy("How many paid cycles the intro price lasts (a trial is none)."),
    )
    max_pauses = forms.IntegerField(
        label=gettext_lazy("Pauses allowed"), min_value=0, max_value=100, initial=0
    )
    max_pause_cycles = forms.IntegerField(
        label=gettext_lazy("Longest pause (cycles)"), min_value=0, max_value=120, initial=0
    )
    max_installments = forms.IntegerField(
        label=gettext_lazy("Installments allowed"), min_value=1, max_value=24, initial=1
    )
    billing_timing = forms.ChoiceField(
        label=gettext_lazy("Billing timing"),
        choices=Plan.BillingTiming.choices,
        required=False,  # empty: in advance on a new plan, unchanged on an edit
        initial=Plan.BillingTiming.IN_ADVANCE,
        help_text=gettext_lazy(
            "In arrears: each period is invoiced at its end, for what was used."
        ),
    )
    ships_goods = forms.BooleanField(
        label=gettext_lazy("Ships goods (a box each paid period)"), required=False
    )
    box_items = forms.CharField(
        label=gettext_lazy("Box contents (one item per line)"),
        required=False,
        max_length=2000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tax_rate = forms.ChoiceField(label=gettext_lazy("Tax rate"), required=False)
    # Errors about the tier rows as a whole land here.
    tiers = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, products: list[Product], tax_rates: list[TaxRate], **kw: Any):
        super().__init__(*args, **kw)
        field = cast(forms.ChoiceField, self.fields["product"])
        field.choices = [(p.public_id, p.name) for p in products]
        rates = cast(forms.ChoiceField, self.fields["tax_rate"])
        rates.choices = [("", _("No tax"))] + [(r.public_id, rate_label(r)) for r in tax_rates]
        for i in range(TIER_ROWS):
            self.fields[f"tier_{i}_up_to"] = forms.IntegerField(
                required=False, min_value=1, max_value=10**9, label=_("Up to (seats)")
            )
            self.fields[f"tier_{i}_unit"] = forms.CharField(required=False, label=_("Per seat"))
            self.fields[f"tier_{i}_flat"] = forms.CharField(required=False, label=_("Flat fee"))
        self.add_entitlement_fields(ENTITLEMENT_ROWS)

    def tier_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"tier_{i}_up_to"], self[f"tier_{i}_unit"], self[f"tier_{i}_flat"])
            for i in range(TIER_ROWS)
        ]

    def clean_currency(self) -> str:
        return _currency(self.cleaned_data["currency"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = data.get("currency")
        if not currency:
            return data
        text = (self.data.get("intro_amount") or "").strip()
        data["intro_amount_minor"] = None
        if text:
            try:
                data["intro_amount_minor"] = parse_money(text, currency)
            except forms.ValidationError as exc:
                self.add_error("intro_amount", exc)
        data["intro_cycles"] = data.get("intro_cycles") or 0
        for name, required in (("amount", True), ("setup_fee", False)):
            text = (self.data.get(name) or "").strip()
            if not text and not required:
                data[f"{name}_minor"] = 0
                continue
            try:
                data[f"{name}_minor"] = parse_money(text, currency)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        tiers = []
        for i in range(TIER_ROWS):
            up_to = data.get(f"tier_{i}_up_to")
            unit, flat = (self.data.get(f"tier_{i}_{k}", "").strip() for k in ("unit", "flat"))
            if up_to is None and not unit and not flat:
                continue
            row: dict[str, Any] = {"up_to": up_to}
            for key, text in (("unit_amount_minor", unit), ("flat_amount_minor", flat)):
                field = f"tier_{i}_{'unit' if key.startswith('unit') else 'flat'}"
                try:
                    row[key] = parse_money(text, currency) if text else 0
                except forms.ValidationError as exc:
                    self.add_error(field, exc)
            tiers.append(row)
        data["tier_list"] = tiers
        data["entitlement_map"] = self.entitlement_map(data)
        return data


def _entitlement_value(text: str) -> Any:
    """``true``/``false`` and whole numbers are kept as such, so an app can
    compare them; anything else is text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    return text


class PlanEditForm(EntitlementRowsForm):
    """What a plan changes in place (never its price: that is a new version)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    trial_days = forms.IntegerField(label=gettext_lazy("Trial days"), min_value=0, max_value=730)
    max_pauses = forms.IntegerField(
        label=gettext_lazy("Pauses allowed"), min_value=0, max_value=100
    )
    max_pause_cycles = forms.IntegerField(
        label=gettext_lazy("Longest pause (cycles)"), min_value=0, max_value=120
    )
    max_installments = forms.IntegerField(
        label=gettext_lazy("Installments allowed"), min_value=1, max_value=24
    )
    billing_timing = forms.ChoiceField(
        label=gettext_lazy("Billing timing"),
        choices=Plan.BillingTiming.choices,
        required=False,  # empty: in advance on a new plan, unchanged on an edit
        help_text=gettext_lazy("Changes only while the plan has no subscribers or invoices."),
    )
    ships_goods = forms.BooleanField(
        label=gettext_lazy("Ships goods (a box each paid period)"), required=False
    )
    box_items = forms.CharField(
        label=gettext_lazy("Box contents (one item per line)"),
        required=False,
        max_length=2000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tax_rate = forms.ChoiceField(label=gettext_lazy("Tax rate"), required=False)

    def __init__(
        self, *args: Any, tax_rates: list[TaxRate], rows: int = ENTITLEMENT_ROWS, **kw: Any
    ):
        super().__init__(*args, **kw)
        # A row per entitlement the plan has and one empty, so none is dropped.
        rates = cast(forms.ChoiceField, self.fields["tax_rate"])
        rates.choices = [("", _("No tax"))] + [(r.public_id, rate_label(r)) for r in tax_rates]
        self.add_entitlement_fields(max(ENTITLEMENT_ROWS, rows))

    @staticmethod
    def initial_for(plan: Plan) -> dict[str, Any]:
        initial: dict[str, Any] = {
            field: getattr(plan, field)
            for field in ("name", "trial_days", "max_pauses", "max_pause_cycles")
        }
        initial["max_installments"] = plan.max_installments
        initial["ships_goods"] = plan.ships_goods
        initial["box_items"] = plan.box_items
        initial["billing_timing"] = plan.billing_timing
        initial["tax_rate"] = plan.tax_rate.public_id if plan.tax_rate else ""
        for i, (key, value) in enumerate(plan.entitlements.items()):
            initial[f"ent_{i}_key"] = key
            initial[f"ent_{i}_value"] = str(value).lower() if isinstance(value, bool) else value
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["entitlement_map"] = self.entitlement_map(data)
        return data


class PlanPriceForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("New price"))
    setup_fee = forms.CharField(
        label=gettext_lazy("New setup fee"),
        required=False,
        help_text=gettext_lazy("Empty: keep the current setup fee."),
    )

    def __init__(self, *args: Any, currency: str, **kw: Any):
        super().__init__(*args, **kw)
        self.currency = currency

    def clean_amount(self) -> int:
        return parse_money(self.cleaned_data["amount"], self.currency)

    def clean_setup_fee(self) -> int | None:
        text = (self.cleaned_data.get("setup_fee") or "").strip()
        return parse_money(text, self.currency) if text else None


def _end_of_day(day: date) -> datetime:
    """A coupon's last valid day as stored: the first instant after it, in the
    tenant's time zone (the request's current one)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class CouponRulesForm(forms.Form):
    """Who may redeem a coupon and until when: set at creation, editable after."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    max_redemptions = forms.IntegerField(
        label=gettext_lazy("Maximum redemptions"),
        required=False,
        min_value=1,
        max_value=10**9,
        help_text=gettext_lazy("Empty: unlimited."),
    )
    redeem_by = forms.DateField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text=gettext_lazy("The last day it can be redeemed. Empty: no expiry."),
    )
    plan_codes = forms.MultipleChoiceField(
        label=gettext_lazy("Only for these plans"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every plan."),
    )
    first_purchase_only = forms.BooleanField(
        label=gettext_lazy("Only on a customer's first purchase"), required=False
    )


class CouponForm(CouponRulesForm):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)
    kind = forms.ChoiceField(
        label=gettext_lazy("Discount"),
        choices=[("percent", gettext_lazy("A percentage")), ("amount", gettext_lazy("An amount"))],
        widget=forms.RadioSelect,
        initial="percent",
    )
    percent_off = forms.DecimalField(
        label=gettext_lazy("Percent off"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        localize=True,
    )
    amount_off = forms.CharField(label=gettext_lazy("Amount off"), required=False)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, required=False)
    applies_to = forms.ChoiceField(
        label=gettext_lazy("Applies to"), choices=Coupon.AppliesTo.choices
    )
    setup_percent_off = forms.DecimalField(
        label=gettext_lazy("Percent off the setup fee"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        localize=True,
        help_text=gettext_lazy("Empty: the same percentage as the recurring fee."),
    )
    duration = forms.ChoiceField(label=gettext_lazy("Duration"), choices=Coupon.Duration.choices)
    duration_cycles = forms.IntegerField(
        label=gettext_lazy("Number of cycles"),
        required=False,
        min_value=1,
        max_value=120,
        help_text=gettext_lazy("Only for a coupon that lasts a number of cycles."),
    )
    seller = forms.ChoiceField(label=gettext_lazy("Seller"), required=False)

    def __init__(
        self, *args: Any, plan_codes: list[str], sellers: list[Seller], currency: str, **kw: Any
    ):
        super().__init__(*args, **kw)
        cast(forms.MultipleChoiceField, self.fields["plan_codes"]).choices = [
            (c, c) for c in plan_codes
        ]
        cast(forms.ChoiceField, self.fields["seller"]).choices = [("", _("No seller"))] + [
            (s.public_id, s.name) for s in sellers
        ]
        self.fields["currency"].initial = currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "amount":
            data["percent_off"] = None
            try:
                currency = _currency(data.get("currency") or "")
            except forms.ValidationError as exc:
                self.add_error("currency", exc)
                return data
            data["currency"] = currency
            try:
                data["amount_off_minor"] = parse_money(self.data.get("amount_off", ""), currency)
            except forms.ValidationError as exc:
                self.add_error("amount_off", exc)
        elif data.get("kind") == "percent":
            data["amount_off_minor"] = None
            if data.get("percent_off") is None and "percent_off" not in self.errors:
                self.add_error("percent_off", _("Enter the percentage."))
        repeating = data.get("duration") == Coupon.Duration.REPEATING
        cycles = data.get("duration_cycles")
        if repeating and cycles is None and "duration_cycles" not in self.errors:
            self.add_error("duration_cycles", _("Enter the number of cycles."))
        redeem_by = data.get("redeem_by")
        if redeem_by is not None:
            data["redeem_by_at"] = _end_of_day(redeem_by)
            if data["redeem_by_at"] <= clock.now():
                self.add_error("redeem_by", _("That day has passed."))
        else:
            data["redeem_by_at"] = None
        return data


class TaxRateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=300, required=False)
    percent = forms.DecimalField(
        label=gettext_lazy("Rate (%)"),
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        localize=True,
    )
    inclusive = forms.BooleanField(
        label=gettext_lazy("Included in the price"),
        required=False,
        help_text=gettext_lazy(
            "Ticked: prices already contain the tax. Unticked: it is added on top. "
            "Once an invoice used the rate, its rate and this choice are fixed: "
            "create a new tax rate to charge another."
        ),
    )


class SellerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)


class SellerCapForm(forms.Form):
    plan_code = forms.ChoiceField(label=gettext_lazy("Plan"))
    max_percent = forms.DecimalField(
        label=gettext_lazy("Maximum discount (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        localize=True,
        help_text=gettext_lazy("Empty: remove the cap (the seller's coupons stop applying)."),
    )

    def __init__(self, *args: Any, plan_codes: list[str], **kw: Any):
        super().__init__(*args, **kw)
        cast(forms.ChoiceField, self.fields["plan_code"]).choices = [(c, c) for c in plan_codes]


class CouponEditForm(CouponRulesForm):
    """Who may still redeem a coupon and until when; its discount never changes."""

    def __init__(self, *args: Any, coupon: Coupon, plan_codes: list[str], **kw: Any):
        self.coupon = coupon
        redeem_by = coupon.redeem_by
        kw.setdefault(
            "initial",
            {
                "name": coupon.name,
                "max_redemptions": coupon.max_redemptions,
                # Stored as the first instant after the last valid day.
                "redeem_by": (
                    timezone.localtime(redeem_by).date() - timedelta(days=1) if redeem_by else None
                ),
                "plan_codes": coupon.plan_codes,
                "first_purchase_only": coupon.first_purchase_only,
            },
        )
        super().__init__(*args, **kw)
        # A code the coupon names stays listed, even if no plan has it any more.
        codes = sorted(set(plan_codes) | set(coupon.plan_codes))
        cast(forms.MultipleChoiceField, self.fields["plan_codes"]).choices = [(c, c) for c in codes]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        redeem_by = data.get("redeem_by")
        if redeem_by is None:
            data["redeem_by_at"] = None
            return data
        data["redeem_by_at"] = _end_of_day(redeem_by)
        # Keeping a day that passed is fine; moving it to a past day is not.
        if data["redeem_by_at"] != self.coupon.redeem_by and data["redeem_by_at"] <= clock.now():
            self.add_error("redeem_by", _("That day has passed."))
        return data


class CouponDiscountForm(CouponForm):
    """The discount of a coupon nobody redeemed yet (CouponForm's discount fields)."""

    RULES = ("code", "name", "max_redemptions", "redeem_by", "plan_codes")
    RULES_MORE = ("first_purchase_only", "seller")

    def __init__(self, *args: Any, coupon: Coupon, currency: str = "", **kw: Any):
        """``currency``: the account's, offered for an amount off."""
        kw.setdefault(
            "initial",
            {
                "kind": "amount" if coupon.amount_off_minor is not None else "percent",
                "percent_off": coupon.percent_off,
                "amount_off": (
                    minor_to_text(coupon.amount_off_minor, coupon.currency)
                    if coupon.amount_off_minor is not None
                    else ""
                ),
                "applies_to": coupon.applies_to,
                "setup_percent_off": coupon.setup_percent_off,
                "duration": coupon.duration,
                "duration_cycles": coupon.duration_cycles,
            },
        )
        if coupon.currency:
            kw["initial"].setdefault("currency", coupon.currency)
        super().__init__(*args, plan_codes=[], sellers=[], currency=currency or "BRL", **kw)
        for name in (*self.RULES, *self.RULES_MORE):
            del self.fields[name]
