"""The catalog pages: products, plans and their price versions, coupons, tax
rates, sellers and their caps. Reading needs BILLING_VIEW (every role has it, as
prices are what invoices show); every write needs CATALOG_MANAGE."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import coupons, sellers, taxes
from billing.models import Coupon, Seller, SellerPlanCap, TaxRate
from checkout.links import hosted_url, qr_svg
from core import clock
from core.actors import Actor
from core.errors import DomainError
from dashboard.amounts import minor_to_text
from dashboard.catalog_forms import (
    CouponDiscountForm,
    CouponEditForm,
    CouponForm,
    PlanEditForm,
    PlanForm,
    PlanPriceForm,
    ProductForm,
    SellerCapForm,
    SellerForm,
    TaxRateForm,
)
from subscriptions import services as plans
from subscriptions.models import Plan, Product, Subscription, SubscriptionStatus
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

_GONE = (SubscriptionStatus.CANCELED, SubscriptionStatus.ENDED)
_LIVE = ~Q(subscriptions__status__in=_GONE)


def _actor(request: StaffRequest) -> Actor:
    return Actor.staff(request.user)


def _domain_error(form: forms.Form, exc: DomainError, params: dict[str, str]) -> None:
    """A service's refusal, shown next to the field it is about."""
    field = params.get(exc.param or "", exc.param) or params.get(str(exc.code))
    form.add_error(field if field in form.fields else None, exc.message)


