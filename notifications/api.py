"""REST API resources of this app (issue 6): webhook endpoints and events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from core import clock
from core.api import (
    CREATED_FILTERS,
    ApiViewSet,
    DeletedSerializer,
    ListFilter,
    ObjectField,
    PublicIdOf,
    StrictSerializer,
    apply_list_filters,
    input_of,
)
from core.errors import ValidationFailed
from notifications import webhooks
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.webhooks.filters import _valid_filter
from tenants.models import Event

ID_PARAM = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The webhook endpoint's id (we_…)."
)
EVENT_ID_PARAM = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The event's id (evt_…)."
)

# --- webhook endpoints --------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", read_only=True, help_text="Unique identifier (we_…)."
    )
    object = ObjectField("webhook_endpoint")
    url = serializers.CharField(read_only=True, help_text="Where events are POSTed.")
    description = serializers.CharField(read_only=True, help_text="Your note about it.")
    enabled_events = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Event types sent here: exact (invoice.paid), prefixes (invoice.*) or *.",
    )
    status = serializers.ChoiceField(
        choices=WebhookEndpoint.Status.choices,
        read_only=True,
        help_text="enabled, or disabled (nothing is sent; deliveries wait).",
    )
    disabled_reason = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Why it is disabled: manual, or failing (every request failed for 3 days).",
    )
    disabled_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it was disabled."
    )
    created_at = serializers.DateTimeField(read_only=True, help_text="When it was created.")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "object",
            "url",
            "description",
            "enabled_events",
            "status",
            "disabled_reason",
            "disabled_at",
            "created_at",
        ]

    def to_representation(self, instance: WebhookEndpoint) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["disabled_reason"] = instance.disabled_reason or None
        return data


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (whsec_…), shown only when created or rotated."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]

    def get_secret(self, obj: WebhookEndpoint) -> str:
        return self.context["secret"]


class EnabledEventsField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(max_length=64),
            min_length=1,
            max_length=webhooks.MAX_EVENT_FILTERS,
            help_text="Event types to send: exact (invoice.paid), prefixes (invoice.*) or *.",
            **kwargs,
        )


class WebhookEndpointCreateInput(StrictSerializer):
    url = serializers.CharField(
        max_length=webhooks.MAX_URL_LENGTH,
        help_text="An https URL on a public address.",
    )
    enabled_events = EnabledEventsField()
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="A note."
    )


class WebhookEndpointUpdateInput(StrictSerializer):
    url = serializers.CharField(
        max_length=webhooks.MAX_URL_LENGTH,
        required=False,
        help_text="An https URL on a public address.",
    )
    enabled_events = EnabledEventsField(required=False)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="A note."
    )
    status = serializers.ChoiceField(
        choices=WebhookEndpoint.Status.choices,
        required=False,
        help_text="disabled stops sending; enabled resumes it (waiting deliveries go out).",
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(read_only=True, help_text="1 for the first attempt, …")
    manual = serializers.BooleanField(read_only=True, help_text="True for a replay.")
    outcome = serializers.ChoiceField(
        choices=WebhookAttempt.Outcome.choices,
        read_only=True,
        help_text="sending, succeeded (2xx), failed, or interrupted (the sender stopped).",
    )
    started_at = serializers.DateTimeField(read_only=True, help_text="When it was sent.")
    finished_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the answer (or error) came."
    )
    response_status = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The HTTP status your endpoint answered."
    )
    response_body = serializers.CharField(
        read_only=True, help_text="The start of your endpoint's answer (up to 1000 characters)."
    )
    duration_ms = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="How long the request took."
    )
    error = serializers.CharField(
        read_only=True, help_text="What went wrong (timeout, connection refused, HTTP 500…)."
    )

    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "manual",
            "outcome",
            "started_at",
            "finished_at",
            "response_status",
            "response_body",
            "duration_ms",
            "error",
        ]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", read_only=True, help_text="Unique identifier (wd_…)."
    )
    object = ObjectField("webhook_delivery")
    webhook_endpoint = PublicIdOf("endpoint.public_id", help_text="The endpoint (we_…).")
    event = PublicIdOf(
        "event.public_id", help_text="The event (evt_…); also the webhook-id header."
    )
    event_type = serializers.CharField(
        source="event.type", read_only=True, help_text="The event's type."
    )
    status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.choices,
        read_only=True,
        help_text="pending (waiting for its next attempt), sending, delivered, or failed "
        "(retries used up).",
    )
    attempt_count = serializers.IntegerField(read_only=True, help_text="Attempts so far.")
    next_attempt_at = serializers.SerializerMethodField(
        help_text="When the next attempt is due (pending only)."
    )
    delivered_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When a 2xx answer came."
    )
    last_response_status = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The last HTTP status answered."
    )
    last_error = serializers.CharField(read_only=True, help_text="The last failure, if any.")
    attempts = WebhookAttemptSerializer(
        many=True, read_only=True, help_text="Every attempt, oldest first."
    )
    created_at = serializers.DateTimeField(read_only=True, help_text="When it was planned.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "object",
            "webhook_endpoint",
            "event",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "delivered_at",
            "last_response_status",
            "last_error",
            "attempts",
            "created_at",
        ]

    def get_next_attempt_at(self, obj: WebhookDelivery) -> str | None:
        if obj.status != WebhookDelivery.Status.PENDING or obj.next_attempt_at is None:
            return None
        return serializers.DateTimeField().to_representation(obj.next_attempt_at)


class ReplayInput(StrictSerializer):
    delivery = serializers.CharField(
        max_length=80, required=False, help_text="A delivery of this endpoint to send again (wd_…)."
    )
    event = serializers.CharField(
        max_length=80,
        required=False,
        help_text="An event to send to this endpoint, sent before or not (evt_…).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("delivery" in attrs) == ("event" in attrs):
            raise serializers.ValidationError(
                {"delivery": ["Give exactly one of delivery or event."]}, code="invalid"
            )
        return attrs


def _with_attempts(qs: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    return qs.prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
    )


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Retrieve a webhook endpoint", parameters=[ID_PARAM]),
    create=extend_schema(
        summary="Create a webhook endpoint",
        request=WebhookEndpointCreateInput,
        responses={201: WebhookEndpointWithSecretSerializer},
    ),
    partial_update=extend_schema(
        summary="Update, disable or enable a webhook endpoint",
        parameters=[ID_PARAM],
        request=WebhookEndpointUpdateInput,
        responses={200: WebhookEndpointSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint and its delivery log",
        parameters=[ID_PARAM],
        responses={200: DeletedSerializer},
    ),
)
class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = WebhookEndpointSerializer
    object_name = "webhook endpoint"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    list_filters = (
        ListFilter(
            "status",
            "status",
            "Only endpoints in this status.",
            enum=tuple(WebhookEndpoint.Status.values),
        ),
    )

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return webhooks.endpoint_list(tenant=self.tenant)

    def create(self, request: Request) -> Response:
        data = input_of(WebhookEndpointCreateInput, request)
        created = webhooks.webhook_endpoint_create(
            tenant=self.tenant, actor=self.actor, now=clock.now(), **data
        )
        return Response(
            WebhookEndpointWithSecretSerializer(
                created.endpoint, context={"secret": created.secret}
            ).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        data = input_of(WebhookEndpointUpdateInput, request)
        new_status = data.pop("status", None)
        now = clock.now()
        common = {"tenant": self.tenant, "actor": self.actor, "now": now}
        # One transaction: a bad field changes nothing, the status included.
        with transaction.atomic():
            webhooks.webhook_endpoint_update(endpoint_id=endpoint.public_id, **common, **data)
            if new_status == WebhookEndpoint.Status.DISABLED:
                webhooks.webhook_endpoint_disable(endpoint_id=endpoint.public_id, **common)
            elif new_status == WebhookEndpoint.Status.ENABLED:
                webhooks.webhook_endpoint_enable(endpoint_id=endpoint.public_id, **common)
        return self.respond(WebhookEndpointSerializer, self.get_object())

    def destroy(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        public_id = webhooks.webhook_endpoint_delete(
            tenant=self.tenant, actor=self.actor, now=clock.now(), endpoint_id=endpoint.public_id
        )
        return Response({"id": public_id, "object": "webhook_endpoint", "deleted": True})

    @extend_schema(
        summary="Rotate the signing secret",
        description="A new secret, returned this once. The previous one keeps signing (a "
        "second signature in webhook-signature) for 24 hours, so receivers can switch.",
        parameters=[ID_PARAM],
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        rotated = webhooks.webhook_endpoint_rotate_secret(
            tenant=self.tenant, actor=self.actor, now=clock.now(), endpoint_id=endpoint.public_id
        )
        return Response(
            WebhookEndpointWithSecretSerializer(
                rotated.endpoint, context={"secret": rotated.secret}
            ).data
        )

    @extend_schema(
        summary="List an endpoint's deliveries, with every attempt",
        parameters=[
            ID_PARAM,
            OpenApiParameter(
                "status",
                str,
                OpenApiParameter.QUERY,
                description="Only deliveries in this status.",
                enum=list(WebhookDelivery.Status.values),
            ),
            OpenApiParameter(
                "event", str, OpenApiParameter.QUERY, description="Only this event's (evt_…)."
            ),
        ],
        responses={200: WebhookDeliverySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        qs = _with_attempts(webhooks.delivery_list(tenant=self.tenant, endpoint=endpoint))
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in WebhookDelivery.Status.values:
                raise ValidationFailed(
                    "Expected one of: " + ", ".join(WebhookDelivery.Status.values) + ".",
                    param="status",
                    code="invalid",
                )
            qs = qs.filter(status=wanted)
        event = request.query_params.get("event")
        if event is not None:
            qs = qs.filter(event__public_id=event)
        page = self.paginate_queryset(qs)
        data = WebhookDeliverySerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Send a delivery, or an event, to this endpoint again",
        description="A new attempt now, with the same webhook-id (the event's id), so "
        "your receiver can tell it is the same event.",
        parameters=[ID_PARAM],
        request=ReplayInput,
        responses={200: WebhookDeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        data = input_of(ReplayInput, request)
        common = {
            "tenant": self.tenant,
            "actor": self.actor,
            "now": clock.now(),
            "endpoint_id": endpoint.public_id,
        }
        if "delivery" in data:
            delivery = webhooks.webhook_delivery_replay(delivery_id=data["delivery"], **common)
        else:
            delivery = webhooks.webhook_event_replay(event_id=data["event"], **common)
        fresh = _with_attempts(
            WebhookDelivery.objects.select_related("event", "endpoint").filter(pk=delivery.pk)
        ).get()
        return Response(WebhookDeliverySerializer(fresh).data)


# --- events ------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", read_only=True, help_text="Unique identifier (evt_…)."
    )
    object = ObjectField("event")
    type = serializers.CharField(read_only=True, help_text="What happened, e.g. invoice.paid.")
    created = serializers.SerializerMethodField(help_text="When it happened (ISO 8601, UTC).")
    # A field named "data" (the webhook payload's), not the serializer's .data property.
    data = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="The object it is about (object, id) and the event's details; the same "
        "as the webhook payload's data."
    )

    class Meta:
        model = Event
        fields = ["id", "object", "type", "created", "data"]

    def get_created(self, obj: Event) -> str:
        return webhooks.iso(obj.at)

    def get_data(self, obj: Event) -> dict[str, Any]:
        return webhooks.event_data(obj)


@extend_schema_view(
    list=extend_schema(
        summary="List events, newest first",
        parameters=[
            OpenApiParameter(
                "type",
                str,
                OpenApiParameter.QUERY,
                description="Only this type (invoice.paid) or prefix (invoice.*).",
            ),
        ],
    ),
    retrieve=extend_schema(summary="Retrieve an event", parameters=[EVENT_ID_PARAM]),
)
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = EventSerializer
    object_name = "event"
    list_filters = (
        ListFilter("object_id", "subject_id", "Only events about this object (its id).", "id"),
    )

    def get_queryset(self) -> QuerySet[Event]:
        return Event.objects.filter(tenant=self.tenant)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if getattr(self, "action", None) != "list":
            return queryset
        # created[…] filters on the event's own time, the "created" it shows.
        created = tuple(
            replace(f, lookup=f.lookup.replace("created_at", "at")) for f in CREATED_FILTERS
        )
        queryset = apply_list_filters(
            queryset, self.request.query_params, (*self.list_filters, *created)
        )
        wanted = self.request.query_params.get("type")
        if wanted is not None:
            if not _valid_filter(wanted) or wanted == "*":
                raise ValidationFailed(
                    "Expected an event type (invoice.paid) or a prefix (invoice.*).",
                    param="type",
                    code="invalid",
                )
            if wanted.endswith(".*"):
                queryset = queryset.filter(type__startswith=wanted[:-1])
            else:
                queryset = queryset.filter(type=wanted)
        return queryset


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the API router (see config/api.py)."""
    router.register("webhook_endpoints", WebhookEndpointViewSet, basename="webhook_endpoint")
    router.register("events", EventViewSet, basename="event")
