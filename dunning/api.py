"""The régua over the REST API: ``/api/v1/dunning_policies``.

A policy is read and changed, never created or deleted: each tenant has one per
payment-method kind from the start. Bodies are passed to the service as sent,
so a wrong type is refused with the service's message, not coerced.
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
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from core import clock
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from dunning import selectors, services
from dunning.domain import ACTIONS, CHANNELS
from dunning.models import DunningPolicy, MethodKind
from tenants.requests import TenantApiRequest


class StepSerializer(serializers.Serializer):
    offset_days = serializers.IntegerField(
        help_text="Day relative to the invoice's due date (negative = before), -60 to 180."
    )
    action = serializers.ChoiceField(choices=list(ACTIONS), help_text="What the step does.")
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=list(CHANNELS)),
        required=False,
        help_text="Reminders (and, optionally, retries on failure): who is told, by email, "
        "SMS or both.",
    )
    template = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The message template's key, e.g. dunning_reminder_overdue.",
    )


class DunningPolicySerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="dpol_…")
    object = serializers.SerializerMethodField()
    payment_method_kind = serializers.ChoiceField(choices=MethodKind.choices)
    run_hour = serializers.IntegerField(
        help_text="The tenant's local hour (0–23) at which each day's steps run."
    )
    smart_retry = serializers.BooleanField(
        help_text="Card only: retry at the hour and weekday with the best success rate in "
        "your own payment history (fixed schedule with too little history)."
    )
    active = serializers.BooleanField(help_text="Whether new unpaid invoices are dunned.")
    steps = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.CharField())
    def get_object(self, obj: DunningPolicy) -> str:
        return "dunning_policy"

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, obj: DunningPolicy) -> list[dict[str, Any]]:
        return [
            {
                "offset_days": s.offset_days,
                "action": s.action,
                "channels": list(s.channels),
                "template": s.template,
            }
            for s in obj.live_steps()
        ]


class DunningPolicyUpdateSerializer(serializers.Serializer):
    """Documents the body; values reach the service as sent."""

    run_hour = serializers.IntegerField(required=False, min_value=0, max_value=23)
    smart_retry = serializers.BooleanField(required=False)
    active = serializers.BooleanField(required=False)
    steps = StepSerializer(
        many=True, required=False, help_text="The whole new list of steps (replaces the old)."
    )


_UPDATABLE = ("run_hour", "smart_retry", "active", "steps")
_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The policy's id, dpol_…")


@extend_schema_view(
    list=extend_schema(summary="List dunning policies", responses=DunningPolicySerializer),
    retrieve=extend_schema(
        summary="Retrieve a dunning policy", parameters=[_ID], responses=DunningPolicySerializer
    ),
    partial_update=extend_schema(
        summary="Update a dunning policy",
        description="Change the hour, smart retries, whether it is active, or replace its "
        "steps. Cases already open keep the schedule they were planned with.",
        parameters=[_ID],
        request=DunningPolicyUpdateSerializer,
        responses=DunningPolicySerializer,
    ),
)
class DunningPolicyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = DunningPolicySerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    http_method_names = ["get", "patch", "head", "options"]
    request: TenantApiRequest

    def get_queryset(self) -> QuerySet[DunningPolicy]:
        return selectors.policy_list(tenant=self.request.tenant)

    def _policy(self, public_id: str) -> DunningPolicy:
        policy = selectors.policy_get(
            tenant=self.request.tenant,
            public_id=public_id,
        )
        if policy is None:
            raise NotFound(f"No such dunning policy: '{public_id}'", param="id")
        return policy

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(DunningPolicySerializer(self._policy(id)).data)

    def partial_update(self, request: Request, id: str) -> Response:
        policy = self._policy(id)
        body = request.data
        if not isinstance(body, dict):
            raise ValidationFailed("The body must be a JSON object.")
        unknown = sorted(set(body) - set(_UPDATABLE))
        if unknown:
            raise ValidationFailed(
                f"Unknown parameter: {unknown[0]}.", param=unknown[0], code="unknown_parameter"
            )
        updated = services.dunning_policy_update(
            tenant=self.request.tenant,
            policy_id=policy.pk,
            actor=Actor.api_key(request.auth),
            now=clock.now(),
            **{k: body[k] for k in _UPDATABLE if k in body},
        )
        return Response(DunningPolicySerializer(updated).data)


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the API router (see config/api.py)."""
    router.register("dunning_policies", DunningPolicyViewSet, basename="dunning_policy")
