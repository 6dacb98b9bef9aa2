"""Fulfilment orders of physical subscriptions over the REST API
(``/api/v1/fulfilment_orders``): list, retrieve, ship, deliver, cancel."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing import fulfilment
from billing.models import FulfilmentOrder, FulfilmentStatus
from core import clock
from core.api import ApiViewSet, ListFilter, ObjectField, PublicIdOf, StrictSerializer, input_of


class FulfilmentOrderSerializer(serializers.ModelSerializer[FulfilmentOrder]):
    id = serializers.CharField(source="public_id", help_text="ful_…")
    object = ObjectField("fulfilment_order")
    subscription = PublicIdOf("subscription.public_id", help_text="The subscription (sub_…).")
    customer = PublicIdOf("customer.public_id", help_text="The customer (cus_…).")
    invoice = PublicIdOf("invoice.public_id", help_text="The paid invoice (in_…).")
    period_start = serializers.DateTimeField(help_text="Start of the paid period.")
    period_end = serializers.DateTimeField(help_text="End of the paid period.")
    plan_name = serializers.CharField(help_text="The plan's name when the order was made.")
    items = serializers.CharField(help_text="What the box holds, one item per line.")
    quantity = serializers.IntegerField(help_text="How many boxes (the subscription's quantity).")
    ship_to_name = serializers.CharField(help_text="Who receives it.")
    shipping_address = serializers.DictField(
        help_text="The customer's address when the order was made."
    )
    status = serializers.ChoiceField(
        choices=FulfilmentStatus.choices,
        help_text="pending, packed, shipped, delivered or canceled.",
    )
    carrier = serializers.CharField(help_text="Who carries it, or empty.")
    tracking_code = serializers.CharField(help_text="The tracking code once shipped, or empty.")
    packed_at = serializers.DateTimeField(allow_null=True, help_text="When it was packed.")
    shipped_at = serializers.DateTimeField(allow_null=True, help_text="When it was shipped.")
    delivered_at = serializers.DateTimeField(allow_null=True, help_text="When it was delivered.")
    canceled_at = serializers.DateTimeField(allow_null=True, help_text="When it was canceled.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was made.")

    class Meta:
        model = FulfilmentOrder
        fields = [
            "id",
            "object",
            "subscription",
            "customer",
            "invoice",
            "period_start",
            "period_end",
            "plan_name",
            "items",
            "quantity",
            "ship_to_name",
            "shipping_address",
            "status",
            "carrier",
            "tracking_code",
            "packed_at",
            "shipped_at",
            "delivered_at",
            "canceled_at",
            "created",
        ]
        read_only_fields = fields


class ShipSerializer(StrictSerializer):
    tracking_code = serializers.CharField(
        max_length=fulfilment.TRACKING_MAX, help_text="The carrier's tracking code."
    )
    carrier = serializers.CharField(
        max_length=fulfilment.CARRIER_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Who carries it (e.g. Correios).",
    )


_ORDER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The fulfilment order's id, ful_…"
)


@extend_schema_view(
    list=extend_schema(summary="List fulfilment orders", responses=FulfilmentOrderSerializer),
    retrieve=extend_schema(summary="Retrieve a fulfilment order", parameters=[_ORDER]),
    ship=extend_schema(
        summary="Ship a fulfilment order with its tracking code (tells the subscriber)",
        parameters=[_ORDER],
        request=ShipSerializer,
        responses=FulfilmentOrderSerializer,
    ),
    deliver=extend_schema(
        summary="Mark a shipped order delivered",
        parameters=[_ORDER],
        request=None,
        responses=FulfilmentOrderSerializer,
    ),
    cancel=extend_schema(
        summary="Cancel an order not yet shipped",
        parameters=[_ORDER],
        request=None,
        responses=FulfilmentOrderSerializer,
    ),
)
class FulfilmentOrderViewSet(ApiViewSet):
    serializer_class = FulfilmentOrderSerializer
    object_name = "fulfilment order"
    list_filters = (
        ListFilter(
            "status",
            "status",
            "Only orders in this status.",
            enum=[s.value for s in FulfilmentStatus],
        ),
        ListFilter("customer", "customer__public_id", "Only this customer's orders.", "id"),
        ListFilter(
            "subscription", "subscription__public_id", "Only this subscription's orders.", "id"
        ),
    )

    def get_queryset(self) -> QuerySet[FulfilmentOrder]:
        return fulfilment.fulfilment_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(FulfilmentOrderSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(FulfilmentOrderSerializer, self.get_object())

    def _done(self, order: FulfilmentOrder) -> Response:
        return self.respond(FulfilmentOrderSerializer, self.get_queryset().get(pk=order.pk))

    @action(detail=True, methods=["post"])
    def ship(self, request: Request, id: str) -> Response:
        order = self.get_object()
        data: dict[str, Any] = input_of(ShipSerializer, request)
        shipped = fulfilment.fulfilment_ship(
            tenant=self.tenant,
            order_id=order.pk,
            tracking_code=data["tracking_code"],
            carrier=data.get("carrier", ""),
            actor=self.actor,
            now=clock.now(),
        )
        return self._done(shipped)

    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, id: str) -> Response:
        order = self.get_object()
        return self._done(
            fulfilment.fulfilment_deliver(
                tenant=self.tenant, order_id=order.pk, actor=self.actor, now=clock.now()
            )
        )

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        order = self.get_object()
        return self._done(
            fulfilment.fulfilment_cancel(
                tenant=self.tenant, order_id=order.pk, actor=self.actor, now=clock.now()
            )
        )


def register(router: SimpleRouter) -> None:
    router.register("fulfilment_orders", FulfilmentOrderViewSet, basename="fulfilment_order")
