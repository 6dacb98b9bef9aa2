"""Invoices and money: lists, the invoice page and its actions (issue 13, item 4).

Thin views: every write is one call to the same service the REST API calls
(billing/api.py), at the customer's time (their test clock's, if any). Gateway
calls (charge, refund, segunda via) run outside any transaction, as there.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import payments
from billing import services as billing
from billing.models import Invoice, PaymentAttempt, Refund
from billing.pdf import render_credit_note_pdf, render_invoice_pdf
from billing.segunda_via import boleto_segunda_via_issue
from billing.selectors import (
    credit_note_list,
    invoice_list,
    invoice_payment_instructions,
    now_for,
    payment_list,
    refund_list,
)
from core import clock
from core.actors import Actor
from core.errors import DomainError
from dashboard.invoice_forms import (
    AmountForm,
    EventFilterForm,
    InstallmentsForm,
    InvoiceFilterForm,
    MarkPaidForm,
    PaymentFilterForm,
    RefundFilterForm,
    RefundForm,
    SegundaViaForm,
)
from dashboard.keyset import keyset_page
from notifications.resend import invoice_email_resend
from tenants.access import staff_view
from tenants.models import Event
from tenants.permissions import Perm
from tenants.requests import StaffRequest

# --- lookups -------------------------------------------------------------------------------


def _invoice(request: StaffRequest, ref: str) -> Invoice:
    """This tenant's invoice by public id (in_…) or number; anything else is a 404."""
    found = invoice_list(tenant=request.tenant).filter(Q(public_id=ref) | Q(number=ref)).first()
    if found is None:
        raise Http404
    return found


def _now(invoice: Invoice) -> Any:
    return now_for(customer=invoice.customer, now=clock.now())


def _refundable(attempt: PaymentAttempt, invoice: Invoice) -> int:
    # The same bound payment_refund enforces: what is left of the payment, and of
    # the invoice once its credit notes are taken off.
    taken = int(getattr(attempt, "refunded", 0) or 0)
    return max(0, min(attempt.amount_minor - taken, invoice.total_minor - invoice.credited_minor))


# --- lists ---------------------------------------------------------------------------------


@staff_view(Perm.BILLING_VIEW)
def invoices(request: StaffRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET or None)
    rows: QuerySet[Invoice] = invoice_list(tenant=request.tenant)
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            rows = rows.filter(status=data["status"])
        if data["method"]:
            used = PaymentAttempt.objects.filter(
                invoice=OuterRef("pk"), payment_method__kind=data["method"]
            )
            rows = rows.filter(Exists(used))
        if data["due_from"]:
            rows = rows.filter(due_at__date__gte=data["due_from"])
        if data["due_to"]:
            rows = rows.filter(due_at__date__lte=data["due_to"])
        if data["overdue"]:
            rows = rows.filter(status=Invoice.Status.OPEN, due_at__lt=clock.now())
    page = keyset_page(rows, after=request.GET.get("after"))
    return render(
        request,
        "dashboard/invoices/list.html",
        {"form": form, "page": page, "query": _query_without_cursor(request)},
        status=400 if form.errors else 200,
    )


def _query_without_cursor(request: StaffRequest) -> str:
    query = request.GET.copy()
    query.pop("after", None)
    return query.urlencode()


def _simple_list(
    request: StaffRequest,
    *,
    rows: QuerySet[Any],
    form: forms.Form,
    template: str,
    field: str = "created_at",
) -> HttpResponse:
    if form.is_valid():
        chosen = {k: v for k, v in form.cleaned_data.items() if v}
        rows = rows.filter(**chosen)
    page = keyset_page(rows, after=request.GET.get("after"), field=field)
    return render(
        request,
        template,
        {"form": form, "page": page, "query": _query_without_cursor(request)},
        status=400 if form.errors else 200,
    )


