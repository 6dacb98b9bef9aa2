"""Sellers, their commission rule, the sales attributed to them and their
commission statement over the REST API (``/api/v1/sellers``)."""

from __future__ import annotations

from datetime import date
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

from billing import commissions, sellers
from billing.models import CommissionKind, Seller
from billing.selectors import now_for
from core import clock
from core.api import ApiViewSet, ObjectField, PublicIdOf, StrictSerializer, input_of
from core.errors import ValidationFailed
from subscriptions.models import Subscription


class CommissionRuleSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=CommissionKind.choices,
        help_text="none, first_payment (a % of the first paid invoice), recurring (a % of every "
        "paid invoice for `months` months) or fixed (an amount once per sale).",
    )
    percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        allow_null=True,
        required=False,
        help_text="For first_payment and recurring: above 0, at most 100.",
    )
    amount_minor = serializers.IntegerField(
        allow_null=True, required=False, help_text="For fixed: the amount in minor units."
    )
    months = serializers.IntegerField(
        allow_null=True, required=False, help_text="For recurring: 1 to 120."
    )


class SellerSerializer(serializers.ModelSerializer[Seller]):
    id = serializers.CharField(source="public_id", help_text="slr_…")
    object = ObjectField("seller")
    name = serializers.CharField(help_text="The seller's name.")
    email = serializers.CharField(help_text="The seller's email, or empty.")
    commission = serializers.SerializerMethodField(help_text="The commission rule.")
    max_discounts = serializers.SerializerMethodField(
        help_text="The most this seller may discount each plan (plan code → percent)."
    )
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = Seller
        fields = ["id", "object", "name", "email", "commission", "max_discounts", "created"]
        read_only_fields = fields

    @extend_schema_field(CommissionRuleSerializer)
    def get_commission(self, obj: Seller) -> dict[str, Any]:
        rule = commissions.seller_rule(tenant=obj.tenant, seller=obj)
        return {
            "kind": rule.kind,
            "percent": None if rule.percent is None else str(rule.percent),
            "amount_minor": rule.amount_minor,
            "months": rule.months,
        }

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_max_discounts(self, obj: Seller) -> dict[str, str]:
        return {cap.plan_code: str(cap.max_percent) for cap in obj.caps.all()}


class SellerWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, help_text="The seller's name.")
    email = serializers.CharField(
        max_length=254, required=False, default="", allow_blank=True, help_text="An email."
    )
    commission = CommissionRuleSerializer(required=False, help_text="The commission rule.")


class SellerUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False, help_text="The seller's name.")
    email = serializers.CharField(
        max_length=254, required=False, allow_blank=True, help_text="An email."
    )
    commission = CommissionRuleSerializer(required=False, help_text="The commission rule.")


class SaleCreateSerializer(StrictSerializer):
    subscription = serializers.CharField(
        max_length=64, help_text="The subscription this seller sold (sub_…)."
    )


class SaleSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="public_id", help_text="sale_…")
    object = ObjectField("sale")
    seller = PublicIdOf("seller.public_id", help_text="slr_…")
    subscription = PublicIdOf("subscription.public_id", help_text="sub_…")
    kind = serializers.CharField(help_text="The commission rule agreed at the sale.")
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    amount_minor = serializers.IntegerField(allow_null=True)
    months = serializers.IntegerField(allow_null=True)
    sold_at = serializers.DateTimeField(help_text="When the subscription started.")
    attribution = serializers.CharField(
        source="source", help_text="coupon (the seller's coupon was redeemed) or manual."
    )


class StatementLineSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="commission.public_id", help_text="com_…")
    date = serializers.DateField(source="local_date", help_text="In the tenant's time zone.")
    kind = serializers.CharField(source="commission.kind", help_text="earned or reversed.")
    invoice = PublicIdOf("commission.invoice.public_id", help_text="in_…")
    invoice_number = serializers.CharField(source="commission.invoice.number", allow_null=True)
    subscription = PublicIdOf("commission.sale.subscription.public_id", help_text="sub_…")
    customer = PublicIdOf("commission.invoice.customer.public_id", help_text="cus_…")
    refund = PublicIdOf("commission.refund.public_id", help_text="re_…, for a reversal.")
    base_minor = serializers.IntegerField(
        source="commission.base_minor",
        help_text="Earned: the invoice's revenue without tax. Reversed: minus the refund.",
    )
    amount_minor = serializers.IntegerField(
        source="commission.amount_minor", help_text="Negative when reversed."
    )
    currency = serializers.CharField(source="commission.currency")


