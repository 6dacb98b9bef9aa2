"""HTML pages: the merchant's messages (templates with a live preview, the
message log, the SMS account) and the subscriber's one-click unsubscribe."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.services import customer_marketing_opt_out
from notifications import catalog
from notifications.forms import MessageTemplateForm, SmsAccountForm
from notifications.message_templates import (
    message_template_reset,
    message_template_save,
    starting_text,
)
from notifications.models import MessageDelivery, MessageTemplate, SmsAccount
from notifications.optout import customer_for_token
from notifications.rendering import render_message
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest, TenantRequest

_LANGUAGES = dict(settings.LANGUAGES)


def _target(key: str, channel: str, language: str) -> catalog.MessageKind:
    kind = catalog.get(key)
    if kind is None or channel not in kind.channels or language not in _LANGUAGES:
        raise Http404("No such message template.")
    return kind


@staff_view(Perm.CUSTOMERS_VIEW)
def home(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    overridden = set(
        MessageTemplate.objects.filter(tenant=tenant).values_list("key", "channel", "language")
    )
    rows = [
        {
            "kind": kind,
            "channels": [
                {
                    "channel": channel,
                    "languages": [
                        {
                            "code": code,
                            "name": name,
                            "custom": (kind.key, channel, code) in overridden,
                        }
                        for code, name in settings.LANGUAGES
                    ],
                }
                for channel in kind.channels
            ],
        }
        for kind in catalog.KINDS
    ]
    recent = (
        MessageDelivery.objects.filter(tenant=tenant)
        .select_related("event")
        .order_by("-created_at", "-id")
    )
    page = Paginator(recent, 50).get_page(request.GET.get("page"))
    membership = request.membership
    return render(
        request,
        "notifications/dashboard/home.html",
        {
            "rows": rows,
            "page": page,
            "can_edit": membership.has_perm(Perm.TENANT_MANAGE),
            "sms_account": SmsAccount.objects.filter(tenant=tenant).first(),
        },
    )


def _preview(
    request: StaffRequest,
    kind: catalog.MessageKind,
    channel: str,
    language: str,
    form: MessageTemplateForm,
) -> dict[str, str]:
    tenant = request.tenant
    draft = MessageTemplate(
        key=kind.key,
        channel=channel,
        language=language,
        subject=form.cleaned_data.get("subject", ""),
        body=form.cleaned_data["body"],
    )
    context = dict(catalog.sample_context(tenant.name, tenant.support_email))
    if kind.required:
        context["unsubscribe_url"] = ""
    rendered = render_message(
        tenant=tenant,
        key=kind.key,
        channel=channel,
        language=language,
        context=context,
        override=draft,
    )
    return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}


@staff_view(Perm.TENANT_MANAGE)
@require_http_methods(["GET", "POST"])
def template_edit(request: StaffRequest, key: str, channel: str, language: str) -> HttpResponse:
    kind = _target(key, channel, language)
    tenant = request.tenant
    existing = MessageTemplate.objects.filter(
        tenant=tenant, key=key, channel=channel, language=language
    ).first()
    if existing is not None:
        initial = {"subject": existing.subject, "body": existing.body}
    else:
        subject, body = starting_text(key=key, channel=channel, language=language)
        initial = {"subject": subject, "body": body}
    form = MessageTemplateForm(request.POST or None, initial=initial, channel=channel)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" not in request.POST:
            message_template_save(
                tenant=tenant,
                key=key,
                channel=channel,
                language=language,
                subject=form.cleaned_data.get("subject", ""),
                body=form.cleaned_data["body"],
                actor=Actor.staff(request.user),
                now=clock.now(),
            )
            flash.success(request, _("Template saved."))
            return redirect(
                "notifications:template_edit", key=key, channel=channel, language=language
            )
        preview = _preview(request, kind, channel, language, form)
    if request.method == "GET":
        bound = MessageTemplateForm(initial, channel=channel)
        if bound.is_valid():
            preview = _preview(request, kind, channel, language, bound)
    return render(
        request,
        "notifications/dashboard/edit.html",
        {
            "kind": kind,
            "channel": channel,
            "language": language,
            "language_name": _LANGUAGES[language],
            "form": form,
            "preview": preview,
            "custom": existing is not None,
            "variables": catalog.VARIABLES,
        },
        status=400 if form.errors else 200,
    )


@staff_view(Perm.TENANT_MANAGE)
@require_POST
def template_preview(request: StaffRequest, key: str, channel: str, language: str) -> JsonResponse:
    """The live preview: the posted draft rendered with sample data, or its errors."""
    kind = _target(key, channel, language)
    form = MessageTemplateForm(request.POST, channel=channel)
    if not form.is_valid():
        errors = {field or "__all__": [str(e) for e in errs] for field, errs in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse(_preview(request, kind, channel, language, form))


@staff_view(Perm.TENANT_MANAGE)
@require_POST
def template_reset(request: StaffRequest, key: str, channel: str, language: str) -> HttpResponse:
    _target(key, channel, language)
    message_template_reset(
        tenant=request.tenant,
        key=key,
        channel=channel,
        language=language,
        actor=Actor.staff(request.user),
        now=clock.now(),
    )
    flash.success(request, _("Back to Ciclo's wording."))
    return redirect("notifications:template_edit", key=key, channel=channel, language=language)


@staff_view(Perm.TENANT_MANAGE)
@require_http_methods(["GET", "POST"])
def sms_settings(request: StaffRequest) -> HttpResponse:
    from notifications.sms import sms_account_set

    tenant = request.tenant
    form = SmsAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sms_account_set(
                tenant=tenant, actor=Actor.staff(request.user), now=clock.now(), **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, exc.message)
        else:
            flash.success(request, _("SMS account saved."))
            return redirect("notifications:messages")
    return render(
        request,
        "notifications/dashboard/sms.html",
        {"form": form, "account": SmsAccount.objects.filter(tenant=tenant).first()},
        status=400 if form.errors else 200,
    )


# --- the subscriber's side (mounted in the portal: /t/<tenant>/unsubscribe/…) ------


@csrf_exempt  # the signed token is the credential; mail clients POST it (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: TenantRequest, tenant_slug: str, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners must not unsubscribe anyone);
    POST — the button, or a mail client's one-click — opts out."""
    tenant = request.tenant
    customer = customer_for_token(tenant=tenant, token=token) if tenant is not None else None
    if customer is None:
        return render(
            request,
            "notifications/unsubscribe.html",
            {"invalid": True},
            status=400,
        )
    done = customer.marketing_opted_out_at is not None
    if request.method == "POST":
        customer_marketing_opt_out(
            tenant=tenant,
            customer_id=customer.pk,
            actor=Actor.subscriber(customer),
            now=clock.now(),
        )
        done = True
    return render(request, "notifications/unsubscribe.html", {"customer": customer, "done": done})
