"""Price tables on the dashboard (Catalog → Price tables): list, create, edit,
archive, and for each table its shareable link, QR code and iframe snippet,
like a plan's checkout. Reading needs BILLING_VIEW, writing CATALOG_MANAGE."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from checkout.links import price_table_url, qr_svg
from checkout.models import PriceTable
from checkout.price_tables import (
    MAX_PLANS,
    price_table_archive,
    price_table_create,
    price_table_plans,
    price_table_update,
)
from core import clock
from core.actors import Actor
from core.errors import DomainError
from subscriptions.models import Plan
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

SLOTS = [f"plan_{n}" for n in range(1, MAX_PLANS + 1)]


class PriceTableForm(forms.Form):
    """The plans in order, one select per column (empty ones are skipped)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    highlighted = forms.ChoiceField(label=gettext_lazy("Highlighted plan"), required=False)

    def __init__(self, *args: Any, plans: list[Plan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(p.public_id, f"{p.name} ({p.code})") for p in plans]
        for index, slot in enumerate(SLOTS, start=1):
            self.fields[slot] = forms.ChoiceField(
                label=_("Column %(n)d") % {"n": index}, required=False, choices=choices
            )
        highlighted = self.fields["highlighted"]
        assert isinstance(highlighted, forms.ChoiceField)
        highlighted.choices = choices
        self.order_fields(["name", *SLOTS, "highlighted"])

    def plan_ids(self) -> list[str]:
        return [self.cleaned_data[slot] for slot in SLOTS if self.cleaned_data.get(slot)]


def _plans(request: StaffRequest) -> list[Plan]:
    return list(
        Plan.objects.filter(tenant=request.tenant, active=True, superseded_by__isnull=True)
        .select_related("product")
        .order_by("name", "id")
    )


def _table(request: StaffRequest, table_id: str) -> PriceTable:
    table = PriceTable.objects.filter(tenant=request.tenant, public_id=table_id).first()
    if table is None:
        raise Http404(_("No such price table."))
    return table


def _error(form: PriceTableForm, exc: DomainError) -> None:
    field = {"plans": SLOTS[0]}.get(exc.param or "", exc.param or "")
    form.add_error(field if field in form.fields else None, exc.message)


def _page(request: StaffRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    form = context.get("form")
    failed = isinstance(form, forms.Form) and form.is_bound and bool(form.errors)
    return render(request, f"dashboard/catalog/{template}", context, status=400 if failed else 200)


@staff_view(Perm.BILLING_VIEW)
def price_tables(request: StaffRequest) -> HttpResponse:
    tables = PriceTable.objects.filter(tenant=request.tenant).order_by("-active", "name", "id")
    return _page(
        request,
        "price_tables.html",
        {"tables": tables, "can_manage": request.membership.has_perm(Perm.CATALOG_MANAGE)},
    )


@staff_view(Perm.CATALOG_MANAGE)
def price_table_new(request: StaffRequest) -> HttpResponse:
    form = PriceTableForm(request.POST or None, plans=_plans(request))
    if request.method == "POST" and form.is_valid():
        try:
            table = price_table_create(
                tenant=request.tenant,
                actor=Actor.staff(request.user),
                now=clock.now(),
                name=form.cleaned_data["name"],
                plans=form.plan_ids(),
                highlighted=form.cleaned_data["highlighted"],
            )
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("Price table %(name)s created.") % {"name": table.name})
            return redirect("dashboard:price_table", table_id=table.public_id)
    return _page(request, "price_table_form.html", {"form": form, "table": None})


@staff_view(Perm.BILLING_VIEW)
def price_table(request: StaffRequest, table_id: str) -> HttpResponse:
    """The table, and if it is active its link, QR code, snippet and preview."""
    table = _table(request, table_id)
    form = None
    if request.membership.has_perm(Perm.CATALOG_MANAGE) and table.active:
        initial: dict[str, Any] = {"name": table.name, "highlighted": table.highlighted}
        initial.update(dict(zip(SLOTS, table.plans, strict=False)))
        form = PriceTableForm(initial=initial, plans=_plans(request))
    return _detail(request, table, form)


def _detail(request: StaffRequest, table: PriceTable, form: PriceTableForm | None) -> HttpResponse:
    url = price_table_url(request, table) if table.active else ""
    return _page(
        request,
        "price_table_form.html",
        {
            "table": table,
            "form": form,
            "columns": price_table_plans(table),
            "share_url": url,
            "share_qr": qr_svg(url) if url else "",
            "embed_url": f"{url}?embed=1" if url else "",
            "site_origin": request.build_absolute_uri("/").rstrip("/"),
        },
    )


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def price_table_edit(request: StaffRequest, table_id: str) -> HttpResponse:
    table = _table(request, table_id)
    if not table.active:
        raise Http404(_("This price table is archived."))
    form = PriceTableForm(request.POST, plans=_plans(request))
    if form.is_valid():
        try:
            price_table_update(
                tenant=request.tenant,
                table_id=table.pk,
                actor=Actor.staff(request.user),
                now=clock.now(),
                name=form.cleaned_data["name"],
                plans=form.plan_ids(),
                highlighted=form.cleaned_data["highlighted"],
            )
        except DomainError as exc:
            _error(form, exc)
        else:
            messages.success(request, _("Price table saved."))
            return redirect("dashboard:price_table", table_id=table.public_id)
    return _detail(request, table, form)


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def price_table_archive_view(request: StaffRequest, table_id: str) -> HttpResponse:
    table = _table(request, table_id)
    price_table_archive(
        tenant=request.tenant, table_id=table.pk, actor=Actor.staff(request.user), now=clock.now()
    )
    messages.success(
        request, _("%(name)s archived: its link no longer opens.") % {"name": table.name}
    )
    return redirect("dashboard:price_tables")
