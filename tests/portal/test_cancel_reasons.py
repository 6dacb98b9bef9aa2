"""Issue 14, portal item 3: the cancellation reasons are the merchant's own list
(dashboard settings and ``/api/v1/account``), the portal offers that list, and a
cancellation keeps the reason's code and the label shown at the time."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core import clock
from subscriptions.models import ScheduledChange, Subscription
from tenants.cancel_reasons import MAX_CANCEL_REASONS
from tenants.context import tenant_context
from tenants.models import AuditEntry, Tenant
from tenants.services import api_key_create
from tests.api.helpers import client_for, error
from tests.portal import test_portal_subscriptions as base
from tests.portal.test_portal_subscriptions import ACTOR, Shop, _owner

# The portal subscription tests' world: a merchant, its subscriber, another one.
shop = base.shop
other_shop = base.other_shop

OWN = [
    {"code": "price", "label": "Preço alto demais"},
    {"code": "moving-abroad", "label": "Vou me mudar"},
]


def _api(shop: Shop) -> Any:
    with tenant_context(shop.w.tenant):
        key = api_key_create(tenant=shop.w.tenant, name="t", actor=ACTOR, now=clock.now())
    return client_for(key.raw)


def _tenant(shop: Shop) -> Tenant:
    return Tenant.objects.get(pk=shop.w.tenant.pk)


def _set(shop: Shop, reasons: list[dict[str, str]]) -> None:
    Tenant.objects.filter(pk=shop.w.tenant.pk).update(cancel_reasons=reasons)
    shop.w.tenant.refresh_from_db()


def _form_settings(**changes: Any) -> dict[str, Any]:
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


# --- API -------------------------------------------------------------------


def test_api_shows_the_default_list_in_the_tenants_language(shop: Shop) -> None:
    body = _api(shop).get("/api/v1/account").json()
    codes = [r["code"] for r in body["cancel_reasons"]]
    assert codes[0] == "too_expensive"
    assert codes[-1] == "other"
    assert len(codes) == 7
    # The tenant speaks pt-BR: the labels are not the English source strings
    # (when the catalog is compiled) and never empty.
    assert all(r["label"] for r in body["cancel_reasons"])


def test_api_patch_sets_the_list_and_get_returns_it(shop: Shop) -> None:
    api = _api(shop)
    response = api.patch("/api/v1/account", {"cancel_reasons": OWN}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["cancel_reasons"] == OWN
    assert _tenant(shop).cancel_reasons == OWN
    assert api.get("/api/v1/account").json()["cancel_reasons"] == OWN
    entry = AuditEntry.objects.filter(action="tenant.settings_changed").latest("id")
    assert entry.changes["cancel_reasons"][1] == OWN
    # [] goes back to the defaults.
    reset = api.patch("/api/v1/account", {"cancel_reasons": []}, format="json")
    assert reset.status_code == 200
    assert _tenant(shop).cancel_reasons == []
    assert reset.json()["cancel_reasons"][0]["code"] == "too_expensive"


@pytest.mark.parametrize(
    "bad",
    [
        [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}],
        [{"code": "Not A Slug", "label": "A"}],
        [{"code": "", "label": "A"}],
        [{"code": "a", "label": ""}],
        [{"code": "a", "label": "   "}],
        [{"code": "a", "label": "x" * 201}],
        [{"code": "a", "label": "a\x00b"}],
        [{"code": f"r{n}", "label": f"R{n}"} for n in range(MAX_CANCEL_REASONS + 1)],
        [{"code": "a"}],
        [{"code": "a", "label": "A", "extra": 1}],
        ["a"],
        "too_expensive",
    ],
)
def test_api_bad_lists_change_nothing(shop: Shop, bad: Any) -> None:
    _set(shop, OWN)
    response = _api(shop).patch("/api/v1/account", {"cancel_reasons": bad}, format="json")
    assert response.status_code == 400
    assert error(response)["param"].startswith("cancel_reasons")
    assert _tenant(shop).cancel_reasons == OWN


def test_twenty_reasons_are_accepted(shop: Shop) -> None:
    many = [{"code": f"r{n}", "label": f"R{n}"} for n in range(MAX_CANCEL_REASONS)]
    response = _api(shop).patch("/api/v1/account", {"cancel_reasons": many}, format="json")
    assert response.status_code == 200
    assert len(_tenant(shop).cancel_reasons) == MAX_CANCEL_REASONS


def test_api_another_tenants_key_sees_and_changes_its_own_list_only(
    shop: Shop, other_shop: dict[str, Any]
) -> None:
    _set(shop, OWN)
    globex = Tenant.objects.get(slug="globex")
    with tenant_context(globex):
        key = api_key_create(tenant=globex, name="g", actor=ACTOR, now=clock.now())
    theirs = client_for(key.raw)
    assert theirs.get("/api/v1/account").json()["cancel_reasons"][0]["code"] == "too_expensive"
    theirs.patch("/api/v1/account", {"cancel_reasons": [{"code": "x", "label": "X"}]}, "json")
    assert _tenant(shop).cancel_reasons == OWN


# --- Dashboard settings ----------------------------------------------------


def test_dashboard_settings_edit_the_list(shop: Shop) -> None:
    client = _owner()
    page = client.get("/dashboard/settings/").content.decode()
    assert 'name="cancel_reasons"' in page
    assert "too_expensive |" in page
    response = client.post(
        "/dashboard/settings/",
        _form_settings(cancel_reasons="price | Preço alto demais\n\nmoving-abroad | Vou me mudar"),
    )
    assert response.status_code == 302
    assert _tenant(shop).cancel_reasons == OWN


def test_dashboard_saving_other_settings_keeps_the_defaults_unfrozen(shop: Shop) -> None:
    client = _owner()
    form = client.get("/dashboard/settings/").context["form"]
    response = client.post(
        "/dashboard/settings/",
        _form_settings(support_phone="123", cancel_reasons=form.initial["cancel_reasons"]),
    )
    assert response.status_code == 302
    tenant = _tenant(shop)
    assert tenant.support_phone == "123"
    assert tenant.cancel_reasons == []


@pytest.mark.parametrize(
    "text",
    [
        "no separator here",
        "a | A\na | B",
        "BAD CODE | A",
        "a | ",
        "a | " + "x" * 201,
        "\n".join(f"r{n} | R{n}" for n in range(MAX_CANCEL_REASONS + 1)),
        "a | A\x00",
    ],
)
def test_dashboard_bad_lists_show_the_error_and_change_nothing(shop: Shop, text: str) -> None:
    _set(shop, OWN)
    response = _owner().post(
        "/dashboard/settings/", _form_settings(support_phone="999", cancel_reasons=text)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["cancel_reasons"]
    tenant = _tenant(shop)
    assert tenant.cancel_reasons == OWN
    assert tenant.support_phone == ""


# --- Portal ----------------------------------------------------------------


def _steps(reason: str, when: str = "period_end") -> dict[str, str]:
    return {"reason": reason, "comment": "Caro", "when": when}


def test_portal_offers_the_merchants_list(shop: Shop) -> None:
    _set(shop, OWN)
    form = shop.client.get(shop.url("cancel/")).context["form"]
    assert [c[0] for c in form.fields["reason"].choices] == ["price", "moving-abroad"]
    page = shop.client.get(shop.url("cancel/")).content.decode()
    assert "Vou me mudar" in page


def test_cancellation_keeps_the_code_and_the_label_shown(shop: Shop) -> None:
    _set(shop, OWN)
    assert (
        shop.client.post(shop.url("cancel/"), {**_steps("price"), "step": "reason"}).context["step"]
        == "confirm"
    )
    done = shop.client.post(shop.url("cancel/"), {**_steps("price"), "step": "cancel"})
    assert done.status_code == 302
    sub = shop.refresh()
    assert (sub.cancel_reason_code, sub.cancel_reason_label, sub.cancel_comment) == (
        "price",
        "Preço alto demais",
        "Caro",
    )
    entry = AuditEntry.objects.get(action="subscription.cancellation_feedback")
    assert entry.changes["reason"] == "price"
    assert entry.changes["reason_label"] == "Preço alto demais"
    # The merchant renames the reason: history keeps what the subscriber saw.
    _set(shop, [{"code": "price", "label": "Caro"}, OWN[1]])
    assert shop.refresh().cancel_reason_label == "Preço alto demais"
    # The dashboard and the API show it.
    page = _owner().get(f"/dashboard/subscriptions/{sub.public_id}/").content.decode()
    assert 'data-testid="sub-cancel-reason"' in page
    assert "Preço alto demais" in page
    body = _api(shop).get(f"/api/v1/subscriptions/{sub.public_id}").json()
    assert body["cancel_at_period_end"] is True
    assert body["cancellation_details"] == {
        "reason": "price",
        "reason_label": "Preço alto demais",
        "comment": "Caro",
    }
    # Undoing the scheduled cancellation forgets the reason.
    assert shop.client.post(shop.url("cancel/undo/")).status_code == 302
    sub = shop.refresh()
    assert (sub.cancel_reason_code, sub.cancel_reason_label, sub.cancel_comment) == ("", "", "")
    assert (
        _api(shop).get(f"/api/v1/subscriptions/{sub.public_id}").json()["cancellation_details"]
        is None
    )


def test_cancel_now_keeps_the_reason(shop: Shop) -> None:
    _set(shop, OWN)
    done = shop.client.post(
        shop.url("cancel/"), {**_steps("moving-abroad", "now"), "step": "cancel"}
    )
    assert done.status_code == 302
    sub = shop.refresh()
    assert sub.status == Subscription.Status.CANCELED
    assert (sub.cancel_reason_code, sub.cancel_reason_label) == ("moving-abroad", "Vou me mudar")


@pytest.mark.parametrize("step", ["reason", "confirm", "cancel", "accept"])
def test_an_unknown_code_is_refused_and_nothing_changes(shop: Shop, step: str) -> None:
    _set(shop, OWN)
    before = shop.state()
    # A default code is not one of this merchant's reasons any more.
    response = shop.client.post(shop.url("cancel/"), {**_steps("too_expensive"), "step": step})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert 'data-step="reason"' in response.content.decode()
    assert shop.state() == before
    sub = shop.refresh()
    assert sub.cancel_reason_code == ""
    assert not ScheduledChange.objects.filter(subscription=sub, status="pending").exists()
    assert not AuditEntry.objects.filter(action="subscription.cancellation_feedback").exists()


def test_the_service_refuses_an_unknown_code_too(shop: Shop) -> None:
    from billing.retention import portal_subscription_cancel
    from core.errors import ValidationFailed

    _set(shop, OWN)
    with pytest.raises(ValidationFailed) as exc:
        portal_subscription_cancel(
            tenant=shop.w.tenant,
            subscription_id=shop.sub.pk,
            actor=ACTOR,
            now=shop.w.now,
            at_period_end=True,
            reason="too_expensive",
            comment="",
        )
    assert exc.value.param == "reason"
    assert shop.refresh().cancel_reason_code == ""


def test_another_merchants_subscriber_cannot_cancel_here(
    shop: Shop, other_shop: dict[str, Any]
) -> None:
    _set(shop, OWN)
    for target in (other_shop["sub"], other_shop["b_sub"]):
        response = shop.client.post(
            shop.url("cancel/", sub=target), {**_steps("price", "now"), "step": "cancel"}
        )
        assert response.status_code == 404
    assert (
        Client().post(shop.url("cancel/"), {**_steps("price"), "step": "cancel"}).status_code == 403
    )


# --- API cancel with a reason ---------------------------------------------


def test_api_cancel_with_one_of_the_tenants_reasons(shop: Shop) -> None:
    _set(shop, OWN)
    api = _api(shop)
    response = api.post(
        f"/api/v1/subscriptions/{shop.sub.public_id}/cancel",
        {"at_period_end": True, "reason": "moving-abroad", "comment": "Lisboa"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["cancellation_details"] == {
        "reason": "moving-abroad",
        "reason_label": "Vou me mudar",
        "comment": "Lisboa",
    }
    entry = AuditEntry.objects.get(action="subscription.cancellation_feedback")
    assert entry.actor_type == "api_key"


@pytest.mark.parametrize(
    "body",
    [
        {"at_period_end": True, "reason": "too_expensive"},  # not this tenant's any more
        {"at_period_end": True, "reason": ""},
        {"at_period_end": True, "comment": "no reason"},
        {"at_period_end": True, "reason": "price", "comment": "x" * 2001},
        {"at_period_end": True, "reason": 7},
    ],
)
def test_api_cancel_with_a_bad_reason_cancels_nothing(shop: Shop, body: dict[str, Any]) -> None:
    _set(shop, OWN)
    before = shop.state()
    response = _api(shop).post(
        f"/api/v1/subscriptions/{shop.sub.public_id}/cancel", body, format="json"
    )
    assert response.status_code == 400
    assert error(response)["param"] in ("reason", "comment")
    assert shop.state() == before
    assert shop.refresh().cancel_reason_code == ""


def test_api_cancel_without_a_reason_still_works(shop: Shop) -> None:
    response = _api(shop).post(
        f"/api/v1/subscriptions/{shop.sub.public_id}/cancel", {}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["cancellation_details"] is None
