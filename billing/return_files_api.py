"""Bank return files (CNAB 240) over the REST API (``/api/v1/boleto_return_files``).

The API speaks JSON only, so the file travels base64-encoded in ``content_base64``
(at most ``MAX_RETURN_FILE_BYTES`` once decoded)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing.models import BoletoReturnFile, BoletoReturnLine
from billing.return_files import MAX_RETURN_FILE_BYTES, boleto_return_file_process
from core import clock
from core.api import ApiViewSet, ObjectField, PublicIdOf, StrictSerializer, input_of
from core.errors import ValidationFailed


class BoletoReturnLineSerializer(serializers.ModelSerializer[BoletoReturnLine]):
    line = serializers.IntegerField(help_text="The segment T's line in the file (1-based).")
    movement_code = serializers.CharField(
        help_text="The bank's código de movimento (06 and 17: paid)."
    )
    our_number = serializers.CharField(help_text="The nosso número, leading zeros trimmed.")
    paid_minor = serializers.IntegerField(help_text="Valor pago, in centavos.")
    expected_minor = serializers.IntegerField(
        allow_null=True, help_text="What the slip asked for, or null when it is not ours."
    )
    currency = serializers.CharField(help_text="ISO 4217 currency (BRL).")
    outcome = serializers.ChoiceField(
        choices=BoletoReturnLine.Outcome.choices,
        help_text="settled; overpaid (settled, the difference to refund); already_paid; "
        "underpaid (not settled); unknown (a nosso número this account did not issue); "
        "withdrawn (paid when nothing was due: the whole amount to refund); not_a_payment.",
    )
    refund_due_minor = serializers.IntegerField(help_text="Money received that nothing owes.")
    payment = PublicIdOf("attempt.public_id", help_text="The boleto's payment (pay_…), or null.")

    class Meta:
        model = BoletoReturnLine
        fields = [
            "line",
            "movement_code",
            "our_number",
            "paid_minor",
            "expected_minor",
            "currency",
            "outcome",
            "refund_due_minor",
            "payment",
        ]
        read_only_fields = fields


class BoletoReturnFileSerializer(serializers.ModelSerializer[BoletoReturnFile]):
    id = serializers.CharField(source="public_id", help_text="brf_…")
    object = ObjectField("boleto_return_file")
    filename = serializers.CharField(help_text="The name it was uploaded with.")
    sha256 = serializers.CharField(help_text="SHA-256 of the file's bytes.")
    size_bytes = serializers.IntegerField(help_text="Size of the file.")
    bank_code = serializers.CharField(help_text="The bank's code (header, 001-003).")
    sequence = serializers.IntegerField(help_text="The bank's file sequence number (NSA).")
    created = serializers.DateTimeField(source="created_at", help_text="When it was processed.")
    lines = BoletoReturnLineSerializer(many=True, help_text="What each título did.")

    class Meta:
        model = BoletoReturnFile
        fields = [
            "id",
            "object",
            "filename",
            "sha256",
            "size_bytes",
            "bank_code",
            "sequence",
            "created",
            "lines",
        ]
        read_only_fields = fields


class BoletoReturnFileCreateSerializer(StrictSerializer):
    filename = serializers.CharField(
        max_length=200, required=False, default="", help_text="The file's name, for the record."
    )
    content_base64 = serializers.CharField(
        max_length=(MAX_RETURN_FILE_BYTES + 2) // 3 * 4 + 8,
        help_text=f"The CNAB 240 return file, base64-encoded (at most {MAX_RETURN_FILE_BYTES} "
        "bytes decoded).",
        trim_whitespace=True,
        allow_blank=True,  # an empty file gets its own error (empty_file)
    )


def _decoded(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            "content_base64 is not valid base64.", param="content_base64", code="invalid_base64"
        ) from None


@extend_schema_view(
    list=extend_schema(summary="List processed bank return files"),
    retrieve=extend_schema(
        summary="Retrieve a processed return file with each line's outcome",
        parameters=[
            OpenApiParameter(
                "id", str, OpenApiParameter.PATH, description="The return file's id, brf_…"
            )
        ],
    ),
    create=extend_schema(
        summary="Process a CNAB 240 return file: settle each paid boleto once",
        request=BoletoReturnFileCreateSerializer,
        responses={201: BoletoReturnFileSerializer},
    ),
)
class BoletoReturnFileViewSet(ApiViewSet):
    serializer_class = BoletoReturnFileSerializer
    object_name = "boleto_return_file"

    def get_queryset(self) -> QuerySet[BoletoReturnFile]:
        return (
            BoletoReturnFile.objects.filter(tenant=self.tenant)
            .prefetch_related("lines__attempt")
            .order_by("-created_at", "-id")
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BoletoReturnFileSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(BoletoReturnFileSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data: dict[str, Any] = input_of(BoletoReturnFileCreateSerializer, request)
        try:
            stored = boleto_return_file_process(
                tenant=self.tenant,
                content=_decoded(data["content_base64"]),
                filename=data["filename"],
                actor=self.actor,
                now=clock.now(),
            )
        except ValidationFailed as exc:
            if exc.param != "file":
                raise
            # The file is this body's content_base64: name the field the caller sent.
            raise ValidationFailed(str(exc), param="content_base64", code=exc.code) from None
        return self.respond(
            BoletoReturnFileSerializer, self.get_queryset().get(pk=stored.pk), status=201
        )


def register(router: SimpleRouter) -> None:
    router.register("boleto_return_files", BoletoReturnFileViewSet, basename="boleto_return_file")
