"""Bank return files (CNAB 240) on the dashboard: upload one, see what each título did.

Thin views over ``billing.return_files`` (the same service as
``POST /api/v1/boleto_return_files``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from billing.models import BoletoReturnFile, BoletoReturnLine
from billing.return_files import MAX_RETURN_FILE_BYTES, boleto_return_file_process
from core import clock
from core.actors import Actor
from core.errors import DomainError
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

Outcome = BoletoReturnLine.Outcome
_SETTLED = (Outcome.SETTLED, Outcome.OVERPAID)
_MISMATCHES = (Outcome.UNDERPAID, Outcome.OVERPAID, Outcome.WITHDRAWN)


class ReturnFileForm(forms.Form):
    file = forms.FileField(
        label=_("Return file (CNAB 240)"),
        help_text=_("The bank's return file (.ret), at most 1 MB."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RETURN_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB."), code="file_too_large")
        return upload


def _files(request: StaffRequest) -> Any:
    return (
        BoletoReturnFile.objects.filter(tenant=request.tenant)
        .annotate(
            settled=Count(
                "lines", filter=Q(lines__outcome__in=[Outcome.SETTLED, Outcome.OVERPAID])
            ),
            already_paid=Count("lines", filter=Q(lines__outcome=Outcome.ALREADY_PAID)),
            unknown=Count("lines", filter=Q(lines__outcome=Outcome.UNKNOWN)),
            mismatches=Count("lines", filter=Q(lines__outcome__in=_MISMATCHES)),
        )
        .order_by("-created_at", "-id")
    )


def _list(request: StaffRequest, form: ReturnFileForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "dashboard/invoices/return_files.html",
        {
            "form": form,
            "files": list(_files(request)[:50]),
            "can_manage": request.membership.has_perm(Perm.BILLING_MANAGE),
        },
        status=status,
    )


def _refusal(exc: DomainError) -> str:
    """The service's refusal in the reader's language; a malformed file keeps the
    parser's pointer (line and FEBRABAN field name) as it is."""
    if exc.code == "malformed_return_file":
        return str(
            _("This is not a valid CNAB 240 return file. %(detail)s") % {"detail": exc.message}
        )
    if exc.code == "empty_file":
        return str(_("The file is empty."))
    if exc.code == "file_too_large":
        return str(_("The file is larger than 1 MB."))
    return exc.message


@staff_view(Perm.BILLING_VIEW)
def return_files(request: StaffRequest) -> HttpResponse:
    return _list(request, ReturnFileForm())


@staff_view(Perm.BILLING_MANAGE)
@require_POST
def return_file_upload(request: StaffRequest) -> HttpResponse:
    form = ReturnFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        stored = boleto_return_file_process(
            tenant=request.tenant,
            content=upload.read(),
            filename=str(upload.name or ""),
            actor=Actor.staff(request.user),
            now=clock.now(),
        )
    except DomainError as exc:
        form.add_error("file", _refusal(exc))
        return _list(request, form, status=400)
    return redirect("dashboard:return_file", ref=stored.public_id)


@staff_view(Perm.BILLING_VIEW)
def return_file(request: StaffRequest, ref: str) -> HttpResponse:
    found = _files(request).filter(public_id=ref).first()
    if found is None:
        raise Http404
    lines = list(
        BoletoReturnLine.objects.filter(tenant=request.tenant, file=found).select_related(
            "attempt__invoice"
        )
    )
    return render(
        request,
        "dashboard/invoices/return_file.html",
        {"file": found, "lines": lines, "mismatch_outcomes": list(_MISMATCHES)},
    )