@staff_view(Perm.BILLING_VIEW)
def payments_list(request: StaffRequest) -> HttpResponse:
    return _simple_list(
        request,
        rows=payment_list(tenant=request.tenant),
        form=PaymentFilterForm(request.GET or None),
        template="dashboard/invoices/payments.html",
    )


@staff_view(Perm.BILLING_VIEW)
def refunds_list(request: StaffRequest) -> HttpResponse:
    return _simple_list(
        request,
        rows=refund_list(tenant=request.tenant).select_related("attempt__invoice"),
        form=RefundFilterForm(request.GET or None),
        template="dashboard/invoices/refunds.html",
    )


@staff_view(Perm.BILLING_VIEW)
def credit_notes_list(request: StaffRequest) -> HttpResponse:
    return _simple_list(
        request,
        rows=credit_note_list(tenant=request.tenant),
        form=forms.Form(request.GET or None),
        template="dashboard/invoices/credit_notes.html",
    )


@staff_view(Perm.BILLING_VIEW)
def events_list(request: StaffRequest) -> HttpResponse:
    return _simple_list(
        request,
        rows=Event.objects.for_tenant(request.tenant),
        form=EventFilterForm(request.GET or None),
        template="dashboard/invoices/events.html",
        field="at",
    )


# --- the invoice page ----------------------------------------------------------------------


def _detail(request: StaffRequest, invoice: Invoice, *, status: int = 200, **forms_: Any) -> Any:
    attempts = list(
        payment_list(tenant=request.tenant)
        .filter(invoice=invoice)
        .select_related("installment")
        .prefetch_related("refunds", "disputes")
        .order_by("number")
    )
    refund_forms = []
    for attempt in attempts:
        if attempt.status != PaymentAttempt.Status.SUCCEEDED:
            continue
        limit = _refundable(attempt, invoice)
        bound = forms_.get("refund_form")
        if bound is not None and bound.data.get("payment") == attempt.public_id:
            form = bound
        else:
            form = RefundForm(
                initial={"payment": attempt.public_id},
                currency=invoice.currency,
                limit_minor=limit,
                prefix=None,
            )
        refund_forms.append((attempt, limit, form))
    membership = request.membership
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "attempts": attempts,
        "refund_forms": refund_forms,
        "credit_notes": list(credit_note_list(tenant=request.tenant).filter(invoice=invoice)),
        "installments": list(invoice.installments.order_by("number")),
        "instructions": invoice_payment_instructions(invoice=invoice),
        "credit_form": forms_.get("credit_form")
        or AmountForm(currency=invoice.currency, limit_minor=_creditable(invoice)),
        "paid_form": forms_.get("paid_form") or MarkPaidForm(),
        "segunda_form": forms_.get("segunda_form") or SegundaViaForm(),
        "has_boleto": any(
            a.status == PaymentAttempt.Status.PENDING and a.gateway_ref and _is_boleto(a)
            for a in attempts
        ),
        "can_manage": membership.has_perm(Perm.BILLING_MANAGE),
        "can_refund": membership.has_perm(Perm.REFUNDS_CREATE),
        "creditable": _creditable(invoice),
        "split_form": forms_.get("split_form")
        or (_split_form(invoice) if _splittable(invoice, attempts) else None),
        "split_preview": forms_.get("split_preview"),
    }
    return render(request, "dashboard/invoices/detail.html", context, status=status)


def _split_form(invoice: Invoice, data: Any = None) -> InstallmentsForm:
    return InstallmentsForm(data, limit=payments.installment_limit(invoice))


def _splittable(invoice: Invoice, attempts: list[PaymentAttempt]) -> bool:
    # Only offered where the service would accept it; it checks again on confirm.
    return (
        invoice.status == Invoice.Status.OPEN
        and invoice.amount_due_minor > 0
        and not attempts
        and not invoice.installments.exists()
        and payments.installment_limit(invoice) > 1
    )


def _creditable(invoice: Invoice) -> int:
    return max(0, invoice.total_minor - invoice.credited_minor)


