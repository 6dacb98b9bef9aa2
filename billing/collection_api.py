"""``/api/v1/collection_settings`` (GET, PATCH): how the account collects by
boleto and Pix, the same settings as the dashboard's Settings → Payments, through
the same service (``collection_settings_update``), so both refuse the same values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing.models import CollectionSettings
from billing.segunda_via import collection_settings, collection_settings_update
from core import clock
from core.actors import Actor
from core.api.fields import ObjectField, StrictSerializer
from tenants.requests import TenantApiRequest

_HELP = {
    "boleto_fine_percent": "The late fee (multa) a segunda via adds once, in % of the amount: "
    "0 to 10, at most two decimals. Consumer contracts in Brazil cap it at 2 % "
    "(CDC art. 52 §1).",
    "boleto_monthly_interest_percent": "Interest (juros) a month, counted per day late, in % "
    "of the amount: 0 to 10, at most two decimals.",
    "boleto_days_to_pay": "Days from issue to a boleto's due date: 1 to 30.",
    "boleto_with_pix": "Each boleto also carries a Pix QR code for the same amount (bolepix); "
    "the first rail paid withdraws the other.",
    "pix_automatico": "A subscriber choosing Pix for a recurring plan in the portal or the "
    "checkout is offered Pix Automático (one QR pays the first charge and authorises the "
    "next ones).",
}


class CollectionSettingsSerializer(serializers.Serializer[CollectionSettings]):
    object = ObjectField("collection_settings")
    boleto_fine_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text=_HELP["boleto_fine_percent"]
    )
    boleto_monthly_interest_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text=_HELP["boleto_monthly_interest_percent"]
    )
    boleto_days_to_pay = serializers.IntegerField(help_text=_HELP["boleto_days_to_pay"])
    boleto_with_pix = serializers.BooleanField(help_text=_HELP["boleto_with_pix"])
    pix_automatico = serializers.BooleanField(help_text=_HELP["pix_automatico"])


def _percent(name: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        coerce_to_string=False,
        min_value=Decimal(0),
        max_value=Decimal(10),
        required=False,
        help_text=_HELP[name],
    )


class CollectionSettingsUpdateSerializer(StrictSerializer):
    """Any subset; a field left out keeps its value, null is refused."""

    boleto_fine_percent = _percent("boleto_fine_percent")
    boleto_monthly_interest_percent = _percent("boleto_monthly_interest_percent")
    boleto_days_to_pay = serializers.IntegerField(
        min_value=1, max_value=30, required=False, help_text=_HELP["boleto_days_to_pay"]
    )
    boleto_with_pix = serializers.BooleanField(required=False, help_text=_HELP["boleto_with_pix"])
    pix_automatico = serializers.BooleanField(required=False, help_text=_HELP["pix_automatico"])


class CollectionSettingsViewSet(viewsets.GenericViewSet[Any]):
    """The calling key's account's collection settings: one object, no id."""

    serializer_class = CollectionSettingsSerializer
    request: TenantApiRequest

    @extend_schema(
        summary="Retrieve the collection settings",
        description="Boleto late charges and due days, bolepix, and whether Pix Automático "
        "is offered to subscribers.",
        responses=CollectionSettingsSerializer,
    )
    def show(self, request: Request) -> Response:
        found = collection_settings(tenant=self.request.tenant)
        return Response(CollectionSettingsSerializer(found).data)

    @extend_schema(
        summary="Update the collection settings",
        description="Change any of them; fields left out keep their value. All or nothing: "
        "one bad value and nothing changes. Read-only keys are refused.",
        request=CollectionSettingsUpdateSerializer,
        responses=CollectionSettingsSerializer,
    )
    def modify(self, request: Request) -> Response:
        body = CollectionSettingsUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        updated = collection_settings_update(
            tenant=self.request.tenant,
            fine_percent=data.get("boleto_fine_percent"),
            monthly_interest_percent=data.get("boleto_monthly_interest_percent"),
            days_to_pay=data.get("boleto_days_to_pay"),
            with_pix=data.get("boleto_with_pix"),
            pix_automatico=data.get("pix_automatico"),
            actor=Actor.api_key(request.auth),
            now=clock.now(),
        )
        return Response(CollectionSettingsSerializer(updated).data)


def register(router: SimpleRouter) -> None:
    router.register(
        "collection_settings", CollectionSettingsViewSet, basename="collection_settings"
    )
