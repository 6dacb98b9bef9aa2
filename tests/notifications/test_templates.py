"""Default templates in every language, the tenant's own wording (sandboxed,
escaped), and the dashboard editor with its live preview."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from core import clock
from core.actors import Actor
from core.errors import NotFound, ValidationFailed
from notifications import catalog
from notifications.message_templates import message_template_save
from notifications.models import MessageTemplate
from notifications.rendering import TemplateError, compile_tenant_template, render_message
from tenants.context import tenant_context
from tenants.services import membership_add
from tests.conftest import TenantSetup

PASSWORD = "s3cret-Pass!"
ACTOR = Actor.system("tests")
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def _sample(tenant):  # type: ignore[no-untyped-def]
    return dict(catalog.sample_context(tenant.name, tenant.support_email))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("key", "channel"), [(k.key, c) for k in catalog.KINDS for c in k.channels]
)
def test_every_message_has_a_default_in_every_language(
    acme: TenantSetup, key, channel, language
) -> None:  # type: ignore[no-untyped-def]
    with tenant_context(acme.tenant):
        rendered = render_message(
            tenant=acme.tenant,
            key=key,
            channel=channel,
            language=language,
            context=_sample(acme.tenant),
        )

    assert rendered.text.strip()
    assert "{{" not in rendered.text
    assert "{%" not in rendered.text
    if channel == catalog.EMAIL:
        assert rendered.subject
        assert "\n" not in rendered.subject
        assert f'<html lang="{language}">' in rendered.html
        assert "Ana Souza" in rendered.html
    else:
        assert rendered.subject == ""
        assert rendered.html == ""


def test_every_event_driven_message_names_real_channels_and_is_classified() -> None:
    assert len({k.key for k in catalog.KINDS}) == len(catalog.KINDS)
    assert {k.key for k in catalog.KINDS if not k.required} == {"welcome", "card_expiring"}
    assert {
        "dunning_reminder_before",
        "dunning_reminder_due",
        "dunning_reminder_overdue",
        "dunning_payment_failed",
    } == catalog.DUNNING_KEYS
    assert [k.key for k in catalog.kinds_for_event("subscription.cancel_scheduled")] == [
        "subscription_ending_soon"
    ]
    assert [k.key for k in catalog.kinds_for_event("subscription.price_change_scheduled")] == [
        "price_change"
    ]
    assert all(set(k.channels) <= {"email", "sms"} for k in catalog.KINDS)


@pytest.mark.parametrize(
    "source",
    [
        "{% include 'base.html' %}",
        "{% extends 'base.html' %}",
        "{% load i18n %}",
        "{% debug %}",
        "{% now 'Y' %}",
        "{% url 'dashboard:home' %}",
        "{{ customer_name.__class__ }}",
        "{{ customer_name|safe }}",
        "{% if %}",
        "{{ customer_name|date:'Y' }}",
    ],
)
def test_the_sandbox_refuses_anything_beyond_plain_values(source: str) -> None:
    with pytest.raises(TemplateError):
        compile_tenant_template(source)


def test_the_sandbox_keeps_useful_tags_and_filters() -> None:
    from django.template import Context

    rendered = compile_tenant_template(
        "{% if plan_name %}{{ plan_name|upper }}{% endif %} {{ missing|default:'none' }}"
        " {% firstof nothing customer_name %}"
    ).render(Context({"plan_name": "pro", "customer_name": "Ana"}))

    assert rendered == "PRO none Ana"


def test_a_tenants_wording_is_used_for_its_language_only_and_escaped_in_html(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    with tenant_context(acme.tenant):
        message_template_save(
            tenant=acme.tenant,
            key="welcome",
            channel="email",
            language="en",
            subject="Hi {{ customer_name }}, welcome to {{ merchant_name }}!",
            body=(
                "Dear {{ customer_name }},\n\n<b>Bold</b> news: {{ plan_name }} is yours."
                "\n\n{{ portal_url }}"
            ),
            actor=ACTOR,
            now=clock.now(),
        )
        context = {**_sample(acme.tenant), "customer_name": "<i>Ana</i>"}
        own = render_message(
            tenant=acme.tenant, key="welcome", channel="email", language="en", context=context
        )
        other_language = render_message(
            tenant=acme.tenant, key="welcome", channel="email", language="ro", context=context
        )
    with tenant_context(globex.tenant):
        other_tenant = render_message(
            tenant=globex.tenant,
            key="welcome",
            channel="email",
            language="en",
            context=_sample(globex.tenant),
        )

    assert own.subject == "Hi <i>Ana</i>, welcome to Acme!"
    assert own.text.startswith("Dear <i>Ana</i>,\n\n<b>Bold</b> news: Pro is yours.")
    assert "&lt;b&gt;Bold&lt;/b&gt; news: Pro is yours." in own.html
    assert "&lt;i&gt;Ana&lt;/i&gt;" in own.html
    assert "<i>Ana</i>" not in own.html
    assert '<a href="https://example.com/portal"' in own.html
    assert other_language.subject == "Bun venit la Acme"  # the Romanian default
    assert other_tenant.subject == "Welcome to Globex"


def test_only_plain_values_reach_a_template_whatever_is_passed(acme: TenantSetup) -> None:
    with tenant_context(acme.tenant):
        message_template_save(
            tenant=acme.tenant,
            key="welcome",
            channel="email",
            language="en",
            subject="",
            body="[{{ tenant }}] [{{ tenant.name }}] [{{ customer_name }}]",
            actor=ACTOR,
            now=clock.now(),
        )
        rendered = render_message(
            tenant=acme.tenant,
            key="welcome",
            channel="email",
            language="en",
            context={"tenant": acme.tenant, "customer_name": "Ana", "merchant_name": "Acme"},
        )

    assert rendered.text == "[] [] [Ana]"
    assert rendered.subject == "Welcome to Acme"  # empty subject: Ciclo's


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"key": "no_such"}, "key"),
        ({"channel": "sms"}, "channel"),  # welcome is email only
        ({"language": "fr"}, "language"),
        ({"body": "   "}, "body"),
        ({"body": "{% include 'x' %}"}, "body"),
        ({"subject": "{{ a|no_such_filter }}"}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"body": None}, "body"),
    ],
)
def test_bad_templates_are_refused_and_nothing_is_saved(acme: TenantSetup, kwargs, param) -> None:  # type: ignore[no-untyped-def]
    values = {
        "key": "welcome",
        "channel": "email",
        "language": "en",
        "subject": "Hi",
        "body": "Hello",
        **kwargs,
    }
    with tenant_context(acme.tenant), pytest.raises((ValidationFailed, NotFound)) as caught:
        message_template_save(tenant=acme.tenant, actor=ACTOR, now=clock.now(), **values)

    assert caught.value.param == param
    with tenant_context(acme.tenant):
        assert MessageTemplate.objects.count() == 0


# --- the dashboard editor ------------------------------------------------------------


def _signed_in(setup: TenantSetup, role: str = "owner") -> Client:
    from tenants.accounts import staff_user_ensure

    email = setup.owner.email if role == "owner" else f"{role}@{setup.tenant.slug}.example"
    if role != "owner":
        user = staff_user_ensure(email=email, password=PASSWORD)
        with tenant_context(setup.tenant):
            membership_add(tenant=setup.tenant, user=user, role=role, actor=ACTOR, now=clock.now())
    client = Client()
    assert (
        client.post("/accounts/login/", {"login": email, "password": PASSWORD}).status_code == 302
    )
    return client


URL = "/dashboard/notifications/messages/payment_failed/email/en/"


def test_the_editor_starts_from_cicos_wording_with_variables_and_a_preview(
    acme: TenantSetup,
) -> None:
    client = _signed_in(acme)

    page = client.get(URL)
    listing = client.get("/dashboard/notifications/messages/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "We could not collect your payment of {{ payment_amount }}" in html
    assert "Your payment of R$ 99,90 failed" in html  # the preview, with sample data
    assert listing.status_code == 200
    assert "payment_failed" in listing.content.decode()


def test_a_template_syntax_error_is_a_form_error_and_nothing_is_saved(acme: TenantSetup) -> None:
    client = _signed_in(acme)

    response = client.post(URL, {"subject": "Oops {% if %}", "body": "Hello"})
    preview = client.post(URL + "preview/", {"subject": "", "body": "{% include 'x' %}"})

    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert preview.status_code == 400
    assert "include" in str(preview.json()["errors"])
    with tenant_context(acme.tenant):
        assert MessageTemplate.objects.count() == 0


def test_saving_previewing_and_resetting_a_template(acme: TenantSetup) -> None:
    client = _signed_in(acme)

    preview = client.post(
        URL + "preview/", {"subject": "Ouch, {{ customer_name }}", "body": "Pay {{ amount_due }}"}
    )
    saved = client.post(
        URL, {"subject": "Ouch, {{ customer_name }}", "body": "Pay {{ amount_due }}"}
    )
    with tenant_context(acme.tenant):
        stored = list(MessageTemplate.objects.values_list("key", "channel", "language", "subject"))
    reset = client.post(URL + "reset/")

    assert preview.status_code == 200
    assert preview.json()["subject"] == "Ouch, Ana Souza"
    assert preview.json()["text"] == "Pay R$ 99,90"
    assert "Pay R$ 99,90" in preview.json()["html"]
    assert saved.status_code == 302
    assert stored == [("payment_failed", "email", "en", "Ouch, {{ customer_name }}")]
    assert reset.status_code == 302
    with tenant_context(acme.tenant):
        assert MessageTemplate.objects.count() == 0


def test_only_roles_that_manage_the_account_edit_templates_and_unknown_ones_404(
    acme: TenantSetup,
) -> None:
    viewer = _signed_in(acme, role="viewer")
    owner = _signed_in(acme)

    assert viewer.get(URL).status_code == 403
    assert viewer.post(URL, {"subject": "x", "body": "y"}).status_code == 403
    assert viewer.get("/dashboard/notifications/messages/").status_code == 200
    assert owner.get("/dashboard/notifications/messages/nope/email/en/").status_code == 404
    assert owner.get("/dashboard/notifications/messages/welcome/sms/en/").status_code == 404
    assert owner.get("/dashboard/notifications/messages/welcome/email/fr/").status_code == 404
    with tenant_context(acme.tenant):
        assert MessageTemplate.objects.count() == 0


def test_one_tenants_templates_never_show_in_anothers_editor(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    with tenant_context(acme.tenant):
        message_template_save(
            tenant=acme.tenant,
            key="payment_failed",
            channel="email",
            language="en",
            subject="ACME SECRET",
            body="acme only",
            actor=ACTOR,
            now=clock.now(),
        )
    other = _signed_in(globex)

    page = other.get(URL).content.decode()

    assert "ACME SECRET" not in page
    assert "acme only" not in page
    assert "We could not collect your payment" in page
