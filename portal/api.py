"""``POST /api/v1/portal_sessions``: a short-lived, single-use URL that signs a
customer into the merchant's portal, for an integrator's "Manage subscription"
button; optionally opened on one flow (update card, cancel, change plan)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from core import clock
from core.api import ApiViewSet, Ref, StrictSerializer, input_of
from core.errors import ValidationFailed
from customers.selectors import customer_list
from portal.sessions import FLOWS, portal_session_create, portal_session_url
from subscriptions.selectors import subscription_list
from tenants.requests import TenantApiRequest


class PortalSessionCreateSerializer(StrictSerializer):
    customer = Ref(
        queryset=lambda t: customer_list(tenant=t).select_related("tenant"),
        what="customer",
        help_text="The customer (cus_…) to sign in.",
    )
    flow = serializers.ChoiceField(
        choices=list(FLOWS),
        required=False,
        help_text="Open the portal on one flow instead of its home page.",
    )
    subscription = Ref(
        queryset=lambda t: subscription_list(tenant=t),
        what="subscription",
        required=False,
        help_text="The subscription (sub_…) of a subscription_cancel or subscription_update flow.",
    )
    return_url = serializers.URLField(
        required=False,
        max_length=2000,
        help_text="Where the portal's 'back' link leads (http or https).",
    )

    def validate_return_url(self, value: str) -> str:
        if not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError("Use an http or https URL.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        flow = attrs.get("flow", "")
        sub = attrs.get("subscription")
        if flow.startswith("subscription_") and sub is None:
            raise ValidationFailed(
                "This flow needs the subscription (sub_…).", param="subscription"
            )
        if sub is not None and not flow.startswith("subscription_"):
            raise ValidationFailed(
                "A subscription goes with a subscription_cancel or subscription_update flow.",
                param="subscription",
            )
        if sub is not None and sub.customer_id != attrs["customer"].pk:
            raise ValidationFailed("This subscription is not the customer's.", param="subscription")
        return attrs


class PortalSessionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The portal session (bps_…).")
    object = serializers.CharField(help_text="portal_session")
    url = serializers.CharField(help_text="Send the customer's browser here; it works once.")
    customer = serializers.CharField(help_text="The customer (cus_…).")
    flow = serializers.CharField(help_text="The flow it opens on, or empty.")
    subscription = serializers.CharField(help_text="The flow's subscription, or empty.")
    return_url = serializers.CharField(help_text="Where the portal's 'back' link leads.")
    expires_at = serializers.DateTimeField(help_text="The URL does not work after this.")


class PortalSessionViewSet(ApiViewSet):
    serializer_class = PortalSessionSerializer
    object_name = "portal_session"
    request: TenantApiRequest

    @extend_schema(request=PortalSessionCreateSerializer, responses={201: PortalSessionSerializer})
    def create(self, request: Request) -> Response:
        data = input_of(PortalSessionCreateSerializer, request)
        customer = data["customer"]
        sub = data.get("subscription")
        session = portal_session_create(
            tenant=self.tenant,
            customer=customer,
            flow=data.get("flow", ""),
            subscription_id=sub.public_id if sub is not None else "",
            return_url=data.get("return_url", ""),
            now=clock.now(),
        )
        body = {
            "id": session.id,
            "object": "portal_session",
            "url": portal_session_url(session),
            "customer": customer.public_id,
            "flow": session.flow,
            "subscription": session.subscription_id,
            "return_url": session.return_url,
            "expires_at": session.expires_at,
        }
        return Response(PortalSessionSerializer(body).data, status=201)


def register(router: SimpleRouter) -> None:
    router.register("portal_sessions", PortalSessionViewSet, basename="portal_session")
