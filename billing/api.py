"""Invoices, credit notes, payments, refunds and test clocks over the REST API.

Invoice writes run at the customer's time (their test clock's, if any).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing import (
    clocks,
    collection_api,
    fulfilment_api,
    payments,
    pix_automatico_api,
    return_files_api,
    sellers_api,
)
from billing import services as billing
from billing.models import (
    CreditNote,
    Installment,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    Refund,
    TaxRate,
)
from billing.selectors import (
    credit_note_list,
    invoice_line_rows,
    invoice_list,
    now_for,
    payment_list,
    refund_list,
    tax_rate_list,
    test_clock_list,
)
from core import clock
from core.api import (
    ApiViewSet,
    DeletedSerializer,
    InstantField,
    ListFilter,
    ObjectField,
    PdfRenderer,
    PublicIdOf,
    Ref,
    StrictSerializer,
    error_body,
    input_of,
)
from core.errors import StateConflict, ValidationFailed
from core.projection import Projection
from customers.models import TestClock
from customers.selectors import customer_list

MAX_AMOUNT = 10**13
MAX_CLOCK_ADVANCE = timedelta(days=366 * 10)


def _id_param(what: str, prefix: str) -> OpenApiParameter:
    return OpenApiParameter(
        "id", str, OpenApiParameter.PATH, description=f"The {what}'s id, {prefix}_…"
    )


# --- invoices ------------------------------------------------------------------------------


class InvoiceLineSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(
        choices=InvoiceLine.Kind.choices,
        help_text="recurring, setup_fee, proration, credit_carried or adjustment.",
    )
    description = serializers.CharField(help_text="What the line is for.")
    quantity = serializers.IntegerField(help_text="Seats or units.")
    amount_minor = serializers.IntegerField(help_text="Amount before discount and tax.")
    discount_minor = serializers.IntegerField(help_text="Discount on the line.")
    tax_minor = serializers.IntegerField(help_text="Tax on the line.")
    tax_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, help_text="Tax rate applied, or null."
    )
    tax_inclusive = serializers.BooleanField(help_text="Whether the tax is inside the amount.")
    total_minor = serializers.IntegerField(help_text="The line's total.")
    period_start = serializers.DateTimeField(allow_null=True, help_text="Service period start.")
    period_end = serializers.DateTimeField(allow_null=True, help_text="Service period end.")
    plan = PublicIdOf("plan.public_id", help_text="The plan billed (plan_…), or null.")
    coupon = PublicIdOf("coupon.public_id", help_text="The coupon applied (co_…), or null.")

    class Meta:
        model = InvoiceLine
        fields = [
            "kind",
            "description",
            "quantity",
            "amount_minor",
            "discount_minor",
            "tax_minor",
            "tax_percent",
            "tax_inclusive",
            "total_minor",
            "period_start",
            "period_end",
            "plan",
            "coupon",
        ]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="in_…")
    object = ObjectField("invoice")
    number = serializers.CharField(allow_null=True, help_text="Gapless number; null for drafts.")
    customer = PublicIdOf("customer.public_id", help_text="The customer (cus_…).")
    subscription = PublicIdOf(
        "subscription.public_id", help_text="The subscription billed (sub_…), or null."
    )
    status = serializers.ChoiceField(
        choices=Invoice.Status.choices, help_text="draft, open, paid, void or uncollectible."
    )
    billing_reason = serializers.CharField(
        help_text="subscription_create, subscription_cycle, subscription_update or manual."
    )
    currency = serializers.CharField(help_text="ISO 4217 currency.")
    period_start = serializers.DateTimeField(allow_null=True, help_text="Period billed: start.")
    period_end = serializers.DateTimeField(allow_null=True, help_text="Period billed: end.")
    subtotal_minor = serializers.IntegerField(help_text="Sum of the lines before discount, tax.")
    discount_minor = serializers.IntegerField(help_text="Total discount.")
    tax_minor = serializers.IntegerField(help_text="Total tax.")
    total_minor = serializers.IntegerField(help_text="Total.")
    credit_applied_minor = serializers.IntegerField(help_text="Customer balance applied.")
    amount_due_minor = serializers.IntegerField(help_text="What is due: total minus credit.")
    amount_paid_minor = serializers.IntegerField(help_text="What was paid.")
    credited_minor = serializers.IntegerField(help_text="Credited by credit notes.")
    issued_at = serializers.DateTimeField(allow_null=True, help_text="When it was finalized.")
    due_at = serializers.DateTimeField(allow_null=True, help_text="When payment is due.")
    paid_at = serializers.DateTimeField(allow_null=True, help_text="When it was paid.")
    voided_at = serializers.DateTimeField(allow_null=True, help_text="When it was voided.")
    lines = InvoiceLineSerializer(many=True, help_text="The invoice's lines, in order.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "object",
            "number",
            "customer",
            "subscription",
            "status",
            "billing_reason",
            "currency",
            "period_start",
            "period_end",
            "subtotal_minor",
            "discount_minor",
            "tax_minor",
            "total_minor",
            "credit_applied_minor",
            "amount_due_minor",
            "amount_paid_minor",
            "credited_minor",
            "issued_at",
            "due_at",
            "paid_at",
            "voided_at",
            "lines",
            "created",
        ]
        read_only_fields = fields


def _tax_rates(tenant: Any) -> QuerySet[TaxRate]:
    return TaxRate.objects.for_tenant(tenant).filter(active=True)


_INVOICE_ROW = Projection(InvoiceSerializer)
_LINE_ROW = Projection(InvoiceLineSerializer)


class ManualLineSerializer(StrictSerializer):
    description = serializers.CharField(max_length=300, help_text="What the line is for.")
    unit_amount_minor = serializers.IntegerField(
        min_value=-MAX_AMOUNT,
        max_value=MAX_AMOUNT,
        help_text="Price per unit in minor units (negative for a discount line).",
    )
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, default=1, help_text="Units."
    )
    tax_rate = Ref(
        queryset=_tax_rates, what="tax rate", required=False, help_text="A tax rate (txr_…)."
    )


class InvoiceCreateSerializer(StrictSerializer):
    customer = Ref(queryset=lambda t: customer_list(tenant=t), what="customer", help_text="cus_…")
    currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217 currency, e.g. BRL.")
    lines = ManualLineSerializer(  # type: ignore[call-arg]  # many=True: max_length is the list's
        many=True, required=False, max_length=500, help_text="The draft's first lines."
    )


class InvoicePaySerializer(StrictSerializer):
    paid_out_of_band = serializers.BooleanField(
        default=False,
        help_text="Record it as paid outside Ciclo (cash, bank transfer) instead of charging.",
    )
    note = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True, help_text="Why/how paid."
    )


class EmptySerializer(StrictSerializer):
    pass


class InvoiceSplitSerializer(StrictSerializer):
    count = serializers.IntegerField(
        help_text="How many monthly installments: 2 up to the plan's maximum."
    )


class InstallmentSerializer(serializers.ModelSerializer):
    amount_minor = serializers.IntegerField(help_text="This part, in centavos.")

    class Meta:
        model = Installment
        fields = ["number", "amount_minor", "due_at", "status", "paid_at"]
        read_only_fields = fields


class InvoiceInstallmentsSerializer(serializers.Serializer):
    invoice = serializers.CharField(help_text="The invoice's id.")
    installments = InstallmentSerializer(many=True, help_text="The parts, in order.")


def _manual_line(data: dict[str, Any]) -> billing.ManualLine:
    tax = data.get("tax_rate")
    return billing.ManualLine(
        description=data["description"],
        unit_amount_minor=data["unit_amount_minor"],
        quantity=data["quantity"],
        tax_rate_id=tax.pk if tax is not None else None,
    )


_IN = _id_param("invoice", "in")


@extend_schema_view(
    list=extend_schema(summary="List invoices", responses=InvoiceSerializer),
    retrieve=extend_schema(summary="Retrieve an invoice", parameters=[_IN]),
    create=extend_schema(
        summary="Create a one-off draft invoice",
        request=InvoiceCreateSerializer,
        responses={201: InvoiceSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a draft invoice", parameters=[_IN], responses={200: DeletedSerializer}
    ),
    add_line=extend_schema(
        summary="Add a line to a draft invoice",
        parameters=[_IN],
        request=ManualLineSerializer,
        responses=InvoiceSerializer,
    ),
    finalize=extend_schema(
        summary="Finalize a draft: number it and open it for payment",
        parameters=[_IN],
        request=EmptySerializer,
        responses=InvoiceSerializer,
    ),
    pay=extend_schema(
        summary="Charge the invoice now, or record it as paid out of band",
        parameters=[_IN],
        request=InvoicePaySerializer,
        responses={
            200: InvoiceSerializer,
            402: OpenApiTypes.OBJECT,
        },
    ),
    void=extend_schema(
        summary="Void an open invoice",
        parameters=[_IN],
        request=EmptySerializer,
        responses=InvoiceSerializer,
    ),
    mark_uncollectible=extend_schema(
        summary="Mark an open invoice uncollectible",
        parameters=[_IN],
        request=EmptySerializer,
        responses=InvoiceSerializer,
    ),
    installments=extend_schema(
        summary="Split an open invoice into monthly installments",
        parameters=[_IN],
        request=InvoiceSplitSerializer,
        responses={201: InvoiceInstallmentsSerializer},
    ),
    pdf=extend_schema(
        summary="The invoice as a PDF",
        parameters=[_IN],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    ),
)
class InvoiceViewSet(ApiViewSet):
    serializer_class = InvoiceSerializer
    object_name = "invoice"
    list_filters = (
        ListFilter(
            "status", "status", "Only invoices in this status.", enum=tuple(Invoice.Status.values)
        ),
        ListFilter("customer", "customer__public_id", "Only this customer's.", "id"),
        ListFilter("subscription", "subscription__public_id", "Only this subscription's.", "id"),
    )

    def get_queryset(self) -> QuerySet[Invoice]:
        return invoice_list(tenant=self.tenant)

    def _fresh(self, invoice: Invoice) -> Invoice:
        return invoice_list(tenant=self.tenant).get(pk=invoice.pk)

    def _now(self, invoice: Invoice) -> Any:
        return now_for(customer=invoice.customer, now=clock.now())

    def list(self, request: Request) -> Response:
        # Rows of exactly the printed columns, rendered by InvoiceSerializer's own
        # fields (tests/api/test_invoices.py checks a listed invoice is its retrieve).
        invoices = self.filter_queryset(Invoice.objects.for_tenant(self.tenant))
        page = self.paginate_queryset(invoices.values("id", *_INVOICE_ROW.columns))
        assert page is not None  # every list is cursor-paginated
        lines: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in page}
        for line in invoice_line_rows(
            tenant=self.tenant, invoice_ids=list(lines), columns=_LINE_ROW.columns
        ):
            lines[line["invoice_id"]].append(_LINE_ROW.render(line))
        return self.get_paginated_response(
            [_INVOICE_ROW.render(row, nested={"lines": lines[row["id"]]}) for row in page]
        )

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(InvoiceSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(InvoiceCreateSerializer, request)
        customer = data["customer"]
        invoice = billing.invoice_draft_create(
            tenant=self.tenant,
            customer=customer,
            currency=data["currency"],
            lines=[_manual_line(line) for line in data.get("lines") or []],
            actor=self.actor,
            now=now_for(customer=customer, now=clock.now()),
        )
        return self.respond(InvoiceSerializer, self._fresh(invoice), status=201)

    def destroy(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        billing.invoice_draft_delete(
            tenant=self.tenant, invoice_id=invoice.pk, actor=self.actor, now=self._now(invoice)
        )
        return Response({"id": invoice.public_id, "object": "invoice", "deleted": True})

    @action(detail=True, methods=["post"], url_path="lines")
    def add_line(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        data = input_of(ManualLineSerializer, request)
        billing.invoice_draft_add_line(
            tenant=self.tenant,
            invoice_id=invoice.pk,
            line=_manual_line(data),
            actor=self.actor,
            now=self._now(invoice),
        )
        return self.respond(InvoiceSerializer, self._fresh(invoice))

    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        input_of(EmptySerializer, request)
        billing.invoice_finalize(
            tenant=self.tenant, invoice_id=invoice.pk, actor=self.actor, now=self._now(invoice)
        )
        return self.respond(InvoiceSerializer, self._fresh(invoice))

    @action(detail=True, methods=["post"])
    def pay(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        data = input_of(InvoicePaySerializer, request)
        if invoice.status == Invoice.Status.DRAFT:
            raise StateConflict("Finalize the invoice before paying it.", code="invoice_not_open")
        now = self._now(invoice)
        if data["paid_out_of_band"]:
            billing.invoice_mark_paid(
                tenant=self.tenant,
                invoice_id=invoice.pk,
                actor=self.actor,
                now=now,
                note=data["note"] or "Paid out of band",
            )
        else:
            if data["note"]:
                raise ValidationFailed("A note goes with paid_out_of_band=true.", param="note")
            attempt = payments.invoice_charge(tenant=self.tenant, invoice_id=invoice.pk, now=now)
            if attempt.status == PaymentAttempt.Status.FAILED:
                body = error_body(
                    status_code=402,
                    code=attempt.failure_code or "card_declined",
                    message=attempt.failure_message or "The payment failed.",
                )
                body["error"]["payment"] = attempt.public_id
                return Response(body, status=402)
        return self.respond(InvoiceSerializer, self._fresh(invoice))

    @action(detail=True, methods=["post"])
    def void(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        input_of(EmptySerializer, request)
        billing.invoice_void(
            tenant=self.tenant, invoice_id=invoice.pk, actor=self.actor, now=self._now(invoice)
        )
        return self.respond(InvoiceSerializer, self._fresh(invoice))

    @action(detail=True, methods=["post"])
    def mark_uncollectible(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        input_of(EmptySerializer, request)
        billing.invoice_mark_uncollectible(
            tenant=self.tenant, invoice_id=invoice.pk, actor=self.actor, now=self._now(invoice)
        )
        return self.respond(InvoiceSerializer, self._fresh(invoice))

    @action(detail=True, methods=["post"])
    def installments(self, request: Request, id: str) -> Response:
        invoice = self.get_object()
        data = input_of(InvoiceSplitSerializer, request)
        parts = payments.invoice_installments_create(
            tenant=self.tenant,
            invoice_id=invoice.pk,
            count=data["count"],
            actor=self.actor,
            now=self._now(invoice),
        )
        return self.respond(
            InvoiceInstallmentsSerializer,
            {"invoice": invoice.public_id, "installments": parts},
            status=201,
        )

    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PdfRenderer])
    def pdf(self, request: Request, id: str) -> HttpResponse:
        from billing.pdf import render_invoice_pdf

        invoice = self.get_queryset().select_related("tenant").get(pk=self.get_object().pk)
        response = HttpResponse(render_invoice_pdf(invoice=invoice), content_type="application/pdf")
        filename = invoice.number or invoice.public_id
        response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


# --- credit notes ----------------------------------------------------------------------------


class CreditNoteLineSerializer(serializers.Serializer):
    description = serializers.CharField(help_text="What is credited.")
    amount_minor = serializers.IntegerField(
        help_text="Amount credited before discount and tax (negative for a credit line "
        "of the invoice, which the note takes back)."
    )
    discount_minor = serializers.IntegerField(help_text="The discount on that amount.")
    tax_minor = serializers.IntegerField(help_text="The tax on it (inside it if inclusive).")
    tax_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, help_text="Tax rate applied, or null."
    )
    tax_inclusive = serializers.BooleanField(help_text="Whether the tax is inside the amount.")
    total_minor = serializers.IntegerField(help_text="The line's total credited.")
    period_start = serializers.DateTimeField(allow_null=True, help_text="Period credited: start.")
    period_end = serializers.DateTimeField(allow_null=True, help_text="Period credited: end.")


class CreditNoteSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="cn_…")
    object = ObjectField("credit_note")
    number = serializers.CharField(help_text="Gapless credit note number.")
    invoice = PublicIdOf("invoice.public_id", help_text="The invoice credited (in_…).")
    customer = PublicIdOf("customer.public_id", help_text="The customer (cus_…).")
    currency = serializers.CharField(help_text="ISO 4217 currency.")
    reason = serializers.CharField(help_text="Why.")
    subtotal_minor = serializers.IntegerField(
        help_text="Sum of the lines' amounts, before discount and tax."
    )
    discount_minor = serializers.IntegerField(help_text="Sum of the lines' discounts.")
    tax_minor = serializers.IntegerField(help_text="Sum of the lines' taxes.")
    total_minor = serializers.IntegerField(
        help_text="Amount credited: subtotal - discount + the tax not inside the amounts."
    )
    issued_at = serializers.DateTimeField(help_text="When it was issued.")
    lines = CreditNoteLineSerializer(many=True, help_text="Its lines.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "object",
            "number",
            "invoice",
            "customer",
            "currency",
            "reason",
            "subtotal_minor",
            "discount_minor",
            "tax_minor",
            "total_minor",
            "issued_at",
            "lines",
            "created",
        ]
        read_only_fields = fields


class CreditNoteCreateSerializer(StrictSerializer):
    invoice = Ref(
        queryset=lambda t: invoice_list(tenant=t), what="invoice", help_text="The invoice (in_…)."
    )
    amount_minor = serializers.IntegerField(
        min_value=1, max_value=MAX_AMOUNT, help_text="Amount to credit, in minor units."
    )
    reason = serializers.CharField(max_length=200, help_text="Why the invoice is credited.")


@extend_schema_view(
    list=extend_schema(summary="List credit notes", responses=CreditNoteSerializer),
    retrieve=extend_schema(
        summary="Retrieve a credit note", parameters=[_id_param("credit note", "cn")]
    ),
    create=extend_schema(
        summary="Credit part or all of an open or paid invoice (to the customer's balance)",
        request=CreditNoteCreateSerializer,
        responses={201: CreditNoteSerializer},
    ),
    pdf=extend_schema(
        summary="The credit note as a PDF",
        parameters=[_id_param("credit note", "cn")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    ),
)
class CreditNoteViewSet(ApiViewSet):
    serializer_class = CreditNoteSerializer
    object_name = "credit note"
    list_filters = (
        ListFilter("invoice", "invoice__public_id", "Only this invoice's.", "id"),
        ListFilter("customer", "customer__public_id", "Only this customer's.", "id"),
    )

    def get_queryset(self) -> QuerySet[CreditNote]:
        return credit_note_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CreditNoteSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(CreditNoteSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(CreditNoteCreateSerializer, request)
        invoice = data["invoice"]
        note = billing.credit_note_issue(
            tenant=self.tenant,
            invoice_id=invoice.pk,
            amount_minor=data["amount_minor"],
            reason=data["reason"],
            actor=self.actor,
            now=now_for(customer=invoice.customer, now=clock.now()),
        )
        return self.respond(
            CreditNoteSerializer, credit_note_list(tenant=self.tenant).get(pk=note.pk), status=201
        )

    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PdfRenderer])
    def pdf(self, request: Request, id: str) -> HttpResponse:
        from billing.pdf import render_credit_note_pdf

        note = self.get_queryset().select_related("invoice__tenant").get(pk=self.get_object().pk)
        response = HttpResponse(render_credit_note_pdf(note=note), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{note.number}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


# --- payments and refunds -----------------------------------------------------------------------


class PaymentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="pay_…")
    object = ObjectField("payment")
    invoice = PublicIdOf("invoice.public_id", help_text="The invoice collected (in_…).")
    customer = PublicIdOf("invoice.customer.public_id", help_text="The customer (cus_…).")
    installment = serializers.IntegerField(
        source="installment.number",
        allow_null=True,
        default=None,
        help_text="The installment's number, when paying one; else null.",
    )
    attempt = serializers.IntegerField(source="number", help_text="Attempt number on the invoice.")
    payment_method = PublicIdOf("payment_method.public_id", help_text="Charged method (pm_…).")
    gateway = serializers.CharField(help_text="The gateway used.")
    amount_minor = serializers.IntegerField(help_text="Amount charged.")
    currency = serializers.CharField(help_text="ISO 4217 currency.")
    amount_refunded_minor = serializers.SerializerMethodField(help_text="Refunded so far.")
    status = serializers.ChoiceField(
        choices=PaymentAttempt.Status.choices,
        help_text="pending, succeeded, failed or requires_action.",
    )
    failure_code = serializers.CharField(help_text="Why it failed (a code), or empty.")
    failure_message = serializers.CharField(help_text="Why it failed, for people, or empty.")
    next_action_url = serializers.CharField(
        source="action_url",
        help_text="Where the payer completes it (3-D Secure, boleto, Pix), or empty.",
    )
    created = serializers.DateTimeField(source="created_at", help_text="When it was made.")
    settled_at = serializers.DateTimeField(allow_null=True, help_text="When it settled.")

    class Meta:
        model = PaymentAttempt
        fields = [
            "id",
            "object",
            "invoice",
            "customer",
            "installment",
            "attempt",
            "payment_method",
            "gateway",
            "amount_minor",
            "currency",
            "amount_refunded_minor",
            "status",
            "failure_code",
            "failure_message",
            "next_action_url",
            "created",
            "settled_at",
        ]
        read_only_fields = fields

    def get_amount_refunded_minor(self, obj: PaymentAttempt) -> int:
        refunded = getattr(obj, "refunded", None)
        if refunded is None and not hasattr(obj, "refunded"):
            refunded = sum(
                r.amount_minor for r in obj.refunds.all() if r.status == Refund.Status.SUCCEEDED
            )
        return int(refunded or 0)


@extend_schema_view(
    list=extend_schema(summary="List payments", responses=PaymentSerializer),
    retrieve=extend_schema(summary="Retrieve a payment", parameters=[_id_param("payment", "pay")]),
)
class PaymentViewSet(ApiViewSet):
    serializer_class = PaymentSerializer
    object_name = "payment"
    list_filters = (
        ListFilter("invoice", "invoice__public_id", "Only this invoice's.", "id"),
        ListFilter("customer", "invoice__customer__public_id", "Only this customer's.", "id"),
        ListFilter(
            "status",
            "status",
            "Only payments in this status.",
            enum=tuple(PaymentAttempt.Status.values),
        ),
    )

    def get_queryset(self) -> QuerySet[PaymentAttempt]:
        return payment_list(tenant=self.tenant).select_related("installment")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PaymentSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(PaymentSerializer, self.get_object())


class RefundSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="re_…")
    object = ObjectField("refund")
    payment = PublicIdOf("attempt.public_id", help_text="The payment refunded (pay_…).")
    amount_minor = serializers.IntegerField(help_text="Amount refunded.")
    currency = serializers.CharField(help_text="ISO 4217 currency.")
    reason = serializers.CharField(help_text="Why.")
    status = serializers.ChoiceField(
        choices=Refund.Status.choices, help_text="pending, succeeded or failed."
    )
    failure_message = serializers.CharField(help_text="Why it failed, or empty.")
    credit_note = PublicIdOf(
        "credit_note.public_id", help_text="The credit note issued with it (cn_…), or null."
    )
    created = serializers.DateTimeField(source="created_at", help_text="When it was requested.")
    settled_at = serializers.DateTimeField(allow_null=True, help_text="When it settled.")

    class Meta:
        model = Refund
        fields = [
            "id",
            "object",
            "payment",
            "amount_minor",
            "currency",
            "reason",
            "status",
            "failure_message",
            "credit_note",
            "created",
            "settled_at",
        ]
        read_only_fields = fields


class RefundCreateSerializer(StrictSerializer):
    payment = Ref(
        queryset=lambda t: payment_list(tenant=t),
        what="payment",
        help_text="The successful payment to refund (pay_…).",
    )
    amount_minor = serializers.IntegerField(
        min_value=1, max_value=MAX_AMOUNT, help_text="Amount to give back, in minor units."
    )
    reason = serializers.CharField(max_length=200, help_text="Why the money is refunded.")


@extend_schema_view(
    list=extend_schema(summary="List refunds", responses=RefundSerializer),
    retrieve=extend_schema(summary="Retrieve a refund", parameters=[_id_param("refund", "re")]),
    create=extend_schema(
        summary="Refund all or part of a successful payment (with a credit note)",
        request=RefundCreateSerializer,
        responses={201: RefundSerializer},
    ),
)
class RefundViewSet(ApiViewSet):
    serializer_class = RefundSerializer
    object_name = "refund"
    list_filters = (ListFilter("payment", "attempt__public_id", "Only this payment's.", "id"),)

    def get_queryset(self) -> QuerySet[Refund]:
        return refund_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RefundSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(RefundSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(RefundCreateSerializer, request)
        attempt = data["payment"]
        refund = payments.payment_refund(
            tenant=self.tenant,
            attempt_id=attempt.pk,
            amount_minor=data["amount_minor"],
            reason=data["reason"],
            actor=self.actor,
            now=now_for(customer=attempt.invoice.customer, now=clock.now()),
        )
        return self.respond(
            RefundSerializer, refund_list(tenant=self.tenant).get(pk=refund.pk), status=201
        )


# --- test clocks --------------------------------------------------------------------------------


class TestClockSerializer(serializers.ModelSerializer):
    __test__ = False

    id = serializers.CharField(source="public_id", help_text="clock_…")
    object = ObjectField("test_clock")
    name = serializers.CharField(help_text="A name, or empty.")
    frozen_time = InstantField(help_text="The clock's time.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = TestClock
        fields = ["id", "object", "name", "frozen_time", "created"]
        read_only_fields = fields


class TestClockCreateSerializer(StrictSerializer):
    __test__ = False

    frozen_time = InstantField(help_text="The clock's starting time (ISO 8601).")
    name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, help_text="A name."
    )


class TestClockAdvanceSerializer(StrictSerializer):
    __test__ = False

    frozen_time = InstantField(
        help_text="The new time: later than the current one, at most 10 years ahead. Every "
        "renewal, trial end and scheduled change due on the way runs, in order."
    )


_CLOCK = _id_param("test clock", "clock")


@extend_schema_view(
    list=extend_schema(summary="List test clocks", responses=TestClockSerializer),
    retrieve=extend_schema(summary="Retrieve a test clock", parameters=[_CLOCK]),
    create=extend_schema(
        summary="Create a test clock",
        request=TestClockCreateSerializer,
        responses={201: TestClockSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a test clock, with its customers and their billing",
        parameters=[_CLOCK],
        responses={200: DeletedSerializer},
    ),
    advance=extend_schema(
        summary="Advance a test clock",
        parameters=[_CLOCK],
        request=TestClockAdvanceSerializer,
        responses=TestClockSerializer,
    ),
)
class TestClockViewSet(ApiViewSet):
    __test__ = False

    serializer_class = TestClockSerializer
    object_name = "test clock"

    def get_queryset(self) -> QuerySet[TestClock]:
        return test_clock_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TestClockSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(TestClockSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        data = input_of(TestClockCreateSerializer, request)
        created = clocks.clock_create(tenant=self.tenant, actor=self.actor, now=clock.now(), **data)
        return self.respond(TestClockSerializer, created, status=201)

    def destroy(self, request: Request, id: str) -> Response:
        found = self.get_object()
        clocks.clock_delete(
            tenant=self.tenant, clock_id=found.pk, actor=self.actor, now=clock.now()
        )
        return Response({"id": found.public_id, "object": "test_clock", "deleted": True})

    @action(detail=True, methods=["post"])
    def advance(self, request: Request, id: str) -> Response:
        found = self.get_object()
        data = input_of(TestClockAdvanceSerializer, request)
        to = data["frozen_time"]
        if to - found.frozen_time > MAX_CLOCK_ADVANCE:
            raise ValidationFailed(
                "A test clock advances at most 10 years at a time.", param="frozen_time"
            )
        advanced = clocks.clock_advance(
            tenant=self.tenant, clock_id=found.pk, to=to, actor=self.actor, now=clock.now()
        )
        return self.respond(TestClockSerializer, advanced)


# --- tax rates ------------------------------------------------------------------------------


class TaxRateSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", help_text="txr_…")
    object = ObjectField("tax_rate")
    name = serializers.CharField(help_text="The name shown on invoices (ISS, VAT…).")
    description = serializers.CharField(help_text="A note for the merchant; may be empty.")
    percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, help_text="The rate, from 0 to 100 %."
    )
    inclusive = serializers.BooleanField(
        help_text="true: prices already contain the tax; false: it is added on top."
    )
    active = serializers.BooleanField(help_text="false once archived: no new plan may take it.")
    created = serializers.DateTimeField(source="created_at", help_text="When it was created.")

    class Meta:
        model = TaxRate
        fields = [
            "id",
            "object",
            "name",
            "description",
            "percent",
            "inclusive",
            "active",
            "created",
        ]
        read_only_fields = fields


def _tax_percent(required: bool) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        coerce_to_string=False,
        min_value=0,
        max_value=100,
        required=required,
        help_text="The rate, from 0 to 100 %, at most four decimals (5, 2.5, 12.3456).",
    )


class TaxRateCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, help_text="The name shown on invoices.")
    description = serializers.CharField(
        max_length=300, required=False, default="", allow_blank=True, help_text="A note."
    )
    percent = _tax_percent(required=True)
    inclusive = serializers.BooleanField(
        default=False, help_text="true: prices already contain the tax (default false)."
    )


class TaxRateUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False, help_text="A new name.")
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="A new description."
    )
    percent = _tax_percent(required=False)
    inclusive = serializers.BooleanField(
        required=False,
        help_text="The percent and this flag change only while no invoice used the rate "
        "(409 tax_rate_in_use after that: create a new tax rate instead).",
    )


_TXR = _id_param("tax rate", "txr")


@extend_schema_view(
    list=extend_schema(
        summary="List tax rates (archived ones too)",
        responses=TaxRateSerializer,
    ),
    retrieve=extend_schema(summary="Retrieve a tax rate", parameters=[_TXR]),
    create=extend_schema(
        summary="Create a tax rate",
        request=TaxRateCreateSerializer,
        responses={201: TaxRateSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a tax rate's name or description (its percent and mode until used)",
        parameters=[_TXR],
        request=TaxRateUpdateSerializer,
        responses=TaxRateSerializer,
    ),
    archive=extend_schema(
        summary="Archive a tax rate: no new plan may take it; plans using it keep it",
        parameters=[_TXR],
        request=None,
        responses=TaxRateSerializer,
    ),
)
class TaxRateViewSet(ApiViewSet):
    serializer_class = TaxRateSerializer
    object_name = "tax rate"
    list_filters = (
        ListFilter("active", "active", "Only active (true) or archived (false).", "boolean"),
    )

    def get_queryset(self) -> QuerySet[TaxRate]:
        return tax_rate_list(tenant=self.tenant)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TaxRateSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return self.respond(TaxRateSerializer, self.get_object())

    def create(self, request: Request) -> Response:
        from billing.taxes import tax_rate_create

        data = input_of(TaxRateCreateSerializer, request)
        rate = tax_rate_create(tenant=self.tenant, actor=self.actor, now=clock.now(), **data)
        return self.respond(TaxRateSerializer, rate, status=201)

    def partial_update(self, request: Request, id: str) -> Response:
        from billing.taxes import tax_rate_update

        rate = self.get_object()
        data = input_of(TaxRateUpdateSerializer, request)
        updated = tax_rate_update(
            tenant=self.tenant, tax_rate_id=rate.pk, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(TaxRateSerializer, updated)

    @action(detail=True, methods=["post"])
    def archive(self, request: Request, id: str) -> Response:
        from billing.taxes import tax_rate_archive

        rate = self.get_object()
        archived = tax_rate_archive(
            tenant=self.tenant, tax_rate_id=rate.pk, actor=self.actor, now=clock.now()
        )
        return self.respond(TaxRateSerializer, archived)


def register(router: SimpleRouter) -> None:
    router.register("tax_rates", TaxRateViewSet, basename="tax_rate")
    router.register("invoices", InvoiceViewSet, basename="invoice")
    router.register("credit_notes", CreditNoteViewSet, basename="credit_note")
    router.register("payments", PaymentViewSet, basename="payment")
    router.register("refunds", RefundViewSet, basename="refund")
    router.register("test_clocks", TestClockViewSet, basename="test_clock")
    sellers_api.register(router)
    return_files_api.register(router)
    fulfilment_api.register(router)
    pix_automatico_api.register(router)
    collection_api.register(router)