def _render(request: StaffRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    failed = any(isinstance(v, forms.Form) and v.is_bound and v.errors for v in context.values())
    return render(request, f"dashboard/catalog/{template}", context, status=400 if failed else 200)


def _get(model: Any, request: StaffRequest, public_id: str) -> Any:
    obj = model.objects.filter(tenant=request.tenant, public_id=public_id).first()
    if obj is None:
        raise Http404
    return obj


# --- Overview


@staff_view(Perm.BILLING_VIEW)
def catalog(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    products = list(Product.objects.filter(tenant=tenant).order_by("-active", "name", "id"))
    versions = (
        Plan.objects.filter(tenant=tenant)
        .annotate(subscribers=Count("subscriptions", filter=_LIVE))
        .select_related("tax_rate")
        .order_by("code", "-version")
    )
    by_code: dict[str, list[Plan]] = defaultdict(list)
    for plan in versions:
        by_code[plan.code].append(plan)
    plans_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for code, plan_versions in by_code.items():
        current = plan_versions[0]
        plans_of[current.product_id].append(
            {"plan": current, "versions": plan_versions, "code": code}
        )
    rows = [{"product": p, "plans": plans_of.get(p.pk, [])} for p in products]
    return _render(
        request,
        "catalog.html",
        {
            "rows": rows,
            "counts": {
                "coupons": Coupon.objects.filter(tenant=tenant, active=True).count(),
                "tax_rates": TaxRate.objects.filter(tenant=tenant, active=True).count(),
                "sellers": Seller.objects.filter(tenant=tenant).count(),
            },
        },
    )


# --- Products


@staff_view(Perm.CATALOG_MANAGE)
def product_create(request: StaffRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = plans.product_create(
                tenant=request.tenant, actor=_actor(request), now=clock.now(), **form.cleaned_data
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(
                request, _("Product %(name)s created. Now add a plan to it.") % {"name": product}
            )
            return redirect(f"{_url('dashboard:plan_create')}?product={product.public_id}")
    return _render(request, "product_form.html", {"form": form, "product": None})


@staff_view(Perm.CATALOG_MANAGE)
def product_edit(request: StaffRequest, product_id: str) -> HttpResponse:
    product = _get(Product, request, product_id)
    form = ProductForm(
        request.POST or None, initial={"name": product.name, "description": product.description}
    )
    if request.method == "POST" and form.is_valid():
        try:
            plans.product_update(
                tenant=request.tenant,
                product_id=product.pk,
                actor=_actor(request),
                now=clock.now(),
                **form.cleaned_data,
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(request, _("Product saved."))
            return redirect("dashboard:catalog")
    return _render(request, "product_form.html", {"form": form, "product": product})


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def product_archive(request: StaffRequest, product_id: str) -> HttpResponse:
    product = _get(Product, request, product_id)
    try:
        plans.product_archive(
            tenant=request.tenant, product_id=product.pk, actor=_actor(request), now=clock.now()
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s archived: its plans take no new subscribers.") % {"name": product.name},
        )
    return redirect("dashboard:catalog")


# --- Plans

_PLAN_PARAMS = {
    "amount_minor": "amount",
    "setup_fee_minor": "setup_fee",
    "intro_amount_minor": "intro_amount",
    "plan_code_taken": "code",
}


@staff_view(Perm.CATALOG_MANAGE)
def plan_create(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    products = list(Product.objects.filter(tenant=tenant, active=True).order_by("name"))
    rates = list(TaxRate.objects.filter(tenant=tenant, active=True).order_by("name"))
    form = PlanForm(
        request.POST or None,
        products=products,
        tax_rates=rates,
        initial={"currency": tenant.default_currency, "product": request.GET.get("product")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = plans.plan_create(
                tenant=tenant,
                product=next(p for p in products if p.public_id == data["product"]),
                code=data["code"],
                name=data["name"],
                currency=data["currency"],
                amount_minor=data["amount_minor"],
                pricing_model=data["pricing_model"],
                tiers=data["tier_list"],
                interval=data["interval"],
                interval_count=data["interval_count"],
                trial_days=data["trial_days"],
                setup_fee_minor=data["setup_fee_minor"],
                term_cycles=data["term_cycles"],
                term_notice_days=data["term_notice_days"],
                intro_amount_minor=data["intro_amount_minor"],
                intro_cycles=data["intro_cycles"],
                max_pauses=data["max_pauses"],
                max_pause_cycles=data["max_pause_cycles"],
                max_installments=data["max_installments"],
                entitlements=data["entitlement_map"],
                ships_goods=data["ships_goods"],
                box_items=data["box_items"],
                billing_timing=data["billing_timing"] or Plan.BillingTiming.IN_ADVANCE,
                tax_rate=next((r for r in rates if r.public_id == data["tax_rate"]), None),
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _domain_error(form, exc, _PLAN_PARAMS)
        else:
            messages.success(request, _("Plan %(name)s created.") % {"name": plan.name})
            return redirect("dashboard:plan_detail", plan_id=plan.public_id)
    return _render(request, "plan_form.html", {"form": form, "products": products})


def _plan_page(request: StaffRequest, plan: Plan, form: PlanPriceForm | None) -> HttpResponse:
    tenant = request.tenant
    versions = list(
        Plan.objects.filter(tenant=tenant, code=plan.code)
        .annotate(subscribers=Count("subscriptions", filter=_LIVE))
        .select_related("product", "tax_rate")
        .order_by("-version")
    )
    subs = (
        Subscription.objects.filter(tenant=tenant, plan__code=plan.code)
        .exclude(status__in=_GONE)
        .select_related("customer")
        .order_by("customer__name", "id")
    )
    by_version: dict[int, list[Subscription]] = defaultdict(list)
    for sub in subs[:1000]:
        by_version[sub.plan_id].append(sub)
    current = versions[0]
    checkout_url = hosted_url(request, current) if current.active else ""
    if form is None and request.membership.has_perm(Perm.CATALOG_MANAGE):
        form = PlanPriceForm(
            currency=current.currency,
            initial={"amount": minor_to_text(current.amount_minor, current.currency)},
        )
    return _render(
        request,
        "plan_detail.html",
        {
            "plan": plan,
            "current": current,
            "versions": [{"plan": v, "subscriptions": by_version.get(v.pk, [])} for v in versions],
            "form": form,
            "can_manage": request.membership.has_perm(Perm.CATALOG_MANAGE),
            "checkout_url": checkout_url,
            "checkout_qr": qr_svg(checkout_url) if checkout_url else "",
            "embed_url": f"{checkout_url}?embed=1" if checkout_url else "",
            "site_origin": request.build_absolute_uri("/").rstrip("/"),
        },
    )


@staff_view(Perm.BILLING_VIEW)
def plan_detail(request: StaffRequest, plan_id: str) -> HttpResponse:
    return _plan_page(request, _get(Plan, request, plan_id), None)


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def plan_price(request: StaffRequest, plan_id: str) -> HttpResponse:
    plan = _get(Plan, request, plan_id)
    form = PlanPriceForm(request.POST, currency=plan.currency)
    if form.is_valid():
        try:
            new = plans.plan_change_price(
                tenant=request.tenant,
                plan_id=plan.pk,
                amount_minor=form.cleaned_data["amount"],
                setup_fee_minor=form.cleaned_data["setup_fee"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _domain_error(form, exc, _PLAN_PARAMS)
        else:
            if new.pk == plan.pk:
                messages.success(request, _("Price changed (nobody was billed at the old one)."))
            else:
                messages.success(
                    request,
                    _("Version %(v)d created; current subscribers keep their price.")
                    % {"v": new.version},
                )
            return redirect("dashboard:plan_detail", plan_id=new.public_id)
    return _plan_page(request, plan, form)


@staff_view(Perm.CATALOG_MANAGE)
def plan_edit(request: StaffRequest, plan_id: str) -> HttpResponse:
    """Everything but the price, on every version of the plan."""
    plan = _get(Plan, request, plan_id)
    tenant = request.tenant
    rates = list(TaxRate.objects.filter(tenant=tenant, active=True).order_by("name"))
    if plan.tax_rate is not None and plan.tax_rate not in rates:
        rates.append(plan.tax_rate)  # an archived rate it has stays selectable
    form = PlanEditForm(
        request.POST or None,
        tax_rates=rates,
        rows=len(plan.entitlements) + 1,
        initial=PlanEditForm.initial_for(plan),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        rate = next((r for r in rates if r.public_id == data["tax_rate"]), None)
        changes = {
            "name": data["name"],
            "trial_days": data["trial_days"],
            "max_pauses": data["max_pauses"],
            "max_pause_cycles": data["max_pause_cycles"],
            "max_installments": data["max_installments"],
            "entitlements": data["entitlement_map"],
            "ships_goods": data["ships_goods"],
            "box_items": data["box_items"],
        }
        if data["billing_timing"]:
            changes["billing_timing"] = data["billing_timing"]
        if rate != plan.tax_rate:
            changes["tax_rate"] = rate
        try:
            plans.plan_update(
                tenant=tenant,
                plan_id=plan.pk,
                changes=changes,
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(request, _("Plan saved."))
            return redirect("dashboard:plan_detail", plan_id=plan.public_id)
    return _render(request, "plan_edit.html", {"form": form, "plan": plan})


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def plan_archive(request: StaffRequest, plan_id: str) -> HttpResponse:
    """Archive the plan (``?active=1`` in the form: unarchive it)."""
    plan = _get(Plan, request, plan_id)
    active = request.POST.get("active") == "1"
    try:
        plans.plan_set_active(
            tenant=request.tenant,
            plan_id=plan.pk,
            active=active,
            actor=_actor(request),
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(request, _("%(name)s takes new subscribers again.") % {"name": plan})
        else:
            messages.success(
                request,
                _("%(name)s archived: no new subscribers; current ones keep running.")
                % {"name": plan},
            )
    return redirect("dashboard:plan_detail", plan_id=plan.public_id)


# --- Coupons


@staff_view(Perm.BILLING_VIEW)
def coupon_list(request: StaffRequest) -> HttpResponse:
    rows = (
        Coupon.objects.filter(tenant=request.tenant)
        .annotate(redemption_count=Count("redemptions"))
        .select_related("seller")
        .order_by("-active", "-created_at", "-id")
    )
    return _render(
        request,
        "coupons.html",
        {"coupons": rows, "can_manage": request.membership.has_perm(Perm.CATALOG_MANAGE)},
    )


@staff_view(Perm.CATALOG_MANAGE)
def coupon_create(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    seller_list = list(Seller.objects.filter(tenant=tenant).order_by("name"))
    codes = sorted(set(Plan.objects.filter(tenant=tenant).values_list("code", flat=True)))
    form = CouponForm(
        request.POST or None,
        plan_codes=codes,
        sellers=seller_list,
        currency=tenant.default_currency,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        seller = next((s for s in seller_list if s.public_id == data["seller"]), None)
        try:
            coupon = coupons.coupon_create(
                tenant=tenant,
                code=data["code"].strip(),
                name=data["name"],
                percent_off=data["percent_off"],
                amount_off_minor=data.get("amount_off_minor"),
                currency=data.get("currency") or "",
                duration=data["duration"],
                duration_cycles=data["duration_cycles"],
                applies_to=data["applies_to"],
                setup_percent_off=data["setup_percent_off"],
                max_redemptions=data["max_redemptions"],
                redeem_by=data["redeem_by_at"],
                plan_codes=data["plan_codes"],
                first_purchase_only=data["first_purchase_only"],
                seller_id=seller.pk if seller else None,
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _domain_error(
                form, exc, {"amount_off_minor": "amount_off", "coupon_code_taken": "code"}
            )
        else:
            messages.success(request, _("Coupon %(code)s created.") % {"code": coupon.code})
            return redirect("dashboard:coupons")
    return _render(request, "coupon_form.html", {"form": form})


@staff_view(Perm.CATALOG_MANAGE)
def coupon_edit(request: StaffRequest, coupon_id: str) -> HttpResponse:
    coupon = _get(Coupon, request, coupon_id)
    codes = sorted(set(Plan.objects.filter(tenant=request.tenant).values_list("code", flat=True)))
    form = CouponEditForm(request.POST or None, coupon=coupon, plan_codes=codes)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            coupons.coupon_update(
                tenant=request.tenant,
                coupon_id=coupon.pk,
                changes={
                    "name": data["name"],
                    "max_redemptions": data["max_redemptions"],
                    "redeem_by": data["redeem_by_at"],
                    "plan_codes": data["plan_codes"],
                    "first_purchase_only": data["first_purchase_only"],
                },
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(request, _("Coupon %(code)s saved.") % {"code": coupon.code})
            return redirect("dashboard:coupons")
    return _coupon_page(request, coupon, form, None)


def _coupon_page(
    request: StaffRequest,
    coupon: Coupon,
    form: CouponEditForm | None,
    discount_form: CouponDiscountForm | None,
) -> HttpResponse:
    if form is None:
        codes = sorted(
            set(Plan.objects.filter(tenant=request.tenant).values_list("code", flat=True))
        )
        form = CouponEditForm(coupon=coupon, plan_codes=codes)
    redeemed = bool(coupon.times_redeemed) or coupon.redemptions.exists()
    if discount_form is None and not redeemed:
        discount_form = CouponDiscountForm(coupon=coupon, currency=request.tenant.default_currency)
    return _render(
        request,
        "coupon_edit.html",
        {"form": form, "coupon": coupon, "discount_form": discount_form},
    )


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def coupon_discount(request: StaffRequest, coupon_id: str) -> HttpResponse:
    """Change the discount of a coupon nobody redeemed yet."""
    coupon = _get(Coupon, request, coupon_id)
    form = CouponDiscountForm(request.POST, coupon=coupon, currency=request.tenant.default_currency)
    if form.is_valid():
        data = form.cleaned_data
        try:
            coupons.coupon_discount_change(
                tenant=request.tenant,
                coupon_id=coupon.pk,
                percent_off=data["percent_off"],
                amount_off_minor=data.get("amount_off_minor"),
                currency=data.get("currency") or "",
                duration=data["duration"],
                duration_cycles=data["duration_cycles"],
                applies_to=data["applies_to"],
                setup_percent_off=data["setup_percent_off"],
                actor=_actor(request),
                now=clock.now(),
            )
        except DomainError as exc:
            _domain_error(form, exc, {"amount_off_minor": "amount_off"})
        else:
            messages.success(
                request, _("Coupon %(code)s: discount changed.") % {"code": coupon.code}
            )
            return redirect("dashboard:coupons")
    return _coupon_page(request, coupon, None, form)


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def coupon_archive(request: StaffRequest, coupon_id: str) -> HttpResponse:
    """Archive the coupon (``active=1`` in the form: make it redeemable again)."""
    coupon = _get(Coupon, request, coupon_id)
    active = request.POST.get("active") == "1"
    try:
        coupons.coupon_set_active(
            tenant=request.tenant,
            coupon_id=coupon.pk,
            active=active,
            actor=_actor(request),
            now=clock.now(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(
                request, _("Coupon %(code)s can be redeemed again.") % {"code": coupon.code}
            )
        else:
            messages.success(
                request,
                _("Coupon %(code)s archived: no new redemptions; current discounts continue.")
                % {"code": coupon.code},
            )
    return redirect("dashboard:coupons")


# --- Tax rates


@staff_view(Perm.BILLING_VIEW)
def tax_rate_list(request: StaffRequest) -> HttpResponse:
    rates = TaxRate.objects.filter(tenant=request.tenant).order_by("-active", "name", "id")
    return _render(request, "tax_rates.html", {"rates": rates})


@staff_view(Perm.CATALOG_MANAGE)
def tax_rate_create(request: StaffRequest) -> HttpResponse:
    form = TaxRateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rate = taxes.tax_rate_create(
                tenant=request.tenant, actor=_actor(request), now=clock.now(), **form.cleaned_data
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(request, _("Tax rate %(name)s created.") % {"name": rate.name})
            return redirect("dashboard:tax_rates")
    return _render(request, "tax_rate_form.html", {"form": form, "rate": None})


@staff_view(Perm.CATALOG_MANAGE)
def tax_rate_edit(request: StaffRequest, tax_rate_id: str) -> HttpResponse:
    rate = _get(TaxRate, request, tax_rate_id)
    form = TaxRateForm(
        request.POST or None,
        initial={
            "name": rate.name,
            "description": rate.description,
            "percent": rate.percent.normalize(),
            "inclusive": rate.inclusive,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            taxes.tax_rate_update(
                tenant=request.tenant,
                tax_rate_id=rate.pk,
                actor=_actor(request),
                now=clock.now(),
                **form.cleaned_data,
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(request, _("Tax rate saved."))
            return redirect("dashboard:tax_rates")
    return _render(request, "tax_rate_form.html", {"form": form, "rate": rate})


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def tax_rate_archive(request: StaffRequest, tax_rate_id: str) -> HttpResponse:
    rate = _get(TaxRate, request, tax_rate_id)
    try:
        taxes.tax_rate_archive(
            tenant=request.tenant, tax_rate_id=rate.pk, actor=_actor(request), now=clock.now()
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s archived: new plans cannot pick it; plans using it keep it.")
            % {"name": rate.name},
        )
    return redirect("dashboard:tax_rates")


# --- Sellers


@staff_view(Perm.BILLING_VIEW)
def seller_list(request: StaffRequest) -> HttpResponse:
    rows = (
        Seller.objects.filter(tenant=request.tenant)
        .annotate(coupon_count=Count("coupons", distinct=True))
        .prefetch_related("caps")
        .order_by("name", "id")
    )
    return _render(request, "sellers.html", {"sellers": rows})


@staff_view(Perm.CATALOG_MANAGE)
def seller_create(request: StaffRequest) -> HttpResponse:
    form = SellerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            seller = sellers.seller_create(
                tenant=request.tenant, actor=_actor(request), now=clock.now(), **form.cleaned_data
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(
                request,
                _("Seller %(name)s added. Set the most they may discount each plan.")
                % {"name": seller.name},
            )
            return redirect("dashboard:seller_edit", seller_id=seller.public_id)
    return _render(request, "seller_form.html", {"form": form, "seller": None})


def _seller_page(
    request: StaffRequest,
    seller: Seller,
    form: SellerForm,
    cap_form: SellerCapForm,
    commission_form: forms.Form | None = None,
) -> HttpResponse:
    from dashboard.commission_views import commission_form_for

    caps = SellerPlanCap.objects.filter(tenant=request.tenant, seller=seller).order_by("plan_code")
    return _render(
        request,
        "seller_form.html",
        {
            "form": form,
            "cap_form": cap_form,
            "seller": seller,
            "caps": caps,
            "commission_form": commission_form or commission_form_for(request, seller),
        },
    )


def seller_page_with(
    request: StaffRequest, seller: Seller, *, commission_form: forms.Form
) -> HttpResponse:
    """The seller's page with a refused commission form (400), the rest fresh."""
    form = SellerForm(initial={"name": seller.name, "email": seller.email})
    cap_form = SellerCapForm(plan_codes=_plan_codes(request))
    return _seller_page(request, seller, form, cap_form, commission_form)


def _plan_codes(request: StaffRequest) -> list[str]:
    return sorted(set(Plan.objects.filter(tenant=request.tenant).values_list("code", flat=True)))


@staff_view(Perm.CATALOG_MANAGE)
def seller_edit(request: StaffRequest, seller_id: str) -> HttpResponse:
    seller = _get(Seller, request, seller_id)
    form = SellerForm(request.POST or None, initial={"name": seller.name, "email": seller.email})
    if request.method == "POST" and form.is_valid():
        try:
            sellers.seller_update(
                tenant=request.tenant,
                seller_id=seller.pk,
                actor=_actor(request),
                now=clock.now(),
                **form.cleaned_data,
            )
        except DomainError as exc:
            _domain_error(form, exc, {})
        else:
            messages.success(request, _("Seller saved."))
            return redirect("dashboard:sellers")
    return _seller_page(request, seller, form, SellerCapForm(plan_codes=_plan_codes(request)))


@staff_view(Perm.CATALOG_MANAGE)
@require_POST
def seller_cap(request: StaffRequest, seller_id: str) -> HttpResponse:
    seller = _get(Seller, request, seller_id)
    cap_form = SellerCapForm(request.POST, plan_codes=_plan_codes(request))
    if cap_form.is_valid():
        try:
            sellers.seller_cap_set(
                tenant=request.tenant,
                seller_id=seller.pk,
                actor=_actor(request),
                now=clock.now(),
                **cap_form.cleaned_data,
            )
        except DomainError as exc:
            _domain_error(cap_form, exc, {})
        else:
            messages.success(request, _("Discount cap saved."))
            return redirect("dashboard:seller_edit", seller_id=seller.public_id)
    form = SellerForm(initial={"name": seller.name, "email": seller.email})
    return _seller_page(request, seller, form, cap_form)


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)
