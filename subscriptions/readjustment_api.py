"""Readjustment (reajuste) over the REST API: index series and their monthly
values, readjustment policies per plan, the contracts coming due, applying them,
and the history."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from core import clock
from core.api import ApiViewSet, ObjectField, PublicIdOf, Ref, StrictSerializer, input_of
from core.errors import ValidationFailed
from subscriptions import services
from subscriptions.models import IndexSeries, IndexValue, Readjustment, ReadjustmentPolicy
from subscriptions.selectors import (
    DueReadjustment,
    index_series_list,
    plan_list,
    policy_list,
    readjustments_due,
    subscription_list,
)
from subscriptions.services.readjustment import MAX_NOTICE_DAYS, parse_month


def _id_param(what: str, prefix: str) -> OpenApiParameter:
    return OpenApiParameter(
        "id", str, OpenApiParameter.PATH, description=f"The {what}'s id, {prefix}_…"
    )


def _rate_field(help_text: str, **kw: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        min_value=-50,
        max_value=100,
        coerce_to_string=True,  # a decimal string ("0.53"); a JSON number is read exactly too
        help_text=help_text,
        **kw,
    )


def _percent_field(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=-50,
        max_value=100,
        coerce_to_string=True,
        required=False,
        allow_null=True,
        default=None,
        help_text=help_text,
    )


# --- index series ------------------------------------------------------------------------


class IndexSeriesSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="idx_…")
    object = ObjectField("index_series")
    kind = serializers.ChoiceField(
        choices=IndexSeries.Kind.choices, help_text="ipca, igpm, inpc or custom."
    )
    name = serializers.CharField(help_text="The series' name, unique in the account.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = IndexSeries
        fields = ["id", "object", "kind", "name", "created"]
        read_only_fields = fields


class IndexSeriesCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(
        choices=IndexSeries.Kind.choices, help_text="ipca, igpm, inpc or custom."
    )
    name = serializers.CharField(max_length=100, help_text="The series' name.")


class IndexValueSerializer(serializers.Serializer[Any]):
    month = serializers.SerializerMethodField(help_text="The month, YYYY-MM.")
    rate = serializers.DecimalField(
        source="rate_percent",
        max_digits=9,
        decimal_places=4,
        help_text="The month's rate in percent (0.53 = +0.53 %; may be negative).",
    )

    def get_month(self, obj: IndexValue) -> str:
        return f"{obj.month:%Y-%m}"


class IndexValueInputSerializer(StrictSerializer):
    month = serializers.CharField(max_length=10, help_text="The month, YYYY-MM.")
    rate = _rate_field("The month's rate in percent, -50 to 100 (0.53 = +0.53 %).")

    def validate_month(self, value: str) -> date:
        try:
            return parse_month(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class IndexValuesSetSerializer(StrictSerializer):
    values = IndexValueInputSerializer(
        many=True, help_text="Months and their rates; a month already there is replaced."
    )


class IndexValuesSerializer(serializers.Serializer[Any]):
    object = ObjectField("list")
    data = IndexValueSerializer(many=True, help_text="Every month of the series, oldest first.")  # type: ignore[assignment]


@extend_schema_view(
    list=extend_schema(summary="List index series", responses=IndexSeriesSerializer),
    retrieve=extend_schema(
        summary="Retrieve an index series", parameters=[_id_param("index series", "idx")]
    ),
    create=extend_schema(
        summary="Create an index series (IPCA, IGP-M, INPC or your own)",
        request=IndexSeriesCreateSerializer,
        responses={201: IndexSeriesSerializer},
    ),
)
class IndexSeriesViewSet(ApiViewSet):
    serializer_class = IndexSeriesSerializer
    object_name = "index series"

    def get_queryset(self) -> QuerySet[IndexSeries]:
        return index_series_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(IndexSeriesSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(IndexSeriesSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(IndexSeriesCreateSerializer, request)
        series = services.index_series_create(
            tenant=self.tenant, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(IndexSeriesSerializer, series, status=201)

    @extend_schema(
        methods=["GET"],
        operation_id="index_series_values_list",
        summary="List a series' monthly values",
        parameters=[_id_param("index series", "idx")],
        responses=IndexValuesSerializer,
    )
    @extend_schema(
        methods=["POST"],
        operation_id="index_series_values_set",
        summary="Set monthly values of a series (a month already there is replaced)",
        parameters=[_id_param("index series", "idx")],
        request=IndexValuesSetSerializer,
        responses=IndexValuesSerializer,
    )
    @action(detail=True, methods=["get", "post"])
    def values(self, request: Request, id: str) -> Response:
        series = self.get_object()
        if request.method != "POST":
            return self._values(series)
        data = input_of(IndexValuesSetSerializer, request)
        values = {}
        for row in data["values"]:
            if row["month"] in values:
                raise ValidationFailed(
                    f"The month {row['month']:%Y-%m} appears twice.", param="values"
                )
            values[row["month"]] = row["rate"]
        services.index_values_set(
            tenant=self.tenant,
            series_id=series.pk,
            values=values,
            actor=self.actor,
            now=clock.now(),
            source="api",
        )
        return self._values(series)

    def _values(self, series: IndexSeries) -> Response:
        rows = IndexValue.objects.filter(tenant=self.tenant, series=series).order_by("month")
        return Response(IndexValuesSerializer({"object": "list", "data": rows}).data)


# --- policies ---------------------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer):
    object = ObjectField("readjustment_policy")
    plan_code = serializers.CharField(help_text="The plan's code: every version of it.")
    method = serializers.ChoiceField(
        choices=ReadjustmentPolicy.Method.choices, help_text="index or fixed."
    )
    index_series = PublicIdOf("series.public_id", help_text="The index (idx_…), or null.")
    fixed_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, help_text="The fixed percentage."
    )
    period = serializers.ChoiceField(
        choices=ReadjustmentPolicy.Period.choices, help_text="anniversary or fixed_month."
    )
    month = serializers.IntegerField(allow_null=True, help_text="1–12 for fixed_month.")
    floor_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, help_text="The floor, or null."
    )
    cap_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, help_text="The cap, or null."
    )
    notice_days = serializers.IntegerField(help_text="Days of notice before the date.")
    automatic = serializers.BooleanField(help_text="Decided and notified without a click.")
    applies_to = serializers.ChoiceField(
        choices=ReadjustmentPolicy.AppliesTo.choices,
        help_text="recurring (the recurring fee) or recurring_and_add_ons (its add-ons too, "
        "by the same factor).",
    )
    active = serializers.BooleanField(help_text="False once turned off on the dashboard.")

    class Meta:
        model = ReadjustmentPolicy
        fields = [
            "object",
            "plan_code",
            "method",
            "index_series",
            "fixed_percent",
            "period",
            "month",
            "floor_percent",
            "cap_percent",
            "notice_days",
            "automatic",
            "applies_to",
            "active",
        ]
        read_only_fields = fields


class PolicySetSerializer(StrictSerializer):
    plan = Ref(
        queryset=lambda t: plan_list(tenant=t),
        what="plan",
        help_text="The plan (plan_…); the policy covers every version of its code.",
    )
    method = serializers.ChoiceField(
        choices=ReadjustmentPolicy.Method.choices, help_text="index or fixed."
    )
    index_series = Ref(
        queryset=lambda t: index_series_list(tenant=t),
        what="index series",
        required=False,
        allow_null=True,
        default=None,
        help_text="The index (idx_…), for the index method.",
    )
    fixed_percent = _percent_field("The percentage, for the fixed method.")
    period = serializers.ChoiceField(
        choices=ReadjustmentPolicy.Period.choices,
        default=ReadjustmentPolicy.Period.ANNIVERSARY,
        help_text="anniversary (every 12 months from each start) or fixed_month.",
    )
    month = serializers.IntegerField(
        min_value=1,
        max_value=12,
        required=False,
        allow_null=True,
        default=None,
        help_text="1–12, for fixed_month.",
    )
    floor_percent = _percent_field("The lowest readjustment, in percent (0: never lower).")
    cap_percent = _percent_field("The highest readjustment, in percent.")
    notice_days = serializers.IntegerField(
        min_value=0, max_value=MAX_NOTICE_DAYS, default=30, help_text="Days of notice."
    )
    automatic = serializers.BooleanField(default=True, help_text="Apply without a click.")
    applies_to = serializers.ChoiceField(
        choices=ReadjustmentPolicy.AppliesTo.choices,
        default=ReadjustmentPolicy.AppliesTo.RECURRING,
        help_text="recurring (the recurring fee; the default) or recurring_and_add_ons "
        "(the contracts' add-ons too, by the same factor).",
    )


@extend_schema_view(
    list=extend_schema(summary="List readjustment policies", responses=PolicySerializer),
    create=extend_schema(
        summary="Set a plan's readjustment policy (replaces the one it had)",
        request=PolicySetSerializer,
        responses={201: PolicySerializer},
    ),
)
class PolicyViewSet(ApiViewSet):
    serializer_class = PolicySerializer
    object_name = "readjustment policy"

    def get_queryset(self) -> QuerySet[ReadjustmentPolicy]:
        return policy_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PolicySerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = input_of(PolicySetSerializer, request)
        series = data.pop("index_series")
        policy = services.readjustment_policy_set(
            tenant=self.tenant,
            plan_code=data.pop("plan").code,
            series_id=series.pk if series else None,
            actor=self.actor,
            now=clock.now(),
            **data,
        )
        return self.respond(PolicySerializer, policy, status=201)


# --- readjustments ------------------------------------------------------------------------


class AddOnChangeSerializer(serializers.Serializer[Any]):
    item = serializers.CharField(help_text="The subscription's add-on (si_…).")
    plan = serializers.CharField(help_text="The add-on plan's code.")
    quantity = serializers.IntegerField(help_text="Its quantity when decided.")
    old_amount = serializers.IntegerField(source="old", help_text="Unit price, minor units.")
    new_amount = serializers.IntegerField(source="new", help_text="Unit price, minor units.")


class ReadjustmentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="rdj_…")
    object = ObjectField("readjustment")
    subscription = PublicIdOf("subscription.public_id", help_text="The subscription (sub_…).")
    status = serializers.ChoiceField(
        choices=Readjustment.Status.choices,
        help_text="scheduled (notice sent), applied or skipped.",
    )
    due_on = serializers.DateField(help_text="The readjustment's date.")
    effective_at = serializers.DateTimeField(help_text="The period the new price applies from.")
    currency = serializers.CharField(help_text="ISO 4217.")
    old_amount = serializers.IntegerField(source="old_amount_minor", help_text="Minor units.")
    new_amount = serializers.IntegerField(source="new_amount_minor", help_text="Minor units.")
    factor = serializers.DecimalField(
        max_digits=14, decimal_places=8, help_text="Applied (after floor and cap): 0.0462 = 4.62 %."
    )
    computed_factor = serializers.DecimalField(
        max_digits=14, decimal_places=8, help_text="Before floor and cap."
    )
    index_series = serializers.CharField(source="series_name", help_text="The index, or empty.")
    index_months = serializers.ListField(
        child=serializers.CharField(), help_text="The months used, YYYY-MM."
    )
    add_ons = AddOnChangeSerializer(
        source="item_changes",
        many=True,
        help_text="The add-ons readjusted with it (a policy covering add-ons): an add-on "
        "removed before the date is skipped; one added after keeps its list price.",
    )
    applied_at = serializers.DateTimeField(allow_null=True, help_text="When it took effect.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was decided.")

    class Meta:
        model = Readjustment
        fields = [
            "id",
            "object",
            "subscription",
            "status",
            "due_on",
            "effective_at",
            "currency",
            "old_amount",
            "new_amount",
            "factor",
            "computed_factor",
            "index_series",
            "index_months",
            "add_ons",
            "applied_at",
            "created",
        ]
        read_only_fields = fields


class DueSerializer(serializers.Serializer[Any]):
    object = ObjectField("due_readjustment")
    subscription = serializers.CharField(help_text="sub_…")
    customer = serializers.CharField(help_text="cus_…")
    plan = serializers.CharField(help_text="The plan's code.")
    due_on = serializers.DateField(help_text="The readjustment's date.")
    notice_on = serializers.DateField(help_text="The day the notice goes out.")
    effective_at = serializers.DateTimeField(help_text="The period the new price applies from.")
    currency = serializers.CharField(help_text="ISO 4217.")
    old_amount = serializers.IntegerField(help_text="Minor units.")
    factor = serializers.DecimalField(
        max_digits=14, decimal_places=8, allow_null=True, help_text="Null while waiting."
    )
    new_amount = serializers.IntegerField(allow_null=True, help_text="Null while waiting.")
    add_ons = AddOnChangeSerializer(
        many=True, help_text="The add-ons readjusted with it (a policy covering add-ons)."
    )
    old_total = serializers.IntegerField(
        help_text="A period's recurring fee plus every live add-on's, now (minor units)."
    )
    new_total = serializers.IntegerField(
        allow_null=True, help_text="The same after the readjustment; null while waiting."
    )
    waiting_for = serializers.ListField(
        child=serializers.CharField(), help_text="Index months missing (YYYY-MM)."
    )
    readjustment = serializers.CharField(
        allow_null=True, help_text="The readjustment decided (rdj_…), or null."
    )


def _due_row(item: DueReadjustment) -> dict[str, Any]:
    return {
        "object": "due_readjustment",
        "subscription": item.subscription.public_id,
        "customer": item.subscription.customer.public_id,
        "plan": item.subscription.plan.code,
        "due_on": item.due_on,
        "notice_on": item.notice_on,
        "effective_at": item.effective_at,
        "currency": item.currency,
        "old_amount": item.old_amount_minor,
        "factor": item.factor,
        "new_amount": item.new_amount_minor,
        "add_ons": [c.as_json() for c in item.item_changes],
        "old_total": item.old_total_minor,
        "new_total": item.new_total_minor,
        "waiting_for": [f"{m:%Y-%m}" for m in item.missing_months],
        "readjustment": item.scheduled.public_id if item.scheduled else None,
    }


class DueListSerializer(serializers.Serializer[Any]):
    object = ObjectField("list")
    data = DueSerializer(many=True)  # type: ignore[assignment]


class ApplySerializer(StrictSerializer):
    subscriptions = serializers.ListField(
        child=serializers.CharField(max_length=80),
        min_length=1,
        max_length=500,
        help_text="The subscriptions to readjust now (sub_…): each gets its notice.",
    )


class ApplyResultSerializer(serializers.Serializer[Any]):
    object = ObjectField("list")
    data = ReadjustmentSerializer(many=True)  # type: ignore[assignment]
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="Per subscription, why it was not readjusted."
    )


_DAYS = OpenApiParameter(
    "days", int, OpenApiParameter.QUERY, description="How far ahead, in days (1–366; 30)."
)


@extend_schema_view(
    list=extend_schema(summary="List readjustments decided", responses=ReadjustmentSerializer),
    retrieve=extend_schema(
        summary="Retrieve a readjustment", parameters=[_id_param("readjustment", "rdj")]
    ),
    due=extend_schema(
        summary="Contracts whose readjustment falls in the next N days",
        parameters=[_DAYS],
        responses=DueListSerializer,
    ),
    apply=extend_schema(
        summary="Readjust these contracts now (in bulk or one)",
        request=ApplySerializer,
        responses=ApplyResultSerializer,
    ),
)
class ReadjustmentViewSet(ApiViewSet):
    serializer_class = ReadjustmentSerializer
    object_name = "readjustment"

    def get_queryset(self) -> QuerySet[Readjustment]:
        return (
            Readjustment.objects.for_tenant(self.tenant)
            .select_related("subscription")
            .order_by("-created_at", "-id")
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ReadjustmentSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(ReadjustmentSerializer, self.get_object())

    @action(detail=False, methods=["get"])
    def due(self, request: Request) -> Response:
        raw = request.query_params.get("days", "30")
        if not raw.isdigit() or not 1 <= int(raw) <= 366:
            raise ValidationFailed("days must be a whole number from 1 to 366.", param="days")
        items = readjustments_due(tenant=self.tenant, now=clock.now(), days=int(raw))
        return Response(
            DueListSerializer({"object": "list", "data": [_due_row(i) for i in items]}).data
        )

    @action(detail=False, methods=["post"])
    def apply(self, request: Request) -> Response:
        data = input_of(ApplySerializer, request)
        found = dict(
            subscription_list(tenant=self.tenant)
            .filter(public_id__in=data["subscriptions"])
            .values_list("public_id", "pk")
        )
        missing = [p for p in data["subscriptions"] if p not in found]
        if missing:
            from core.errors import NotFound

            raise NotFound(f"No such subscription: '{missing[0]}'", param="subscriptions")
        done, failed = services.readjustments_schedule_many(
            tenant=self.tenant,
            subscription_ids=list(found.values()),
            actor=self.actor,
            now=clock.now(),
        )
        by_pk = {pk: public for public, pk in found.items()}
        rows = self.get_queryset().filter(pk__in=[r.pk for r in done])
        return Response(
            ApplyResultSerializer(
                {
                    "object": "list",
                    "data": rows,
                    "errors": {by_pk[pk]: message for pk, message in failed.items()},
                }
            ).data
        )


def register(router: SimpleRouter) -> None:
    router.register("index_series", IndexSeriesViewSet, basename="index-series")
    router.register("readjustment_policies", PolicyViewSet, basename="readjustment-policy")
    router.register("readjustments", ReadjustmentViewSet, basename="readjustment")
