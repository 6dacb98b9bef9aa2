"""Issue 13 item 7: the settings page covers everything a tenant configures."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tests.conftest import TenantSetup
from tests.dashboard.test_staff_pages import _add_member, _signed_in

URL = "/dashboard/settings/"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Acme",
        "default_currency": "BRL",
        "time_zone": "America/Sao_Paulo",
        "locale": "pt-br",
        "proration_precision": "day",
        "rounding_mode": "half_even",
        "invoice_prefix": "",
        "net_terms_days": "0",
        "primary_color": "#1f6feb",
        "accent_color": "#0e9f6e",
        "support_email": "",
        "support_phone": "",
        **changes,
    }


def _png(name: str = "logo.png", size: tuple[int, int] = (8, 8)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#1f6feb").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _unchanged(acme: TenantSetup) -> None:
    tenant = Tenant.objects.get(pk=acme.tenant.pk)
    assert (
        tenant.name,
        tenant.default_currency,
        tenant.time_zone,
        tenant.locale,
        tenant.proration_precision,
        tenant.rounding_mode,
        tenant.proration_change_day,
        tenant.proration_day_count,
        tenant.quantity_change_lines,
        tenant.invoice_prefix,
        tenant.net_terms_days,
        tenant.logo.name,
        tenant.primary_color,
        tenant.require_mfa,
    ) == (
        "Acme",
        "BRL",
        "America/Sao_Paulo",
        "pt-br",
        "day",
        "half_even",
        "new",
        "calendar",
        "split",
        "",
        0,
        "",
        "#1f6feb",
        False,
    )
    with tenant_context(acme.tenant):
        assert not AuditEntry.objects.filter(action="tenant.settings_changed").exists()


def test_the_page_shows_every_setting(acme: TenantSetup) -> None:
    page = _signed_in("owner@acme.example").get(URL).content.decode()

    for name in [
        "proration_precision",
        "rounding_mode",
        "invoice_prefix",
        "net_terms_days",
        "time_zone",
        "default_currency",
        "locale",
        "logo",
        "primary_color",
        "accent_color",
        "support_email",
        "support_phone",
        "require_mfa",
    ]:
        assert f'name="{name}"' in page, name
    assert 'enctype="multipart/form-data"' in page


def test_every_billing_rule_and_the_logo_are_saved_and_audited(acme: TenantSetup) -> None:
    client = _signed_in("owner@acme.example")
    form = _form(
        proration_precision="second",
        rounding_mode="half_up",
        interval_change_anchor="keep",
        pause_unused="carry",
        proration_change_day="old",
        proration_day_count="thirty",
        quantity_change_lines="difference",
        trial_invoice="zero",
        invoice_prefix="acme",
        net_terms_days="30",
        locale="ro",
        default_currency="usd",
        time_zone="Europe/Bucharest",
        accent_color="#abcdef",
        support_email="help@acme.example",
        support_phone="+40 21 000 0000",
        require_mfa="on",
        logo=_png(),
    )

    response = client.post(URL, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(pk=acme.tenant.pk)
    assert tenant.proration_precision == "second"
    assert tenant.rounding_mode == "half_up"
    assert (tenant.interval_change_anchor, tenant.pause_unused) == ("keep", "carry")
    assert (tenant.proration_change_day, tenant.proration_day_count) == ("old", "thirty")
    assert tenant.quantity_change_lines == "difference"
    assert tenant.trial_invoice == "zero"
    assert tenant.invoice_prefix == "ACME"
    assert tenant.net_terms_days == 30
    assert tenant.locale == "ro"
    assert tenant.default_currency == "USD"
    assert tenant.time_zone == "Europe/Bucharest"
    assert tenant.accent_color == "#abcdef"
    assert tenant.require_mfa is True
    assert tenant.logo.name.startswith("logos/")
    assert tenant.logo.name.endswith(".png")
    with tenant_context(acme.tenant):
        entry = AuditEntry.objects.get(action="tenant.settings_changed")
    assert entry.changes["net_terms_days"] == [0, 30]
    assert entry.changes["rounding_mode"] == ["half_even", "half_up"]
    assert entry.changes["logo"][0] == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("proration_precision", "hour", id="bad-precision"),
        pytest.param("rounding_mode", "ceiling", id="bad-rounding"),
        pytest.param("interval_change_anchor", "sometimes", id="bad-anchor"),
        pytest.param("pause_unused", "forget", id="bad-pause-unused"),
        pytest.param("proration_change_day", "yesterday", id="bad-change-day"),
        pytest.param("proration_day_count", "31", id="bad-day-count"),
        pytest.param("quantity_change_lines", "both", id="bad-quantity-lines"),
        pytest.param("trial_invoice", "free", id="bad-trial-invoice"),
        pytest.param("invoice_prefix", "AC-ME", id="prefix-with-dash"),
        pytest.param("invoice_prefix", "A" * 13, id="prefix-too-long"),
        pytest.param("net_terms_days", "-1", id="negative-terms"),
        pytest.param("net_terms_days", "366", id="huge-terms"),
        pytest.param("net_terms_days", "ten", id="terms-not-a-number"),
        pytest.param("net_terms_days", "", id="terms-missing"),
        pytest.param("time_zone", "Europe/Atlantis", id="unknown-tz"),
        pytest.param("time_zone", "", id="tz-missing"),
        pytest.param("default_currency", "XAU", id="gold-is-not-a-currency"),
        pytest.param("default_currency", "XTS", id="test-currency"),
        pytest.param("locale", "de", id="unsupported-locale"),
        pytest.param("primary_color", "#12345", id="short-colour"),
        pytest.param("accent_color", "blue", id="named-colour"),
        pytest.param("support_email", "nope", id="bad-email"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(
    acme: TenantSetup, field: str, value: str
) -> None:
    response = _signed_in("owner@acme.example").post(URL, _form(require_mfa="on", **{field: value}))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="errorlist' in response.content.decode()
    _unchanged(acme)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        pytest.param(
            SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            "",
            id="svg",
        ),
        pytest.param(
            SimpleUploadedFile("logo.png", b"not an image", content_type="image/png"),
            "",
            id="not-an-image",
        ),
        pytest.param("big", "512 KB", id="too-big"),
    ],
)
def test_a_bad_logo_is_refused(acme: TenantSetup, upload: Any, message: str) -> None:
    if upload == "big":
        # Noise does not compress: well over 512 KB.
        import os

        image = Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        upload = SimpleUploadedFile("big.png", buffer.getvalue(), content_type="image/png")

    response = _signed_in("owner@acme.example").post(URL, _form(require_mfa="on", logo=upload))

    assert response.status_code == 400
    assert "logo" in response.context["form"].errors
    assert message in str(response.context["form"].errors["logo"])
    _unchanged(acme)


@pytest.mark.parametrize("role", ["admin", "finance", "support", "viewer"])
def test_only_tenant_managers_change_settings(acme: TenantSetup, role: str) -> None:
    from tenants.permissions import Perm, role_has_permission

    _add_member(acme, f"{role}@acme.example", role)
    client = _signed_in(f"{role}@acme.example")

    response = client.post(URL, _form(name="Hijacked", require_mfa="on"))

    if role_has_permission(role, Perm.TENANT_MANAGE):
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        assert client.get(URL).status_code == 403
        _unchanged(acme)


def test_the_service_refuses_bad_values_with_the_field_named(acme: TenantSetup) -> None:
    from core import clock
    from core.actors import Actor
    from core.errors import ValidationFailed
    from tenants.services import tenant_update_settings

    with tenant_context(acme.tenant):
        for field, value in [
            ("net_terms_days", True),
            ("net_terms_days", 400),
            ("time_zone", "Nowhere/Void"),
            ("default_currency", "XXX"),
            ("primary_color", "#gggggg"),
            ("logo", SimpleUploadedFile("x.svg", b"<svg/>")),
        ]:
            with pytest.raises(ValidationFailed) as caught:
                tenant_update_settings(
                    tenant=acme.tenant, actor=Actor.system(), now=clock.now(), **{field: value}
                )
            assert caught.value.param == field
    _unchanged(acme)