def _is_boleto(attempt: PaymentAttempt) -> bool:
    method = attempt.payment_method
    return method is not None and method.kind == "boleto"


@staff_view(Perm.BILLING_VIEW)
def invoice(request: StaffRequest, ref: str) -> HttpResponse:
    return _detail(request, _invoice(request, ref))


@staff_view(Perm.BILLING_VIEW)
def invoice_pdf(request: StaffRequest, ref: str) -> HttpResponse:
    found = (
        invoice_list(tenant=request.tenant)
        .select_related("tenant")
        .get(pk=_invoice(request, ref).pk)
    )
    response = HttpResponse(render_invoice_pdf(invoice=found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.number or found.public_id}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view(Perm.BILLING_VIEW)
def credit_note_pdf(request: StaffRequest, ref: str) -> HttpResponse:
    """This tenant's credit note (cn_… or its number) as a PDF; anything else is a 404."""
    found = (
        credit_note_list(tenant=request.tenant)
        .select_related("invoice__tenant")
        .filter(Q(public_id=ref) | Q(number=ref))
        .first()
    )
    if found is None:
        raise Http404
    response = HttpResponse(render_credit_note_pdf(note=found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- actions -------------------------------------------------------------------------------


def _done(request: StaffRequest, invoice: Invoice, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("dashboard:invoice", ref=invoice.public_id)


def _refused(request: StaffRequest, invoice: Invoice, exc: DomainError) -> HttpResponse:
    messages.error(request, exc.message)
    return redirect("dashboard:invoice", ref=invoice.public_id)


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_finalize(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    try:
        billing.invoice_finalize(
            tenant=request.tenant,
            invoice_id=found.pk,
            actor=Actor.staff(request.user),
            now=_now(found),
        )
    except DomainError as exc:
        return _refused(request, found, exc)
    return _done(request, found, _("Invoice finalized."))


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_charge(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    if found.status != Invoice.Status.OPEN:
        messages.error(request, _("Only an open invoice can be charged."))
        return redirect("dashboard:invoice", ref=found.public_id)
    try:
        # A gateway call: outside any transaction (invoice_charge checks).
        attempt = payments.invoice_charge(
            tenant=request.tenant, invoice_id=found.pk, now=_now(found)
        )
    except DomainError as exc:
        return _refused(request, found, exc)
    if attempt.status == PaymentAttempt.Status.FAILED:
        messages.error(
            request,
            _("The charge failed: %(message)s (%(code)s).")
            % {
                "message": attempt.failure_message or _("declined"),
                "code": attempt.failure_code or "card_declined",
            },
        )
        return redirect("dashboard:invoice", ref=found.public_id)
    return _done(
        request, found, _("Charge sent: %(status)s.") % {"status": attempt.get_status_display()}
    )


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_mark_paid(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        return _detail(request, found, status=400, paid_form=form)
    try:
        billing.invoice_mark_paid(
            tenant=request.tenant,
            invoice_id=found.pk,
            actor=Actor.staff(request.user),
            now=_now(found),
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        form.add_error("note" if exc.param is None else None, exc.message)
        return _detail(request, found, status=400, paid_form=form)
    return _done(request, found, _("Invoice marked as paid."))


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_void(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    try:
        billing.invoice_void(
            tenant=request.tenant,
            invoice_id=found.pk,
            actor=Actor.staff(request.user),
            now=_now(found),
        )
    except DomainError as exc:
        return _refused(request, found, exc)
    return _done(request, found, _("Invoice voided."))


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_mark_uncollectible(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    try:
        billing.invoice_mark_uncollectible(
            tenant=request.tenant,
            invoice_id=found.pk,
            actor=Actor.staff(request.user),
            now=_now(found),
        )
    except DomainError as exc:
        return _refused(request, found, exc)
    return _done(request, found, _("Invoice marked uncollectible."))


def _form_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.param if exc.param in form.fields else None
    if exc.param in {"amount", "amount_minor"}:
        field = "amount"
    form.add_error(field, exc.message)


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_credit_note(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    form = AmountForm(request.POST, currency=found.currency, limit_minor=_creditable(found))
    if not form.is_valid():
        return _detail(request, found, status=400, credit_form=form)
    try:
        note = billing.credit_note_issue(
            tenant=request.tenant,
            invoice_id=found.pk,
            amount_minor=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            actor=Actor.staff(request.user),
            now=_now(found),
        )
    except DomainError as exc:
        _form_error(form, exc)
        return _detail(request, found, status=400, credit_form=form)
    return _done(request, found, _("Credit note %(number)s issued.") % {"number": note.number})


@staff_view(Perm.REFUNDS_CREATE)
@require_POST
def invoice_refund(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    attempt = (
        payment_list(tenant=request.tenant)
        .filter(invoice=found, public_id=request.POST.get("payment", ""))
        .first()
    )
    if attempt is None:
        raise Http404
    form = RefundForm(
        request.POST, currency=found.currency, limit_minor=_refundable(attempt, found)
    )
    if not form.is_valid():
        return _detail(request, found, status=400, refund_form=form)
    try:
        refund = payments.payment_refund(
            tenant=request.tenant,
            attempt_id=attempt.pk,
            amount_minor=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            actor=Actor.staff(request.user),
            now=_now(found),
        )
    except DomainError as exc:
        _form_error(form, exc)
        return _detail(request, found, status=400, refund_form=form)
    if refund.status == Refund.Status.FAILED:
        messages.error(
            request, _("The refund failed: %(message)s") % {"message": refund.failure_message}
        )
        return redirect("dashboard:invoice", ref=found.public_id)
    return _done(request, found, _("Refund recorded, with its credit note."))


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_segunda_via(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    form = SegundaViaForm(request.POST)
    if not form.is_valid():
        return _detail(request, found, status=400, segunda_form=form)
    try:
        boleto_segunda_via_issue(
            tenant=request.tenant,
            invoice_id=found.pk,
            actor=Actor.staff(request.user),
            now=_now(found),
            new_due=form.cleaned_data["due_date"],
        )
    except DomainError as exc:
        form.add_error("due_date" if exc.param == "due_date" else None, exc.message)
        return _detail(request, found, status=400, segunda_form=form)
    return _done(request, found, _("Segunda via issued."))


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_resend(request: StaffRequest, ref: str) -> HttpResponse:
    found = _invoice(request, ref)
    try:
        delivery = invoice_email_resend(
            tenant=request.tenant,
            invoice_id=found.pk,
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        return _refused(request, found, exc)
    return _done(
        request, found, _("Invoice email queued for %(email)s.") % {"email": delivery.recipient}
    )


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def invoice_installments(request: StaffRequest, ref: str) -> HttpResponse:
    """Split into installments: the first post shows the schedule (changes nothing);
    the confirm button posts again with ``confirm`` and writes that same schedule."""
    found = _invoice(request, ref)
    form = _split_form(found, request.POST)
    if not form.is_valid():
        return _detail(request, found, status=400, split_form=form)
    count = form.cleaned_data["count"]
    try:
        if not form.cleaned_data["confirm"]:
            schedule = payments.invoice_installment_schedule(
                tenant=request.tenant, invoice=found, count=count, now=_now(found)
            )
            return _detail(request, found, split_form=form, split_preview=schedule)
        payments.invoice_installments_create(
            tenant=request.tenant,
            invoice_id=found.pk,
            count=count,
            actor=Actor.staff(request.user),
            now=_now(found),
        )
    except DomainError as exc:
        form.add_error("count" if exc.param == "count" else None, exc.message)
        return _detail(request, found, status=400, split_form=form)
    return _done(request, found, _("Invoice split into %(count)d installments.") % {"count": count})
