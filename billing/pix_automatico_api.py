"""Pix Automático mandates over the REST API (``/api/v1/pix_mandates``): list,
retrieve, create for a subscription (journey 3 or 2, with its BR Code and QR
image), cancel by the merchant; with a test-mode key, the sandbox PSP's
"simulate" actions (authorisation, a debit paid or failed, the payer's
cancellation)."""

from __future__ import annotations

import base64
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing import pix_automatico as pixauto
from billing.domain.pix_automatico import Journey, periodicity_for, recurrence_qr_png
from billing.models import Invoice, PixInstruction, PixMandate
from billing.models.pix_automatico import MandateStatus, PeriodicityChoice, RetryPolicyChoice
from billing.selectors import now_for
from core import clock
from core.api import (
    ApiViewSet,
    ListFilter,
    ObjectField,
    PublicIdOf,
    Ref,
    StrictSerializer,
    input_of,
)
from core.errors import DomainError, PermissionDenied, ValidationFailed
from subscriptions.models import Subscription


def qr_png_data_uri(payload: str) -> str:
    """The BR Code as a PNG QR image, ready for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(recurrence_qr_png(payload)).decode("ascii")


class PixInstructionSerializer(serializers.ModelSerializer[PixInstruction]):
    id = serializers.CharField(source="public_id", help_text="pxi_…")
    object = ObjectField("pix_instruction")
    due_date = serializers.DateField(help_text="The cycle's due date (the debit's day).")
    amount_minor = serializers.IntegerField(help_text="What the payer's PSP debits, in centavos.")
    currency = serializers.CharField(help_text="Always BRL.")
    status = serializers.ChoiceField(
        choices=PixInstruction.Status.choices, help_text="sent or cancelled (withdrawn)."
    )
    sent = serializers.DateTimeField(source="sent_at", help_text="When it was sent to the PSP.")

    class Meta:
        model = PixInstruction
        fields = ["id", "object", "due_date", "amount_minor", "currency", "status", "sent"]
        read_only_fields = fields


class PixMandateSerializer(serializers.ModelSerializer[PixMandate]):
    id = serializers.CharField(source="public_id", help_text="pxm_…")
    object = ObjectField("pix_mandate")
    subscription = PublicIdOf("subscription.public_id", help_text="The subscription (sub_…).")
    customer = PublicIdOf("customer.public_id", help_text="The payer (cus_…).")
    status = serializers.ChoiceField(
        choices=MandateStatus.choices,
        help_text="pending, active, cancelled_by_payer, cancelled_by_merchant, expired or "
        "rejected.",
    )
    journey = serializers.CharField(
        help_text='"3": the QR code pays the first charge and authorises; "2": authorises only.'
    )
    provider = serializers.CharField(help_text="The PSP (sandbox_pixauto in test mode).")
    fixed_amount_minor = serializers.IntegerField(
        allow_null=True, help_text="Each cycle's fixed amount in centavos, or null."
    )
    max_amount_minor = serializers.IntegerField(
        allow_null=True, help_text="The most a cycle may charge, in centavos, or null."
    )
    currency = serializers.CharField(help_text="Always BRL.")
    periodicity = serializers.ChoiceField(
        choices=PeriodicityChoice.choices, help_text="The plan's billing interval."
    )
    retry_policy = serializers.ChoiceField(
        choices=RetryPolicyChoice.choices,
        help_text="no_retry, or 3r_7d (up to three retries within seven days).",
    )
    start_date = serializers.DateField(help_text="The first day it covers.")
    end_date = serializers.DateField(allow_null=True, help_text="The last day it covers, or null.")
    payer_tax_id = serializers.CharField(help_text="The payer's CPF or CNPJ (digits).")
    payer_psp_ispb = serializers.CharField(help_text="The payer's PSP (ISPB), once known.")
    payer_psp_name = serializers.CharField(help_text="The payer's PSP's name, once known.")
    recurrence_id = serializers.CharField(help_text="The rail's recurrence id (idRec).")
    br_code = serializers.CharField(
        source="payload", help_text="The BR Code the payer scans or copies (Pix copia e cola)."
    )
    qr_code_png = serializers.SerializerMethodField(
        help_text="The BR Code as a PNG QR image (a data: URI) while the mandate awaits the "
        "payer; else null."
    )
    first_invoice = PublicIdOf(
        "first_invoice.public_id", help_text="Journey 3: the invoice its QR code pays (in_…)."
    )
    first_amount_minor = serializers.IntegerField(
        allow_null=True, help_text="Journey 3: what the QR code pays now, in centavos."
    )
    payment_method = PublicIdOf(
        "payment_method.public_id", help_text="The method it became once authorised (pm_…)."
    )
    replaces = PublicIdOf("replaces.public_id", help_text="The mandate it replaces (pxm_…).")
    reason = serializers.CharField(help_text="Why it was made or ended, or empty.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was made.")
    authorised_at = serializers.DateTimeField(
        allow_null=True, help_text="When the payer authorised it."
    )
    ended_at = serializers.DateTimeField(allow_null=True, help_text="When it ended.")

    class Meta:
        model = PixMandate
        fields = [
            "id",
            "object",
            "subscription",
            "customer",
            "status",
            "journey",
            "provider",
            "fixed_amount_minor",
            "max_amount_minor",
            "currency",
            "periodicity",
            "retry_policy",
            "start_date",
            "end_date",
            "payer_tax_id",
            "payer_psp_ispb",
            "payer_psp_name",
            "recurrence_id",
            "br_code",
            "qr_code_png",
            "first_invoice",
            "first_amount_minor",
            "payment_method",
            "replaces",
            "reason",
            "created",
            "authorised_at",
            "ended_at",
        ]
        read_only_fields = fields

    def get_qr_code_png(self, obj: PixMandate) -> str | None:
        if obj.status != MandateStatus.PENDING or not obj.payload:
            return None
        return qr_png_data_uri(obj.payload)


class PixMandateDetailSerializer(PixMandateSerializer):
    instructions = serializers.SerializerMethodField(
        help_text="Each cycle's charge instruction, newest due date first."
    )

    class Meta(PixMandateSerializer.Meta):
        fields = [*PixMandateSerializer.Meta.fields, "instructions"]
        read_only_fields = fields

    def get_instructions(self, obj: PixMandate) -> list[dict[str, Any]]:
        rows = PixInstruction.objects.filter(mandate=obj).order_by("-due_date", "-id")
        return list(PixInstructionSerializer(rows, many=True).data)


def _subscriptions(tenant: Any) -> QuerySet[Subscription]:
    return Subscription.objects.filter(tenant=tenant).select_related("plan", "customer")


class PixMandateCreateSerializer(StrictSerializer):
    subscription = Ref(queryset=_subscriptions, what="subscription", help_text="sub_…")
    journey = serializers.ChoiceField(
        choices=[(j.value, j.value) for j in Journey],
        required=False,
        help_text='"3": the QR code pays the subscription\'s open invoice and authorises the '
        'recurrence; "2": it only authorises (a trial). By default 3 when the subscription has '
        "an open invoice to pay, else 2.",
    )
    periodicity = serializers.ChoiceField(
        choices=PeriodicityChoice.choices,
        required=False,
        help_text="Must be the plan's billing interval; by default it is.",
    )
    fixed_amount_minor = serializers.IntegerField(
        required=False,
        help_text="Each cycle's amount, in centavos: exactly what a cycle charges. Give this or "
        "max_amount_minor.",
    )
    max_amount_minor = serializers.IntegerField(
        required=False,
        help_text="The most a cycle may charge, in centavos: at least what a cycle charges now.",
    )
    retry_policy = serializers.ChoiceField(
        choices=RetryPolicyChoice.choices, required=False, default=RetryPolicyChoice.NONE
    )
    start_date = serializers.CharField(
        required=False, help_text="YYYY-MM-DD, today or later; by default today."
    )
    end_date = serializers.CharField(
        required=False, help_text="YYYY-MM-DD after the start; by default none."
    )
    payer_tax_id = serializers.CharField(
        required=False,
        max_length=20,
        help_text="CPF or CNPJ; by default the customer's. In the sandbox, "
        "503.503.503-45 makes the sandbox PSP not answer (a 503, the mandate rejected).",
    )
    payer_psp_ispb = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20
    )
    payer_psp_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )


class PixMandateCancelSerializer(StrictSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, help_text="Why, for you."
    )


class SimulateAuthorisationSerializer(StrictSerializer):
    approve = serializers.BooleanField(
        required=False, default=True, help_text="false: the payer refuses the authorisation."
    )


def _instructions(tenant: Any) -> QuerySet[PixInstruction]:
    return PixInstruction.objects.filter(tenant=tenant)


class SimulateInstructionSerializer(StrictSerializer):
    instruction = Ref(
        queryset=_instructions, what="Pix instruction", help_text="The instruction (pxi_…)."
    )


# The service's parameter names and the API's.
_PARAMS = {"fixed_amount": "fixed_amount_minor", "max_amount": "max_amount_minor"}


def _renamed(exc: DomainError) -> DomainError:
    if exc.param in _PARAMS:
        exc.param = _PARAMS[exc.param]
    return exc


_MANDATE = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The mandate's id, pxm_…")
_TEST_ONLY = " Test mode only: a test key, and a mandate at the sandbox PSP."


@extend_schema_view(
    list=extend_schema(summary="List Pix Automático mandates", responses=PixMandateSerializer),
    retrieve=extend_schema(
        summary="Retrieve a Pix Automático mandate, with its instructions",
        parameters=[_MANDATE],
        responses=PixMandateDetailSerializer,
    ),
    create=extend_schema(
        summary="Ask a subscriber for a Pix Automático mandate (its BR Code and QR image)",
        request=PixMandateCreateSerializer,
        responses={201: PixMandateDetailSerializer},
    ),
    cancel=extend_schema(
        summary="Cancel a pending or active mandate (the merchant ends it)",
        parameters=[_MANDATE],
        request=PixMandateCancelSerializer,
        responses=PixMandateDetailSerializer,
    ),
    simulate_authorisation=extend_schema(
        summary="Simulate the payer authorising (or refusing) the mandate." + _TEST_ONLY,
        parameters=[_MANDATE],
        request=SimulateAuthorisationSerializer,
        responses=PixMandateDetailSerializer,
    ),
    simulate_payment=extend_schema(
        summary="Simulate the due date's debit of an instruction going through." + _TEST_ONLY,
        parameters=[_MANDATE],
        request=SimulateInstructionSerializer,
        responses=PixMandateDetailSerializer,
    ),
    simulate_failure=extend_schema(
        summary="Simulate an instruction's debit failing (the first failure of the day is "
        "retried by the payer's PSP that evening; the second fails the charge)." + _TEST_ONLY,
        parameters=[_MANDATE],
        request=SimulateInstructionSerializer,
        responses=PixMandateDetailSerializer,
    ),
    simulate_payer_cancellation=extend_schema(
        summary="Simulate the payer cancelling the mandate in their bank's app." + _TEST_ONLY,
        parameters=[_MANDATE],
        request=None,
        responses=PixMandateDetailSerializer,
    ),
)
class PixMandateViewSet(ApiViewSet):
    serializer_class = PixMandateSerializer
    object_name = "Pix Automático mandate"
    list_filters = (
        ListFilter("status", "status", "Only mandates in this status.", enum=MandateStatus.values),
        ListFilter(
            "subscription", "subscription__public_id", "Only this subscription's mandates.", "id"
        ),
        ListFilter("customer", "customer__public_id", "Only this customer's mandates.", "id"),
    )

    def get_queryset(self) -> QuerySet[PixMandate]:
        return pixauto.pix_mandate_list(tenant=self.tenant).select_related(
            "first_invoice", "payment_method", "replaces"
        )

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PixMandateSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(PixMandateDetailSerializer, self.get_object())

    def _done(self, mandate: PixMandate, **kw: Any) -> Response:
        return self.respond(
            PixMandateDetailSerializer, self.get_queryset().get(pk=mandate.pk), **kw
        )

    def create(self, request: Request) -> Response:
        data = input_of(PixMandateCreateSerializer, request)
        sub: Subscription = data["subscription"]
        journey = data.get("journey") or (
            Journey.PAY_AND_AUTHORISE
            if Invoice.objects.filter(
                tenant=self.tenant, subscription=sub, status="open", amount_due_minor__gt=0
            ).exists()
            else Journey.AUTHORISE_ONLY
        )
        periodicity = data.get("periodicity") or periodicity_for(
            sub.plan.interval, sub.plan.interval_count
        )
        if periodicity is None:
            raise ValidationFailed(
                "This plan's billing interval has no Pix Automático periodicity.",
                param="periodicity",
                code="periodicity_not_supported",
            )
        try:
            mandate = pixauto.pix_mandate_create(
                tenant=self.tenant,
                subscription_id=sub.pk,
                journey=str(journey),
                periodicity=str(periodicity),
                fixed_amount_minor=data.get("fixed_amount_minor"),
                max_amount_minor=data.get("max_amount_minor"),
                start_date=data.get("start_date"),
                end_date=data.get("end_date"),
                retry_policy=data["retry_policy"],
                payer_tax_id=data.get("payer_tax_id"),
                payer_psp_ispb=data["payer_psp_ispb"],
                payer_psp_name=data["payer_psp_name"],
                actor=self.actor,
                now=now_for(customer=sub.customer, now=clock.now()),
            )
        except DomainError as exc:
            raise _renamed(exc) from None
        return self._done(mandate, status=201)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        mandate = self.get_object()
        data = input_of(PixMandateCancelSerializer, request)
        done = pixauto.pix_mandate_cancel(
            tenant=self.tenant,
            mandate_id=mandate.pk,
            actor=self.actor,
            now=now_for(customer=mandate.customer, now=clock.now()),
            reason=data["reason"],
        )
        return self._done(done)

    # -- test mode -------------------------------------------------------------------

    def _test_mode_mandate(self) -> PixMandate:
        """The mandate (another tenant's is a 404), once the key is a test one."""
        mandate: PixMandate = self.get_object()
        if getattr(self.request.auth, "mode", "") != "test":
            raise PermissionDenied("Simulations need a test-mode API key.", code="test_mode_only")
        return mandate

    def _simulate(
        self, mandate: PixMandate, what: str, instruction: PixInstruction | None = None
    ) -> Response:
        pixauto.pix_mandate_simulate(
            tenant=self.tenant,
            mandate_id=mandate.pk,
            what=what,
            instruction_id=instruction.pk if instruction is not None else None,
            now=clock.now(),
        )
        return self._done(mandate)

    @action(detail=True, methods=["post"])
    def simulate_authorisation(self, request: Request, id: str) -> Response:
        mandate = self._test_mode_mandate()
        data = input_of(SimulateAuthorisationSerializer, request)
        return self._simulate(mandate, "authorise" if data["approve"] else "reject")

    @action(detail=True, methods=["post"])
    def simulate_payment(self, request: Request, id: str) -> Response:
        mandate = self._test_mode_mandate()
        data = input_of(SimulateInstructionSerializer, request)
        return self._simulate(mandate, "pay", data["instruction"])

    @action(detail=True, methods=["post"])
    def simulate_failure(self, request: Request, id: str) -> Response:
        mandate = self._test_mode_mandate()
        data = input_of(SimulateInstructionSerializer, request)
        return self._simulate(mandate, "fail", data["instruction"])

    @action(detail=True, methods=["post"])
    def simulate_payer_cancellation(self, request: Request, id: str) -> Response:
        return self._simulate(self._test_mode_mandate(), "payer_cancel")


def register(router: SimpleRouter) -> None:
    router.register("pix_mandates", PixMandateViewSet, basename="pix_mandate")
