"""Checkout sessions over the REST API.

Created and read with a secret key from a server or with a **publishable
key** from the browser (``pk_…``: it may do nothing else in the API); expired
with a secret key only. Creations with a publishable key count against that
key's budget (``checkout.limits``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from checkout.limits import checkout_attempt_count
from checkout.models import CheckoutSession
from checkout.sessions import (
    checkout_session_create,
    checkout_session_expire,
    checkout_session_status,
    checkout_session_url,
)
from core import clock
from core.api import ApiViewSet, ObjectField, StrictSerializer, input_of
from tenants.auth import HasTenantApiKey
from tenants.models import ApiKey
from tenants.requests import TenantApiRequest


class SecretOrPublishableKey(HasTenantApiKey):
    """A secret key, or a publishable key for creating and reading sessions."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if isinstance(key, ApiKey) and key.kind == ApiKey.Kind.PUBLISHABLE:
            if getattr(view, "action", None) in ("create", "retrieve"):
                return True
            raise exceptions.PermissionDenied(
                "A publishable key may only create and retrieve checkout sessions.",
                code="publishable_key",
            )
        return super().has_permission(request, view)


class CheckoutSessionSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="cs_…")
    object = ObjectField("checkout_session")
    url = serializers.SerializerMethodField(help_text="The hosted checkout page of this session.")
    status = serializers.SerializerMethodField(help_text="open, complete or expired.")
    embed_url = serializers.SerializerMethodField(
        help_text="The same page for an iframe on the merchant's site (its origin must be "
        "among the account's embed_domains)."
    )
    plan = serializers.CharField(
        source="plan.public_id",
        help_text="The plan (plan_…): the one bought once complete, else the first offered.",
    )
    plans = serializers.SerializerMethodField(
        help_text="The plans the visitor may pick from (plan_…), in order."
    )
    quantity = serializers.IntegerField(help_text="How many (seats) of the plan.")
    customer_name = serializers.CharField(help_text="The name the form is prefilled with.")
    customer_email = serializers.CharField(help_text="The email the form is prefilled with.")
    customer_tax_id = serializers.CharField(help_text="The CPF/CNPJ the form is prefilled with.")
    success_url = serializers.CharField(help_text="Where the visitor goes once subscribed.")
    cancel_url = serializers.CharField(help_text="Where the visitor goes to give up.")
    expires_at = serializers.DateTimeField(help_text="When the session stops accepting payment.")
    customer = serializers.SerializerMethodField(help_text="cus_… once complete, else null.")
    subscription = serializers.SerializerMethodField(help_text="sub_… once complete, else null.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")
    completed = serializers.DateTimeField(
        source="completed_at", allow_null=True, help_text="When it completed, or null."
    )

    def get_url(self, obj: CheckoutSession) -> str:
        return settings.SITE_URL.rstrip("/") + checkout_session_url(obj, obj.tenant)

    def get_embed_url(self, obj: CheckoutSession) -> str:
        return self.get_url(obj) + "?embed=1"

    def get_plans(self, obj: CheckoutSession) -> list[str]:
        return list(obj.plan_options or [obj.plan.public_id])

    def get_status(self, obj: CheckoutSession) -> str:
        return str(checkout_session_status(obj, clock.now()))

    def get_customer(self, obj: CheckoutSession) -> str | None:
        return obj.customer.public_id if obj.customer is not None else None

    def get_subscription(self, obj: CheckoutSession) -> str | None:
        return obj.subscription.public_id if obj.subscription is not None else None


class _PlanId(serializers.CharField):
    """A plan id in a list: a JSON string only (DRF would turn 7 into "7")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class CheckoutSessionCreateSerializer(StrictSerializer):
    plan = serializers.CharField(
        max_length=64, required=False, help_text="The plan to sell (plan_…); or give plans."
    )
    plans = serializers.ListField(
        child=_PlanId(max_length=64),
        required=False,
        min_length=1,
        max_length=10,
        help_text="1 to 10 active plans (plan_…) the visitor picks one of; instead of plan.",
    )
    quantity = serializers.IntegerField(
        required=False, min_value=1, max_value=10_000, help_text="Seats, for per-seat plans."
    )
    name = serializers.CharField(max_length=200, required=False, help_text="Prefill: name.")
    email = serializers.CharField(max_length=254, required=False, help_text="Prefill: email.")
    tax_id = serializers.CharField(max_length=40, required=False, help_text="Prefill: CPF/CNPJ.")
    success_url = serializers.CharField(
        max_length=2000, help_text="http(s) URL the visitor is sent to once subscribed."
    )
    cancel_url = serializers.CharField(
        max_length=2000, required=False, help_text="http(s) URL of a 'back' link on the page."
    )


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}
_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The session's id, cs_…")


@extend_schema_view(
    retrieve=extend_schema(summary="Retrieve a checkout session", parameters=[_ID]),
    create=extend_schema(
        summary="Create a checkout session (secret or publishable key)",
        request=CheckoutSessionCreateSerializer,
        responses={201: CheckoutSessionSerializer},
    ),
    expire=extend_schema(
        summary="Expire an open checkout session",
        parameters=[_ID],
        request=None,
        responses=CheckoutSessionSerializer,
    ),
)
class CheckoutSessionViewSet(ApiViewSet):
    serializer_class = CheckoutSessionSerializer
    object_name = "checkout_session"
    permission_classes = [SecretOrPublishableKey]
    request: TenantApiRequest

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """CORS for the browser: any origin may call these two routes, because
        the key travels in the Authorization header (never a cookie): a page
        can only act with a key it holds, and a publishable key can only
        create and read checkout sessions. The preflight is answered before
        authentication (browsers send it without the key)."""
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response: Any = HttpResponse(status=204)
        else:
            response = super().dispatch(request, *args, **kwargs)
        for header, value in CORS_HEADERS.items():
            response[header] = value
        return response

    def get_queryset(self) -> QuerySet[CheckoutSession]:
        return CheckoutSession.objects.filter(tenant=self.request.tenant).select_related(
            "plan", "customer", "subscription", "tenant"
        )

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(CheckoutSessionSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(CheckoutSessionCreateSerializer, request)
        key = request.auth
        if isinstance(key, ApiKey) and key.kind == ApiKey.Kind.PUBLISHABLE:
            checkout_attempt_count(ip=None, publishable_key=str(key.pk))
        session = checkout_session_create(
            tenant=self.tenant, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(CheckoutSessionSerializer, session, status=201)

    @action(detail=True, methods=["post"])
    def expire(self, request: Request, id: str) -> Response:
        session = self.get_object()
        session = checkout_session_expire(
            tenant=self.tenant, session_id=session.pk, actor=self.actor, now=clock.now()
        )
        return self.respond(CheckoutSessionSerializer, session)


def register(router: SimpleRouter) -> None:
    router.register("checkout_sessions", CheckoutSessionViewSet, basename="checkout_session")
