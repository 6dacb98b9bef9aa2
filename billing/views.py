"""Staff HTML/PDF views for billing documents: thin, tenant-scoped."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from tenants.access import staff_view
from tenants.permissions import Perm


@staff_view(Perm.BILLING_VIEW)
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    invoice = (
        Invoice.objects.filter(tenant=tenant, pk=invoice_id)
        .select_related("tenant", "customer")
        .prefetch_related("lines")
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    pdf = render_invoice_pdf(invoice=invoice)
    filename = invoice.number or invoice.public_id
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