class StatementSerializer(serializers.Serializer[Any]):
    object = ObjectField("commission_statement")
    seller = PublicIdOf("seller.public_id", help_text="slr_…")
    start = serializers.DateField(help_text="First day (tenant's time zone).")
    end = serializers.DateField(help_text="Last day, included.")
    lines = StatementLineSerializer(many=True)
    totals = serializers.SerializerMethodField(
        help_text="Per currency: earned_minor, reversed_minor (negative) and net_minor."
    )

    def get_totals(self, obj: commissions.Statement) -> dict[str, dict[str, int]]:
        return {
            currency: {
                "earned_minor": t.earned_minor,
                "reversed_minor": t.reversed_minor,
                "net_minor": t.net_minor,
            }
            for currency, t in sorted(obj.totals.items())
        }


def _rule(data: dict[str, Any] | None) -> commissions.Rule | None:
    if data is None:
        return None
    return commissions.commission_rule_clean(
        kind=data.get("kind"),
        percent=data.get("percent"),
        amount_minor=data.get("amount_minor"),
        months=data.get("months"),
    )


def _day(value: str | None, param: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise ValidationFailed(f"'{param}' must be a date (YYYY-MM-DD).", param=param) from None


_SELLER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The seller's id, slr_…")


@extend_schema_view(
    list=extend_schema(summary="List sellers", responses=SellerSerializer),
    retrieve=extend_schema(summary="Retrieve a seller", parameters=[_SELLER]),
    create=extend_schema(
        summary="Create a seller", request=SellerWriteSerializer, responses={201: SellerSerializer}
    ),
    partial_update=extend_schema(
        summary="Update a seller (name, email, commission rule)",
        parameters=[_SELLER],
        request=SellerUpdateSerializer,
        responses=SellerSerializer,
    ),
    sales=extend_schema(
        summary="Attribute a subscription's sale to this seller",
        parameters=[_SELLER],
        request=SaleCreateSerializer,
        responses={201: SaleSerializer},
    ),
    statement=extend_schema(
        summary="A seller's commission statement for a period",
        parameters=[
            _SELLER,
            OpenApiParameter("from", str, description="First day, YYYY-MM-DD (tenant's zone)."),
            OpenApiParameter("to", str, description="Last day, included, YYYY-MM-DD."),
        ],
        responses=StatementSerializer,
    ),
)
class SellerViewSet(ApiViewSet):
    serializer_class = SellerSerializer
    object_name = "seller"

    def get_queryset(self) -> QuerySet[Seller]:
        return (
            Seller.objects.filter(tenant=self.tenant)
            .select_related("tenant")
            .prefetch_related("caps")
            .order_by("-created_at", "-id")
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SellerSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(SellerSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(SellerWriteSerializer, request)
        rule = _rule(data.get("commission"))
        now = clock.now()
        seller = sellers.seller_create(
            tenant=self.tenant, name=data["name"], email=data["email"], actor=self.actor, now=now
        )
        if rule is not None:
            commissions.seller_commission_set(
                tenant=self.tenant, seller_id=seller.pk, rule=rule, actor=self.actor, now=now
            )
        return self.respond(SellerSerializer, self.get_queryset().get(pk=seller.pk), status=201)

    def partial_update(self, request: Request, id: str) -> Response:
        seller = self.get_object()
        data = input_of(SellerUpdateSerializer, request)
        rule = _rule(data.get("commission"))
        now = clock.now()
        if "name" in data or "email" in data:
            sellers.seller_update(
                tenant=self.tenant,
                seller_id=seller.pk,
                name=data.get("name", seller.name),
                email=data.get("email", seller.email),
                actor=self.actor,
                now=now,
            )
        if rule is not None:
            commissions.seller_commission_set(
                tenant=self.tenant, seller_id=seller.pk, rule=rule, actor=self.actor, now=now
            )
        return self.respond(SellerSerializer, self.get_queryset().get(pk=seller.pk))

    @action(detail=True, methods=["post"])
    def sales(self, request: Request, id: str) -> Response:
        seller = self.get_object()
        data = input_of(SaleCreateSerializer, request)
        subscription = (
            Subscription.objects.filter(tenant=self.tenant, public_id=data["subscription"])
            .select_related("customer")
            .first()
        )
        if subscription is None:
            raise ValidationFailed("No such subscription.", param="subscription", code="not_found")
        sale = commissions.sale_attribute(
            tenant=self.tenant,
            subscription_id=subscription.pk,
            seller_id=seller.pk,
            actor=self.actor,
            now=now_for(customer=subscription.customer, now=clock.now()),
        )
        return Response(SaleSerializer(sale).data, status=201)

    @action(detail=True, methods=["get"])
    def statement(self, request: Request, id: str) -> Response:
        seller = self.get_object()
        result = commissions.commission_statement(
            tenant=self.tenant,
            seller_id=seller.pk,
            start=_day(request.query_params.get("from"), "from"),
            end=_day(request.query_params.get("to"), "to"),
        )
        return Response(StatementSerializer(result).data)


def register(router: SimpleRouter) -> None:
    router.register("sellers", SellerViewSet, basename="seller")
