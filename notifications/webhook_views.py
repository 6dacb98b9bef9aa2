"""Dashboard pages for webhook endpoints: list, create, edit, disable/enable,
rotate the secret (shown once), the delivery log and replay.

Owners and admins only (the permission that guards API keys: both hand
integrators a secret)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import clock
from core.actors import Actor
from core.errors import DomainError, NotFound
from notifications import webhooks
from notifications.models import WebhookAttempt, WebhookEndpoint
from tenants.access import staff_view
from tenants.permissions import Perm
from tenants.requests import StaffRequest

# The raw secret rides in the session for exactly one page view.
_SECRET_SESSION = "ciclo_webhook_secret"  # noqa: S105 (a session key, not a secret)
PERM = Perm.API_KEYS_MANAGE


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=webhooks.MAX_URL_LENGTH,
        help_text=gettext_lazy("An https address on the public internet."),
    )
    enabled_events = forms.CharField(
        label=gettext_lazy("Events"),
        initial="*",
        help_text=gettext_lazy(
            "Separated by spaces or commas: exact types (invoice.paid), prefixes (invoice.*), "
            "or * for every event."
        ),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=500, required=False)

    def clean_enabled_events(self) -> list[str]:
        raw = self.cleaned_data["enabled_events"]
        return [part for part in raw.replace(",", " ").split() if part]


def _actor(request: StaffRequest) -> Actor:
    return Actor.staff(request.user)


def _form_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.param if exc.param in form.fields else None
    form.add_error(field, exc.message)


@staff_view(PERM)
def endpoints(request: StaffRequest) -> HttpResponse:
    tenant = request.tenant
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = webhooks.webhook_endpoint_create(
                tenant=tenant, actor=_actor(request), now=clock.now(), **form.cleaned_data
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            request.session[_SECRET_SESSION] = created.secret
            messages.success(request, _("Endpoint created."))
            return redirect("notifications:webhook_detail", endpoint_id=created.endpoint.public_id)
    return render(
        request,
        "notifications/webhooks/list.html",
        {"form": form, "endpoints": webhooks.endpoint_list(tenant=tenant)},
        status=400 if form.errors else 200,
    )


def _endpoint(request: StaffRequest, endpoint_id: str) -> WebhookEndpoint:
    try:
        return webhooks.endpoint_get(
            tenant=request.tenant,
            endpoint_id=endpoint_id,
        )
    except NotFound as exc:
        raise Http404(exc.message) from None


@staff_view(PERM)
def endpoint_detail(request: StaffRequest, endpoint_id: str) -> HttpResponse:
    tenant = request.tenant
    endpoint = _endpoint(request, endpoint_id)
    initial: dict[str, Any] = {
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": " ".join(endpoint.enabled_events),
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.webhook_endpoint_update(
                tenant=tenant,
                actor=_actor(request),
                now=clock.now(),
                endpoint_id=endpoint.public_id,
                **form.cleaned_data,
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("notifications:webhook_detail", endpoint_id=endpoint.public_id)
    deliveries = webhooks.delivery_list(tenant=tenant, endpoint=endpoint).prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
    )
    page = Paginator(deliveries, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/webhooks/detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "page": page,
            "secret": request.session.pop(_SECRET_SESSION, None),
        },
        status=400 if form.errors else 200,
    )


def _post_action(request: StaffRequest, endpoint_id: str, run: Any, done: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    try:
        result = run(
            tenant=request.tenant,
            actor=_actor(request),
            now=clock.now(),
            endpoint_id=endpoint.public_id,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if isinstance(result, webhooks.EndpointWithSecret):
            request.session[_SECRET_SESSION] = result.secret
        messages.success(request, done)
    return redirect("notifications:webhook_detail", endpoint_id=endpoint.public_id)


@staff_view(PERM)
@require_POST
def endpoint_disable(request: StaffRequest, endpoint_id: str) -> HttpResponse:
    return _post_action(
        request, endpoint_id, webhooks.webhook_endpoint_disable, _("Endpoint disabled.")
    )


@staff_view(PERM)
@require_POST
def endpoint_enable(request: StaffRequest, endpoint_id: str) -> HttpResponse:
    return _post_action(
        request, endpoint_id, webhooks.webhook_endpoint_enable, _("Endpoint enabled.")
    )


@staff_view(PERM)
@require_POST
def endpoint_rotate(request: StaffRequest, endpoint_id: str) -> HttpResponse:
    return _post_action(
        request,
        endpoint_id,
        webhooks.webhook_endpoint_rotate_secret,
        _("New secret created; the old one keeps working for 24 hours."),
    )


@staff_view(PERM)
@require_POST
def endpoint_delete(request: StaffRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    webhooks.webhook_endpoint_delete(
        tenant=request.tenant,
        actor=_actor(request),
        now=clock.now(),
        endpoint_id=endpoint.public_id,
    )
    messages.success(request, _("Endpoint deleted."))
    return redirect("notifications:webhooks")


@staff_view(PERM)
@require_POST
def delivery_replay(request: StaffRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    try:
        webhooks.webhook_delivery_replay(
            tenant=request.tenant,
            actor=_actor(request),
            now=clock.now(),
            endpoint_id=endpoint.public_id,
            delivery_id=delivery_id,
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sending it again now."))
    return redirect("notifications:webhook_detail", endpoint_id=endpoint.public_id)
