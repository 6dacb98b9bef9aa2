"""The catalog (products, plans, coupons) and subscriptions over the REST API.

Subscription writes run at the customer's time: their test clock's frozen time
when they live on one, else now.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing import coupons as billing_coupons
from billing import discounts as billing_discounts
from billing import items as billing_items
from billing import retention as billing_retention
from billing import subscriptions as billing_subs
from billing.discounts_api import DiscountApplySerializer, DiscountSerializer, discount_data
from billing.models import Coupon, TaxRate
from billing.selectors import coupon_list, now_for
from core import clock
from core.api import (
    ApiViewSet,
    InstantField,
    ListFilter,
    ObjectField,
    PublicIdOf,
    Ref,
    StrictSerializer,
    input_of,
)
from core.errors import NotFound, ValidationFailed
from customers.models import PaymentMethod
from customers.selectors import customer_list
from subscriptions import services
from subscriptions.domain.cycles import Interval
from subscriptions.models import (
    Plan,
    Product,
    Subscription,
    SubscriptionItem,
    SubscriptionStatus,
)
from subscriptions.readjustment_api import ReadjustmentSerializer
from subscriptions.selectors import plan_list, product_list, subscription_list

MAX_AMOUNT = services.MAX_AMOUNT_MINOR


def _id_param(what: str, prefix: str) -> OpenApiParameter:
    return OpenApiParameter(
        "id", str, OpenApiParameter.PATH, description=f"The {what}'s id, {prefix}_…"
    )


def _amount(help_text: str, **kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0, max_value=MAX_AMOUNT, help_text=help_text, **kwargs
    )


# --- products ----------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="prod_…")
    object = ObjectField("product")
    name = serializers.CharField(help_text="The product's name.")
    description = serializers.CharField(help_text="A longer description, or empty.")
    active = serializers.BooleanField(help_text="Whether it is sold.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = Product
        fields = ["id", "object", "name", "description", "active", "created"]
        read_only_fields = fields


class ProductCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, help_text="The product's name.")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default="", help_text="Description."
    )


@extend_schema_view(
    list=extend_schema(summary="List products", responses=ProductSerializer),
    retrieve=extend_schema(summary="Retrieve a product", parameters=[_id_param("product", "prod")]),
    create=extend_schema(
        summary="Create a product",
        request=ProductCreateSerializer,
        responses={201: ProductSerializer},
    ),
)
class ProductViewSet(ApiViewSet):
    serializer_class = ProductSerializer
    object_name = "product"
    list_filters = (ListFilter("active", "active", "Only active (true) or inactive.", "boolean"),)

    def get_queryset(self) -> QuerySet[Product]:
        return product_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ProductSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(ProductSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(ProductCreateSerializer, request)
        product = services.product_create(
            tenant=self.tenant, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(ProductSerializer, product, status=201)


# --- plans -------------------------------------------------------------------------------


class TierSerializer(StrictSerializer):
    up_to = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000,
        allow_null=True,
        help_text="The tier's last seat; null for the last tier (no upper bound).",
    )
    unit_amount_minor = _amount("Price per seat in this tier.", required=False, default=0)
    flat_amount_minor = _amount("Flat price of this tier.", required=False, default=0)


class PlanSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="plan_…")
    object = ObjectField("plan")
    product = PublicIdOf("product.public_id", help_text="The product (prod_…).")
    code = serializers.CharField(help_text="Your code for the plan; versions share it.")
    version = serializers.IntegerField(help_text="Version: a price change makes a new one.")
    name = serializers.CharField(help_text="The plan's name.")
    currency = serializers.CharField(help_text="ISO 4217 currency, e.g. BRL.")
    amount_minor = serializers.IntegerField(help_text="Price per period, in minor units.")
    pricing_model = serializers.ChoiceField(
        choices=Plan.PricingModel.choices, help_text="flat, per_seat, graduated or volume."
    )
    tiers = TierSerializer(many=True, help_text="Price tiers, for graduated and volume.")
    interval = serializers.CharField(help_text="day, week, month or year.")
    interval_count = serializers.IntegerField(help_text="Intervals per period.")
    trial_days = serializers.IntegerField(help_text="Default trial length in days.")
    setup_fee_minor = serializers.IntegerField(help_text="One-off setup fee (adesão).")
    term_cycles = serializers.IntegerField(
        allow_null=True, help_text="Minimum term in periods, or null."
    )
    term_notice_days = serializers.IntegerField(help_text="Days of notice before a term ends.")
    intro_amount_minor = serializers.IntegerField(
        allow_null=True,
        help_text="Introductory phase: the unit price of a subscription's first intro_cycles "
        "paid periods (then amount_minor), or null for none.",
    )
    intro_cycles = serializers.IntegerField(
        help_text="Paid periods the introductory price lasts (0: no phase; a trial is none)."
    )
    max_pauses = serializers.IntegerField(help_text="Pauses allowed per subscription.")
    max_pause_cycles = serializers.IntegerField(help_text="Longest pause, in periods.")
    max_installments = serializers.IntegerField(help_text="Most installments an invoice allows.")
    entitlements = serializers.DictField(help_text="Feature flags and limits the plan grants.")
    tax_rate = PublicIdOf("tax_rate.public_id", help_text="Tax rate (txr_…), or null.")
    ships_goods = serializers.BooleanField(
        help_text="A physical plan: each paid period makes a fulfilment order."
    )
    box_items = serializers.CharField(help_text="What each box holds, one item per line.")
    billing_timing = serializers.ChoiceField(
        choices=Plan.BillingTiming.choices,
        help_text="in_advance: each period is invoiced at its start; in_arrears: at its end, "
        "for what was used.",
    )
    active = serializers.BooleanField(help_text="Whether new subscriptions may use it.")
    superseded_by = PublicIdOf(
        "superseded_by.public_id", help_text="The newer version replacing it, or null."
    )
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "object",
            "product",
            "code",
            "version",
            "name",
            "currency",
            "amount_minor",
            "pricing_model",
            "tiers",
            "interval",
            "interval_count",
            "trial_days",
            "setup_fee_minor",
            "term_cycles",
            "term_notice_days",
            "intro_amount_minor",
            "intro_cycles",
            "max_pauses",
            "max_pause_cycles",
            "max_installments",
            "entitlements",
            "tax_rate",
            "ships_goods",
            "box_items",
            "billing_timing",
            "active",
            "superseded_by",
            "created",
        ]
        read_only_fields = fields


def _entitlements(value: Any) -> None:
    if not isinstance(value, dict) or len(value) > 100:
        raise serializers.ValidationError("entitlements is an object of at most 100 keys.")
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 100 or "\x00" in key:
            raise serializers.ValidationError("Entitlement names are 1 to 100 characters.")
        ok = (
            item is None
            or isinstance(item, bool)
            or (isinstance(item, int) and abs(item) <= 10**15)
            or (isinstance(item, str) and len(item) <= 200 and "\x00" not in item)
        )
        if not ok:
            raise serializers.ValidationError(
                f"Entitlement {key}: a flag (true/false), a whole-number limit, null "
                "(unlimited) or a short string."
            )


class PlanCreateSerializer(StrictSerializer):
    product = Ref(queryset=lambda t: product_list(tenant=t), what="product", help_text="prod_…")
    code = serializers.SlugField(max_length=64, help_text="Your code for the plan (a slug).")
    name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Name shown to subscribers (defaults to the code).",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", help_text="ISO 4217 currency in capitals, e.g. BRL."
    )
    amount_minor = _amount("Price per period in minor units.")
    interval = serializers.ChoiceField(
        choices=[i.value for i in Interval], default="month", help_text="Billing interval."
    )
    interval_count = serializers.IntegerField(
        min_value=1, max_value=365, default=1, help_text="Intervals per period."
    )
    pricing_model = serializers.ChoiceField(
        choices=Plan.PricingModel.choices, default="flat", help_text="How seats are priced."
    )
    tiers = TierSerializer(many=True, required=False, help_text="Tiers (graduated, volume).")
    trial_days = serializers.IntegerField(min_value=0, max_value=730, default=0, help_text="Trial.")
    setup_fee_minor = _amount("One-off setup fee.", required=False, default=0)
    term_cycles = serializers.IntegerField(
        min_value=1, max_value=1200, required=False, allow_null=True, help_text="Minimum term."
    )
    term_notice_days = serializers.IntegerField(
        min_value=0, max_value=365, default=30, help_text="Notice before a term ends."
    )
    intro_amount_minor = _amount(
        "Introductory price per unit for the first intro_cycles paid periods (with "
        "intro_cycles), e.g. 990 for R$ 9,90 for 3 months; 0 for free periods.",
        required=False,
        allow_null=True,
        default=None,
    )
    intro_cycles = serializers.IntegerField(
        min_value=0,
        max_value=1200,
        default=0,
        help_text="How many paid periods the introductory price lasts; at most term_cycles.",
    )
    max_pauses = serializers.IntegerField(
        min_value=0, max_value=100, default=0, help_text="Pauses."
    )
    max_pause_cycles = serializers.IntegerField(
        min_value=0, max_value=120, default=0, help_text="Longest pause in periods."
    )
    max_installments = serializers.IntegerField(
        min_value=1, max_value=24, default=1, help_text="Most installments allowed."
    )
    entitlements = serializers.JSONField(
        required=False,
        validators=[_entitlements],
        help_text="Feature flags and limits: {name: true | false | whole number | null | string}.",
    )
    tax_rate = Ref(
        queryset=lambda t: TaxRate.objects.for_tenant(t).filter(active=True),
        what="tax rate",
        required=False,
        help_text="A tax rate (txr_…).",
    )
    ships_goods = serializers.BooleanField(
        default=False, help_text="A physical plan: each paid period makes a fulfilment order."
    )
    box_items = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text="What each box holds, one item per line.",
    )
    billing_timing = serializers.ChoiceField(
        choices=Plan.BillingTiming.choices,
        default=Plan.BillingTiming.IN_ADVANCE,
        help_text="in_advance (default): each period is invoiced at its start; in_arrears: "
        "at its end, for what was used (a setup fee is invoiced at the start).",
    )


class PlanPriceSerializer(StrictSerializer):
    amount_minor = _amount("The new price per period.")
    setup_fee_minor = _amount("A new setup fee (default: unchanged).", required=False)
    intro_amount_minor = _amount(
        "A new introductory price (with intro_cycles; null with intro_cycles 0 removes the "
        "phase). Both left out: unchanged.",
        required=False,
        allow_null=True,
    )
    intro_cycles = serializers.IntegerField(
        min_value=0, max_value=1200, required=False, help_text="A new introductory length."
    )


@extend_schema_view(
    list=extend_schema(summary="List plans", responses=PlanSerializer),
    retrieve=extend_schema(summary="Retrieve a plan", parameters=[_id_param("plan", "plan")]),
    create=extend_schema(
        summary="Create a plan", request=PlanCreateSerializer, responses={201: PlanSerializer}
    ),
    change_price=extend_schema(
        summary="Change a plan's price (a used plan gets a new version)",
        parameters=[_id_param("plan", "plan")],
        request=PlanPriceSerializer,
        responses=PlanSerializer,
    ),
)
class PlanViewSet(ApiViewSet):
    serializer_class = PlanSerializer
    object_name = "plan"
    list_filters = (
        ListFilter("product", "product__public_id", "Only plans of this product.", "id"),
        ListFilter("active", "active", "Only active (true) or inactive plans.", "boolean"),
        ListFilter("code", "code", "Only the versions of this plan code."),
        ListFilter("currency", "currency", "Only plans in this currency."),
    )

    def get_queryset(self) -> QuerySet[Plan]:
        return plan_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PlanSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(PlanSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(PlanCreateSerializer, request)
        data["tiers"] = [dict(t) for t in data.get("tiers") or []]
        plan = services.plan_create(tenant=self.tenant, actor=self.actor, now=clock.now(), **data)
        return self.respond(
            PlanSerializer, plan_list(tenant=self.tenant).get(pk=plan.pk), status=201
        )

    @action(detail=True, methods=["post"])
    def change_price(self, request: Request, id: str) -> Response:
        plan = self.get_object()
        data = input_of(PlanPriceSerializer, request)
        if "intro_amount_minor" in data or "intro_cycles" in data:
            data["intro"] = (data.pop("intro_amount_minor", None), data.pop("intro_cycles", 0))
        new = services.plan_change_price(
            tenant=self.tenant, plan_id=plan.pk, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(PlanSerializer, plan_list(tenant=self.tenant).get(pk=new.pk))


# --- coupons -------------------------------------------------------------------------------


class CouponSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="co_…")
    object = ObjectField("coupon")
    code = serializers.CharField(help_text="What customers type; subscriptions take it.")
    name = serializers.CharField(help_text="A name for people, or empty.")
    percent_off = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text="Percent off, or null."
    )
    setup_percent_off = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        allow_null=True,
        help_text="A different percent off for the setup fee, or null.",
    )
    amount_off_minor = serializers.IntegerField(
        allow_null=True, help_text="Amount off in minor units, or null."
    )
    currency = serializers.CharField(help_text="The amount's currency; empty for percentages.")
    duration = serializers.ChoiceField(
        choices=Coupon.Duration.choices, help_text="once, repeating or forever."
    )
    duration_cycles = serializers.IntegerField(
        allow_null=True, help_text="Periods a repeating coupon lasts."
    )
    applies_to = serializers.ChoiceField(
        choices=Coupon.AppliesTo.choices, help_text="recurring, setup or both."
    )
    max_redemptions = serializers.IntegerField(allow_null=True, help_text="Most redemptions.")
    times_redeemed = serializers.IntegerField(help_text="Redemptions so far.")
    redeem_by = InstantField(allow_null=True, help_text="Last moment to redeem.")
    plan_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Plan codes it is limited to (empty: any)."
    )
    first_purchase_only = serializers.BooleanField(help_text="Only for a first purchase.")
    seller = PublicIdOf("seller.public_id", help_text="The seller owning it (slr_…), or null.")
    active = serializers.BooleanField(help_text="Whether it can be redeemed.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = Coupon
        fields = [
            "id",
            "object",
            "code",
            "name",
            "percent_off",
            "setup_percent_off",
            "amount_off_minor",
            "currency",
            "duration",
            "duration_cycles",
            "applies_to",
            "max_redemptions",
            "times_redeemed",
            "redeem_by",
            "plan_codes",
            "first_purchase_only",
            "seller",
            "active",
            "created",
        ]
        read_only_fields = fields


def _percent(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        coerce_to_string=False,
        min_value=0,
        max_value=100,
        required=False,
        help_text=help_text,
    )


class CouponCreateSerializer(StrictSerializer):
    code = serializers.CharField(max_length=64, help_text="What customers type.")
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    percent_off = _percent("Percent off, above 0 and at most 100 (or give amount_off_minor).")
    amount_off_minor = serializers.IntegerField(
        min_value=1, max_value=MAX_AMOUNT, required=False, help_text="Amount off in minor units."
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, default="", help_text="The amount's currency."
    )
    duration = serializers.ChoiceField(
        choices=Coupon.Duration.choices, default="once", help_text="once, repeating or forever."
    )
    duration_cycles = serializers.IntegerField(
        min_value=1, max_value=120, required=False, help_text="For repeating: how many periods."
    )
    applies_to = serializers.ChoiceField(
        choices=Coupon.AppliesTo.choices, default="recurring", help_text="What it discounts."
    )
    setup_percent_off = _percent("A different percent off for the setup fee.")
    max_redemptions = serializers.IntegerField(
        min_value=1, max_value=10**9, required=False, help_text="Most redemptions."
    )
    redeem_by = InstantField(required=False, help_text="Last moment to redeem.")
    plan_codes = serializers.ListField(
        child=serializers.SlugField(max_length=64),
        max_length=100,
        required=False,
        default=list,
        help_text="Limit it to these plan codes.",
    )
    first_purchase_only = serializers.BooleanField(default=False, help_text="First purchase only.")


@extend_schema_view(
    list=extend_schema(summary="List coupons", responses=CouponSerializer),
    retrieve=extend_schema(summary="Retrieve a coupon", parameters=[_id_param("coupon", "co")]),
    create=extend_schema(
        summary="Create a coupon", request=CouponCreateSerializer, responses={201: CouponSerializer}
    ),
)
class CouponViewSet(ApiViewSet):
    serializer_class = CouponSerializer
    object_name = "coupon"
    list_filters = (
        ListFilter("code", "code", "The coupon with this code."),
        ListFilter("active", "active", "Only active (true) or inactive coupons.", "boolean"),
    )

    def get_queryset(self) -> QuerySet[Coupon]:
        return coupon_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CouponSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(CouponSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(CouponCreateSerializer, request)
        coupon = billing_coupons.coupon_create(
            tenant=self.tenant, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(CouponSerializer, coupon, status=201)


# --- subscriptions ----------------------------------------------------------------------------


class PendingUpdateSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="The plan it changes to (plan_…).")
    quantity = serializers.IntegerField(help_text="The quantity it changes to.")
    effective_at = serializers.DateTimeField(help_text="When the change takes effect.")


class PendingPauseSerializer(serializers.Serializer):
    cycles = serializers.IntegerField(help_text="Periods the pause lasts.")
    effective_at = serializers.DateTimeField(help_text="When the pause begins.")


class CancellationDetailsSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(help_text="The code of the merchant's reason chosen.")
    reason_label = serializers.CharField(
        help_text="The reason's label as the subscriber was shown it (kept when renamed later)."
    )
    comment = serializers.CharField(help_text="The subscriber's comment; may be empty.")


class SubscriptionItemSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="si_…")
    object = ObjectField("subscription_item")
    plan = PublicIdOf("plan.public_id", help_text="The add-on's plan version (plan_…).")
    description = serializers.CharField(source="plan.name", help_text="The add-on plan's name.")
    quantity = serializers.IntegerField(help_text="Seats of the add-on.")
    unit_amount = serializers.IntegerField(
        help_text="The add-on's unit price, in minor units: its plan's, or the contract's "
        "own after a readjustment covering add-ons."
    )
    cycles_billed = serializers.IntegerField(
        help_text="Full periods billed so far (an add-on with a fixed term ends after "
        "its plan's term_cycles)."
    )
    added_at = serializers.DateTimeField(help_text="When it was added.")
    ended_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was removed or its term ended; null while live."
    )

    class Meta:
        model = SubscriptionItem
        fields = [
            "id",
            "object",
            "plan",
            "description",
            "quantity",
            "unit_amount",
            "cycles_billed",
            "added_at",
            "ended_at",
        ]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="sub_…")
    object = ObjectField("subscription")
    customer = PublicIdOf("customer.public_id", help_text="The customer (cus_…).")
    plan = PublicIdOf("plan.public_id", help_text="The plan version billed (plan_…).")
    quantity = serializers.IntegerField(help_text="Seats.")
    status = serializers.ChoiceField(
        choices=SubscriptionStatus.choices,
        help_text="incomplete, trialing, active, past_due, paused, canceled or ended.",
    )
    collection_method = serializers.CharField(help_text="charge_automatically or send_invoice.")
    payment_method = PublicIdOf(
        "payment_method.public_id",
        help_text="The method it is charged with (pm_…); null: the customer's default.",
    )
    current_period_start = serializers.DateTimeField(help_text="Start of the current period.")
    current_period_end = serializers.DateTimeField(help_text="End of the current period.")
    start_at = InstantField(help_text="When it starts (or started).")
    trial_end = serializers.DateTimeField(allow_null=True, help_text="End of the trial, or null.")
    cancel_at_period_end = serializers.SerializerMethodField(
        help_text="Whether it ends at the current period's end (a scheduled cancellation)."
    )
    cancel_at = serializers.SerializerMethodField(
        help_text="When the scheduled cancellation takes effect, or null."
    )
    canceled_at = serializers.DateTimeField(allow_null=True, help_text="When it was canceled.")
    cancellation_details = serializers.SerializerMethodField(
        help_text="Why it was canceled (or is scheduled to be), when a reason was given; else null."
    )
    ended_at = serializers.DateTimeField(allow_null=True, help_text="When it ended.")
    pending_update = serializers.SerializerMethodField(
        help_text="A plan or quantity change scheduled for the period end, or null."
    )
    pending_pause = serializers.SerializerMethodField(
        help_text="A pause scheduled for the period end, or null."
    )
    pauses_used = serializers.IntegerField(help_text="Pauses used so far.")
    pause_cycles_left = serializers.IntegerField(help_text="Periods left in a running pause.")
    unit_amount = serializers.IntegerField(
        help_text="The unit price billed from the next period, in minor units: the plan's, "
        "or the contract's own after a readjustment."
    )
    readjustments = serializers.SerializerMethodField(
        help_text="Its readjustments (reajuste), newest first: old and new price, factor, "
        "index months, status."
    )
    discount = serializers.SerializerMethodField(
        help_text="The coupon applied to this subscription, or null. It wins over the "
        "customer's discount, which applies only while this is null or used up."
    )
    has_access = serializers.BooleanField(
        help_text="Whether the subscriber gets the plan's entitlements now: trialing, active, "
        "or past due in the grace period before dunning suspends access."
    )
    access_suspended_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When dunning suspended access for an unpaid invoice, or null.",
    )
    paused_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When a pause begun mid-period began (it resumes at current_period_end).",
    )
    pause_carry_until = serializers.DateTimeField(
        allow_null=True,
        help_text="That pause carries the paid time from paused_at to this date past it.",
    )
    items = serializers.SerializerMethodField(
        help_text="Its live add-ons, billed with the base plan on each period's invoice."
    )
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = Subscription
        fields = [
            "id",
            "object",
            "customer",
            "plan",
            "quantity",
            "status",
            "has_access",
            "access_suspended_at",
            "collection_method",
            "payment_method",
            "current_period_start",
            "current_period_end",
            "start_at",
            "trial_end",
            "cancel_at_period_end",
            "cancel_at",
            "canceled_at",
            "cancellation_details",
            "ended_at",
            "pending_update",
            "pending_pause",
            "pauses_used",
            "pause_cycles_left",
            "unit_amount",
            "readjustments",
            "discount",
            "paused_at",
            "pause_carry_until",
            "items",
            "created",
        ]
        read_only_fields = fields

    @extend_schema_field(SubscriptionItemSerializer(many=True))
    def get_items(self, obj: Subscription) -> list[dict[str, Any]]:
        rows = getattr(obj, "live_items", None)
        if rows is None:
            rows = list(
                obj.items.filter(ended_at__isnull=True)
                .select_related("plan")
                .order_by("added_at", "id")
            )
        return list(SubscriptionItemSerializer(rows, many=True).data)

    @extend_schema_field(ReadjustmentSerializer(many=True))
    def get_readjustments(self, obj: Subscription) -> list[dict[str, Any]]:
        rows = getattr(obj, "readjustment_rows", None)
        if rows is None:
            rows = list(obj.readjustments.select_related("subscription").order_by("-due_on", "-id"))
        return list(ReadjustmentSerializer(rows, many=True).data)

    @extend_schema_field(DiscountSerializer(allow_null=True))
    def get_discount(self, obj: Subscription) -> dict[str, Any] | None:
        return discount_data(
            billing_discounts.live_discount(tenant_id=obj.tenant_id, subscription_id=obj.pk)
        )

    @staticmethod
    def _pending(obj: Subscription, kind: str) -> Any:
        changes = getattr(obj, "pending", None)
        if changes is None:
            changes = list(obj.scheduled_changes.filter(status="pending").select_related("plan"))
            obj.pending = changes  # type: ignore[attr-defined]
        return next((c for c in changes if c.kind == kind), None)

    @extend_schema_field(CancellationDetailsSerializer(allow_null=True))
    def get_cancellation_details(self, obj: Subscription) -> dict[str, str] | None:
        if not obj.cancel_reason_code:
            return None
        return {
            "reason": obj.cancel_reason_code,
            "reason_label": obj.cancel_reason_label,
            "comment": obj.cancel_comment,
        }

    def get_cancel_at_period_end(self, obj: Subscription) -> bool:
        return self._pending(obj, "cancel") is not None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_cancel_at(self, obj: Subscription) -> str | None:
        change = self._pending(obj, "cancel")
        return (
            serializers.DateTimeField().to_representation(change.effective_at) if change else None
        )

    @extend_schema_field(PendingUpdateSerializer(allow_null=True))
    def get_pending_update(self, obj: Subscription) -> dict[str, Any] | None:
        change = self._pending(obj, "change")
        if change is None:
            return None
        return PendingUpdateSerializer(
            {
                "plan": change.plan.public_id if change.plan else obj.plan.public_id,
                "quantity": change.quantity or obj.quantity,
                "effective_at": change.effective_at,
            }
        ).data

    @extend_schema_field(PendingPauseSerializer(allow_null=True))
    def get_pending_pause(self, obj: Subscription) -> dict[str, Any] | None:
        change = self._pending(obj, "pause")
        if change is None:
            return None
        return PendingPauseSerializer(
            {"cycles": change.pause_cycles or 0, "effective_at": change.effective_at}
        ).data


def _plans(tenant: Any) -> QuerySet[Plan]:
    return plan_list(tenant=tenant)


class ItemInputSerializer(StrictSerializer):
    plan = Ref(queryset=_plans, what="plan", help_text="The add-on's plan (plan_…).")
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, default=1, help_text="Seats of the add-on."
    )


class SubscriptionCreateSerializer(StrictSerializer):
    customer = Ref(
        queryset=lambda t: customer_list(tenant=t).select_related("test_clock"),
        what="customer",
        help_text="The customer (cus_…).",
    )
    plan = Ref(queryset=_plans, what="plan", help_text="The plan (plan_…).")
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, default=1, help_text="Seats (1 for flat plans)."
    )
    trial_days = serializers.IntegerField(
        min_value=0, max_value=730, required=False, help_text="Trial days (default: the plan's)."
    )
    start_at = InstantField(
        required=False, help_text="Start later than now (ISO 8601); default now."
    )
    anchor_day = serializers.IntegerField(
        min_value=1,
        max_value=31,
        required=False,
        help_text="Bill on this day of the month (monthly, quarterly, annual … plans; "
        "clamped to the month's last day).",
    )
    calendar_billing = serializers.BooleanField(
        default=False,
        help_text="Align periods on the calendar: the 1st of the month, calendar quarters "
        "(Jan/Apr/Jul/Oct 1st), Jan 1st for years; the first period is prorated.",
    )
    coupon = serializers.CharField(max_length=64, required=False, help_text="A coupon code.")
    collection_method = serializers.ChoiceField(
        choices=["charge_automatically", "send_invoice"],
        default="charge_automatically",
        help_text="Charge the payment method, or send the invoice to be paid.",
    )
    installments = serializers.IntegerField(
        min_value=2, max_value=24, required=False, help_text="Pay the first invoice in parts."
    )
    payment_method = Ref(
        queryset=lambda t: PaymentMethod.objects.for_tenant(t).filter(detached_at__isnull=True),
        what="payment method",
        required=False,
        help_text="Charge this method (pm_…) instead of the customer's default.",
    )
    items = ItemInputSerializer(
        many=True,
        required=False,
        help_text="Add-ons billed with the plan from the start (same currency and interval); "
        "their setup fees go on the first invoice.",
    )


class ChangeSerializer(StrictSerializer):
    plan = Ref(queryset=_plans, what="plan", required=False, help_text="The new plan (plan_…).")
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, required=False, help_text="The new quantity."
    )
    when = serializers.ChoiceField(
        choices=["now", "period_end"], default="now", help_text="Now, or at the period end."
    )
    proration = serializers.ChoiceField(
        choices=list(services.ProrationBehavior.ALL),
        default=services.ProrationBehavior.NEXT_INVOICE,
        help_text="next_invoice (add to the next invoice), invoice_now, or none. A change "
        "of billing interval invoices at once; none leaves the old period uncredited.",
    )
    anchor = serializers.ChoiceField(
        choices=list(services.AnchorChoice.ALL),
        required=False,
        help_text="On a change of billing interval: reset (periods start again from now) "
        "or keep (the anchor's day stays; the first new period is prorated to it). "
        "Default: the account's interval_change_anchor.",
    )


class PreviewLineSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="proration, recurring, setup_fee, …")
    description = serializers.CharField(help_text="What the line is for.")
    quantity = serializers.IntegerField(help_text="Seats.")
    amount_minor = serializers.IntegerField(help_text="Amount before discount and tax.")
    discount_minor = serializers.IntegerField(help_text="Discount.")
    tax_minor = serializers.IntegerField(help_text="Tax.")
    total_minor = serializers.IntegerField(help_text="Line total.")
    period_start = serializers.DateTimeField(allow_null=True, help_text="Service period start.")
    period_end = serializers.DateTimeField(allow_null=True, help_text="Service period end.")
    plan = serializers.CharField(allow_null=True, help_text="The plan (plan_…), or null.")


class ChangePreviewSerializer(serializers.Serializer):
    object = ObjectField("subscription_change_preview")
    subscription = serializers.CharField(help_text="sub_…")
    effective_at = serializers.DateTimeField(help_text="When the change would take effect.")
    currency = serializers.CharField(help_text="Currency of the amounts.")
    total_minor = serializers.IntegerField(help_text="What the change adds (or credits if < 0).")
    lines = PreviewLineSerializer(many=True, help_text="The exact lines it would produce.")


class PauseSerializer(StrictSerializer):
    when = serializers.ChoiceField(
        choices=["period_end", "now"],
        default="period_end",
        help_text="period_end (skip whole periods: give cycles or until) or now (mid-period; "
        "brings a pause scheduled for the period end forward).",
    )
    cycles = serializers.IntegerField(
        min_value=1, max_value=120, required=False, help_text="Periods to skip (period_end)."
    )
    until = InstantField(required=False, help_text="Or: pause until this time (period_end).")
    resume_at = InstantField(
        required=False,
        help_text="Pausing now: when billing resumes (default: the plan's longest pause).",
    )
    unused = serializers.ChoiceField(
        choices=list(services.PauseUnused.ALL),
        required=False,
        help_text="Pausing now: credit the paid time left to the customer's balance, or carry "
        "the paid-through date past the pause. Default: the account's pause_unused.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        now_only, end_only = (
            {"resume_at", "unused"} & attrs.keys(),
            {"cycles", "until"} & attrs.keys(),
        )
        if attrs["when"] == "now" and end_only:
            raise serializers.ValidationError(
                {sorted(end_only)[0]: "Only for a pause at the period end."}
            )
        if attrs["when"] == "period_end" and now_only:
            raise serializers.ValidationError({sorted(now_only)[0]: "Only for a pause now."})
        return attrs


class PausePreviewInputSerializer(StrictSerializer):
    resume_at = InstantField(
        required=False, help_text="When billing resumes (default: the plan's longest pause)."
    )
    unused = serializers.ChoiceField(
        choices=list(services.PauseUnused.ALL),
        required=False,
        help_text="credit or carry (default: the account's pause_unused).",
    )


class PauseCreditSerializer(serializers.Serializer):
    invoice = serializers.CharField(help_text="The invoice number credited.")
    amount_minor = serializers.IntegerField(help_text="Credited on it.")


class PausePreviewSerializer(serializers.Serializer):
    object = ObjectField("subscription_pause_preview")
    subscription = serializers.CharField(help_text="sub_…")
    unused = serializers.CharField(help_text="credit or carry.")
    resumes_at = serializers.DateTimeField(help_text="When billing would resume.")
    currency = serializers.CharField(help_text="Currency of the amounts.")
    credit_minor = serializers.IntegerField(help_text="Credited to the customer's balance.")
    credits = PauseCreditSerializer(many=True, help_text="One credit note per invoice.")
    carried_from = serializers.DateTimeField(
        allow_null=True, help_text="Carrying: the paid-through date carried past the pause."
    )
    carried_days = serializers.IntegerField(help_text="Carrying: paid days carried.")


class ResumeSerializer(StrictSerializer):
    resume_at = InstantField(
        required=False,
        help_text="A pause begun mid-period: resume on this date instead of now.",
    )


class CancelSerializer(StrictSerializer):
    at_period_end = serializers.BooleanField(
        default=False, help_text="End at the current period's end instead of now."
    )
    prorate = serializers.BooleanField(
        default=False, help_text="Credit the unused part of the period (canceling now)."
    )
    reason = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Why: one of the account's cancel_reasons codes (GET /api/v1/account); "
        "kept with its label in cancellation_details. An unknown code cancels nothing.",
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Free text that goes with the reason.",
    )


class EmptySerializer(StrictSerializer):
    pass


def _item_proration() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=list(services.ProrationBehavior.ALL),
        default=billing_items.DEFAULT_PRORATION,
        help_text="invoice_now (default: the rest of the period is invoiced at once), "
        "next_invoice (added to the next invoice) or none (not prorated).",
    )


class ItemAddSerializer(StrictSerializer):
    plan = Ref(queryset=_plans, what="plan", help_text="The add-on's plan (plan_…).")
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, default=1, help_text="Seats of the add-on."
    )
    proration = _item_proration()


class ItemUpdateSerializer(StrictSerializer):
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, help_text="The add-on's new quantity."
    )
    proration = _item_proration()


class ItemRemoveSerializer(StrictSerializer):
    proration = _item_proration()


class ItemPreviewSerializer(serializers.Serializer):
    object = ObjectField("subscription_item_preview")
    subscription = serializers.CharField(help_text="sub_…")
    effective_at = serializers.DateTimeField(help_text="When it would take effect.")
    currency = serializers.CharField(help_text="Currency of the amounts.")
    invoiced = serializers.BooleanField(
        help_text="True: the lines are an invoice written at once; false: they are added "
        "to the next invoice (or nothing is billed)."
    )
    total_minor = serializers.IntegerField(help_text="What it adds (or credits if < 0).")
    lines = PreviewLineSerializer(many=True, help_text="The exact lines it would produce.")


_ITEM = OpenApiParameter("item_id", str, OpenApiParameter.PATH, description="The item's id, si_…")
# Any segment but "preview" (``items/preview`` previews an addition): an unknown
# id reaches the view and gets its 404, after the key's permissions are checked.
_ITEM_PATH = r"items/(?P<item_id>(?!preview(?:/|$))[^/.]+)"


def _preview_lines(lines: Any) -> list[dict[str, Any]]:
    plan_ids = {line.plan_id for line in lines if line.plan_id}
    public: dict[int | None, str] = dict(
        Plan.objects.filter(pk__in=plan_ids).values_list("pk", "public_id")
    )
    return [
        {
            "kind": line.kind,
            "description": line.description,
            "quantity": line.quantity,
            "amount_minor": line.amount_minor,
            "discount_minor": line.discount_minor,
            "tax_minor": line.tax_minor,
            "total_minor": line.total_minor,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "plan": public.get(line.plan_id),
        }
        for line in lines
    ]


class PaymentMethodSetSerializer(StrictSerializer):
    """The payment method a subscription is charged with."""

    payment_method = Ref(
        # Detached methods read as missing; the service also refuses another customer's.
        queryset=lambda t: PaymentMethod.objects.for_tenant(t).filter(detached_at__isnull=True),
        what="payment method",
        allow_null=True,
        help_text="Charge this one of the customer's methods (pm_…), or null for the "
        "customer's default.",
    )


_SUB = _id_param("subscription", "sub")


@extend_schema_view(
    list=extend_schema(summary="List subscriptions", responses=SubscriptionSerializer),
    retrieve=extend_schema(summary="Retrieve a subscription", parameters=[_SUB]),
    create=extend_schema(
        summary="Create a subscription",
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionSerializer},
    ),
    preview_change=extend_schema(
        summary="Preview a plan or quantity change (changes nothing)",
        parameters=[_SUB],
        request=ChangeSerializer,
        responses=ChangePreviewSerializer,
    ),
    change=extend_schema(
        summary="Change plan or quantity, now (prorated) or at period end",
        parameters=[_SUB],
        request=ChangeSerializer,
        responses=SubscriptionSerializer,
    ),
    pause=extend_schema(
        summary="Pause from the period end for some cycles, or now (mid-period)",
        parameters=[_SUB],
        request=PauseSerializer,
        responses=SubscriptionSerializer,
    ),
    preview_pause=extend_schema(
        summary="Preview a pause now: the credit or the paid time carried (changes nothing)",
        parameters=[_SUB],
        request=PausePreviewInputSerializer,
        responses=PausePreviewSerializer,
    ),
    resume=extend_schema(
        summary="Resume a paused subscription (now or on a date), or call off a scheduled pause",
        parameters=[_SUB],
        request=ResumeSerializer,
        responses=SubscriptionSerializer,
    ),
    cancel=extend_schema(
        summary="Cancel now or at the period end",
        parameters=[_SUB],
        request=CancelSerializer,
        responses=SubscriptionSerializer,
    ),
    payment_method=extend_schema(
        summary="Change the payment method the subscription is charged with",
        description="Another customer's, another account's or a detached method is refused "
        "(404). A canceled or ended subscription cannot be changed (409). null goes back to "
        "the customer's default method.",
        parameters=[_SUB],
        request=PaymentMethodSetSerializer,
        responses=SubscriptionSerializer,
    ),
    reactivate=extend_schema(
        summary="Undo a cancellation scheduled for the period end",
        parameters=[_SUB],
        request=EmptySerializer,
        responses=SubscriptionSerializer,
    ),
)
class SubscriptionViewSet(ApiViewSet):
    serializer_class = SubscriptionSerializer
    object_name = "subscription"
    list_filters = (
        ListFilter(
            "status",
            "status",
            "Only subscriptions in this status.",
            enum=tuple(SubscriptionStatus.values),
        ),
        ListFilter("customer", "customer__public_id", "Only this customer's.", "id"),
        ListFilter("plan", "plan__public_id", "Only those on this plan version.", "id"),
    )

    def get_queryset(self) -> QuerySet[Subscription]:
        return subscription_list(tenant=self.tenant)

    def _fresh(self, sub: Subscription) -> Subscription:
        return subscription_list(tenant=self.tenant).get(pk=sub.pk)

    def _now(self, sub: Subscription) -> Any:
        return now_for(customer=sub.customer, now=clock.now())

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(SubscriptionSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(SubscriptionCreateSerializer, request)
        customer = data.pop("customer")
        data["items"] = [(i["plan"], i["quantity"]) for i in data.pop("items", [])]
        sub = billing_subs.subscription_create(
            tenant=self.tenant,
            customer=customer,
            actor=self.actor,
            now=now_for(customer=customer, now=clock.now()),
            **data,
        )
        return self.respond(SubscriptionSerializer, self._fresh(sub), status=201)

    @action(detail=True, methods=["post"])
    def preview_change(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(ChangeSerializer, request)
        preview = billing_subs.subscription_preview_change(
            tenant=self.tenant, subscription=sub, now=self._now(sub), **data
        )
        lines = _preview_lines(preview.lines)
        return Response(
            ChangePreviewSerializer(
                {
                    "subscription": sub.public_id,
                    "effective_at": preview.effective_at,
                    "currency": sub.plan.currency,
                    "total_minor": preview.total_minor,
                    "lines": lines,
                }
            ).data
        )

    @action(detail=True, methods=["post"])
    def change(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(ChangeSerializer, request)
        if "plan" not in data and "quantity" not in data:
            raise ValidationFailed("Give a new plan, a new quantity, or both.", param="plan")
        billing_subs.subscription_change(
            tenant=self.tenant, subscription_id=sub.pk, actor=self.actor, now=self._now(sub), **data
        )
        return self.respond(SubscriptionSerializer, self._fresh(sub))

    @action(detail=True, methods=["post"])
    def pause(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(PauseSerializer, request)
        if data.pop("when") == "now":
            billing_subs.subscription_pause_now(
                tenant=self.tenant,
                subscription_id=sub.pk,
                actor=self.actor,
                now=self._now(sub),
                **data,
            )
        else:
            services.subscription_pause(
                tenant=self.tenant,
                subscription_id=sub.pk,
                actor=self.actor,
                now=self._now(sub),
                **data,
            )
        return self.respond(SubscriptionSerializer, self._fresh(sub))

    @action(detail=True, methods=["post"])
    def preview_pause(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(PausePreviewInputSerializer, request)
        preview = billing_subs.subscription_preview_pause(
            tenant=self.tenant, subscription_id=sub.pk, now=self._now(sub), **data
        )
        return Response(
            PausePreviewSerializer(
                {
                    "subscription": sub.public_id,
                    "unused": preview.unused,
                    "resumes_at": preview.resumes_at,
                    "currency": sub.plan.currency,
                    "credit_minor": preview.credit_minor,
                    "credits": [
                        {"invoice": number, "amount_minor": amount}
                        for number, amount in preview.credits
                    ],
                    "carried_from": preview.carried_from,
                    "carried_days": preview.carried_days,
                }
            ).data
        )

    @action(detail=True, methods=["post"])
    def resume(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(ResumeSerializer, request)
        billing_subs.subscription_resume(
            tenant=self.tenant,
            subscription_id=sub.pk,
            actor=self.actor,
            now=self._now(sub),
            resume_at=data.get("resume_at"),
        )
        return self.respond(SubscriptionSerializer, self._fresh(sub))

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(CancelSerializer, request)
        billing_retention.subscription_cancel_with_reason(
            tenant=self.tenant,
            subscription_id=sub.pk,
            actor=self.actor,
            now=self._now(sub),
            at_period_end=data["at_period_end"],
            prorate_credit=data["prorate"],
            reason=data.get("reason"),
            comment=data.get("comment", ""),
        )
        return self.respond(SubscriptionSerializer, self._fresh(sub))

    @extend_schema(
        methods=["POST"],
        operation_id="subscription_discount_apply",
        summary="Apply a coupon: from the next invoice, or now with proration",
        description="Replaces the subscription's discount. The coupon is checked as at "
        "subscribe (plans, expiry, redemption limit, first purchase, the seller's cap). "
        "With proration=now the rest of the current period is credited at the discount it "
        "was charged with and charged again with the new one, on an invoice written at "
        "once (a credit goes to the customer's balance); the current period counts as the "
        "coupon's first cycle. A subscription's discount wins over its customer's.",
        parameters=[_SUB],
        request=DiscountApplySerializer,
        responses=SubscriptionSerializer,
    )
    @extend_schema(
        methods=["DELETE"],
        operation_id="subscription_discount_remove",
        summary="Remove the discount: from the next invoice, or now with proration",
        description="With proration=now the rest of the current period is charged without "
        "the discount. Without a discount, nothing changes.",
        parameters=[
            _SUB,
            OpenApiParameter(
                "proration",
                str,
                enum=["next_invoice", "now"],
                description="next_invoice (default) or now.",
            ),
        ],
        request=None,
        responses={200: SubscriptionSerializer},
    )
    @action(detail=True, methods=["post", "delete"])
    def discount(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        if request.method == "DELETE":
            billing_discounts.subscription_discount_remove(
                tenant=self.tenant,
                subscription_id=sub.pk,
                actor=self.actor,
                now=self._now(sub),
                proration=request.query_params.get("proration", billing_discounts.NEXT_INVOICE),
            )
        else:
            data = input_of(DiscountApplySerializer, request)
            billing_discounts.subscription_discount_apply(
                tenant=self.tenant,
                subscription_id=sub.pk,
                actor=self.actor,
                now=self._now(sub),
                **data,
            )
        return self.respond(SubscriptionSerializer, self._fresh(sub))

    @action(detail=True, methods=["post"])
    def payment_method(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(PaymentMethodSetSerializer, request)
        method = data["payment_method"]
        services.subscription_payment_method_set(
            tenant=self.tenant,
            subscription_id=sub.pk,
            actor=self.actor,
            now=self._now(sub),
            payment_method_id=method.pk if method is not None else None,
        )
        return self.respond(SubscriptionSerializer, self._fresh(sub))

    # -- add-on items ---------------------------------------------------------------

    def _item_preview(self, sub: Subscription, preview: Any) -> Response:
        return Response(
            ItemPreviewSerializer(
                {
                    "subscription": sub.public_id,
                    "effective_at": preview.effective_at,
                    "currency": sub.plan.currency,
                    "invoiced": preview.invoiced,
                    "total_minor": preview.total_minor,
                    "lines": _preview_lines(preview.lines),
                }
            ).data
        )

    def _item_row(self, sub: Subscription, item_id: str) -> SubscriptionItem:
        item = (
            SubscriptionItem.objects.for_tenant(self.tenant)
            .select_related("plan")
            .filter(subscription=sub, public_id=item_id)
            .first()
        )
        if item is None:
            raise NotFound(f"No such item: '{item_id}'", param="item_id")
        return item

    @extend_schema(
        methods=["GET"],
        operation_id="subscription_items_list",
        summary="List a subscription's add-ons (live and ended)",
        parameters=[_SUB],
        request=None,
        responses=SubscriptionItemSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        operation_id="subscription_items_add",
        summary="Add an add-on now: the rest of the period prorated, with its setup fee",
        description="The add-on's plan must have the subscription's currency and billing "
        "interval. A canceled, ended or paused subscription cannot take add-ons (409).",
        parameters=[_SUB],
        request=ItemAddSerializer,
        responses={201: SubscriptionItemSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="items")
    def items(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        if request.method == "GET":
            rows = sub.items.select_related("plan").order_by("added_at", "id")
            # A list object like every list, on one page: a subscription holds a
            # handful of add-ons (MAX_ITEMS live), ended ones kept for history.
            listed = SubscriptionItemSerializer(rows, many=True).data
            return Response(
                {"object": "list", "url": request.path, "has_more": False, "data": listed}
            )
        data = input_of(ItemAddSerializer, request)
        item = billing_items.subscription_item_add(
            tenant=self.tenant, subscription_id=sub.pk, actor=self.actor, now=self._now(sub), **data
        )
        return self.respond(SubscriptionItemSerializer, item, status=201)

    @extend_schema(
        summary="Preview adding an add-on (changes nothing)",
        parameters=[_SUB],
        request=ItemAddSerializer,
        responses=ItemPreviewSerializer,
    )
    @action(detail=True, methods=["post"], url_path="items/preview")
    def items_preview(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        data = input_of(ItemAddSerializer, request)
        preview = billing_items.subscription_item_preview_add(
            tenant=self.tenant, subscription_id=sub.pk, now=self._now(sub), **data
        )
        return self._item_preview(sub, preview)

    @extend_schema(
        methods=["POST"],
        operation_id="subscription_item_update",
        summary="Change an add-on's quantity now, prorated",
        parameters=[_SUB, _ITEM],
        request=ItemUpdateSerializer,
        responses=SubscriptionItemSerializer,
    )
    @extend_schema(
        methods=["DELETE"],
        operation_id="subscription_item_remove",
        summary="Remove an add-on now: the unused part of its fee is credited",
        parameters=[
            _SUB,
            _ITEM,
            OpenApiParameter(
                "proration",
                str,
                enum=[*services.ProrationBehavior.ALL],
                description="invoice_now (default), next_invoice or none.",
            ),
        ],
        request=None,
        responses={200: SubscriptionItemSerializer},
    )
    @action(detail=True, methods=["post", "delete"], url_path=_ITEM_PATH)
    def item(self, request: Request, id: str, item_id: str) -> Response:
        sub = self.get_object()
        row = self._item_row(sub, item_id)
        if request.method == "DELETE":
            item = billing_items.subscription_item_remove(
                tenant=self.tenant,
                subscription_id=sub.pk,
                item_id=row.public_id,
                actor=self.actor,
                now=self._now(sub),
                proration=request.query_params.get("proration", billing_items.DEFAULT_PRORATION),
            )
        else:
            data = input_of(ItemUpdateSerializer, request)
            item = billing_items.subscription_item_update(
                tenant=self.tenant,
                subscription_id=sub.pk,
                item_id=row.public_id,
                actor=self.actor,
                now=self._now(sub),
                **data,
            )
        return self.respond(SubscriptionItemSerializer, item)

    @extend_schema(
        summary="Preview an add-on's quantity change (changes nothing)",
        parameters=[_SUB, _ITEM],
        request=ItemUpdateSerializer,
        responses=ItemPreviewSerializer,
    )
    @action(detail=True, methods=["post"], url_path=_ITEM_PATH + "/preview")
    def item_preview(self, request: Request, id: str, item_id: str) -> Response:
        sub = self.get_object()
        row = self._item_row(sub, item_id)
        data = input_of(ItemUpdateSerializer, request)
        preview = billing_items.subscription_item_preview_update(
            tenant=self.tenant,
            subscription_id=sub.pk,
            item_id=row.public_id,
            now=self._now(sub),
            **data,
        )
        return self._item_preview(sub, preview)

    @extend_schema(
        summary="Preview removing an add-on (changes nothing)",
        parameters=[_SUB, _ITEM],
        request=ItemRemoveSerializer,
        responses=ItemPreviewSerializer,
    )
    @action(detail=True, methods=["post"], url_path=_ITEM_PATH + "/preview_remove")
    def item_preview_remove(self, request: Request, id: str, item_id: str) -> Response:
        sub = self.get_object()
        row = self._item_row(sub, item_id)
        data = input_of(ItemRemoveSerializer, request)
        preview = billing_items.subscription_item_preview_remove(
            tenant=self.tenant,
            subscription_id=sub.pk,
            item_id=row.public_id,
            now=self._now(sub),
            **data,
        )
        return self._item_preview(sub, preview)

    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, id: str) -> Response:
        sub = self.get_object()
        input_of(EmptySerializer, request)
        services.subscription_cancel_undo(
            tenant=self.tenant, subscription_id=sub.pk, actor=self.actor, now=self._now(sub)
        )
        return self.respond(SubscriptionSerializer, self._fresh(sub))


def register(router: SimpleRouter) -> None:
    from subscriptions import readjustment_api

    readjustment_api.register(router)
    router.register("products", ProductViewSet, basename="product")
    router.register("plans", PlanViewSet, basename="plan")
    router.register("coupons", CouponViewSet, basename="coupon")
    router.register("subscriptions", SubscriptionViewSet, basename="subscription")
