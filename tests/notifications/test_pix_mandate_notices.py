"""A payer cancelling their Pix Automático authorisation: the merchant's team is
emailed once and the subscriber is told billing stopped; a merchant's own
cancellation (or a replacement) tells neither; an expiry tells the subscriber."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing.gateways.pix_automatico import SandboxPixAutomaticoPsp
from billing.pix_automatico import pix_mandate_cancel, pix_mandate_create, pix_mandates_expire
from notifications.models import MessageDelivery
from notifications.outbox import dispatch_batch
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
PSP = SandboxPixAutomaticoPsp()


def _deliver(body: bytes, headers: dict[str, str]) -> None:
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = Client().post(
        "/webhooks/sandbox_pixauto/", body, content_type="application/json", **http
    )
    assert response.status_code == 200


def _active_mandate(w: World, **kw: Any):  # type: ignore[no-untyped-def]
    customer = w.customer("Beatriz Lima")
    customer.tax_id = "529.982.247-25"
    customer.email = "bia@example.com"
    customer.locale = "en"
    customer.save()
    sub = w.subscribe(w.plan("pix", amount=4_990, name="Clube"), customer)
    mandate = pix_mandate_create(
        tenant=w.tenant,
        subscription_id=sub.pk,
        journey="3",
        periodicity="monthly",
        max_amount_minor=5_990,
        actor=ACTOR,
        now=w.now,
        **kw,
    )
    _deliver(*PSP.simulate_authorisation(recurrence_id=mandate.recurrence_id))
    mandate.refresh_from_db()
    return sub, mandate


def _ended_messages() -> list[tuple[str, str]]:
    return list(
        MessageDelivery.objects.filter(template="pix_mandate_ended")
        .order_by("id")
        .values_list("recipient", "status")
    )


def test_the_payers_cancellation_tells_the_team_once_and_the_subscriber(mailoutbox) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        w.tenant.support_email = "help@acme.example"
        w.tenant.locale = "en"
        w.tenant.save(update_fields=["support_email", "locale"])
        sub, mandate = _active_mandate(w)
        dispatch_batch(tenant=w.tenant, now=NOW)  # earlier events (welcome, receipt…)
        mailoutbox.clear()

        cancel = PSP.simulate_payer_cancellation(recurrence_id=mandate.recurrence_id)
        _deliver(*cancel)
        _deliver(*cancel)  # the PSP's replay
        dispatch_batch(tenant=w.tenant, now=NOW)
        dispatch_batch(tenant=w.tenant, now=NOW)  # a second pass finds nothing new

        team = [m for m in mailoutbox if "cancelled by the payer" in m.subject]
        to_subscriber = [m for m in mailoutbox if m.to == ["bia@example.com"]]
        assert len(team) == 1
        assert team[0].subject == "Pix Automático cancelled by the payer: Beatriz Lima"
        assert team[0].to == ["owner@acme.example", "help@acme.example"]
        assert mandate.public_id in team[0].body
        assert f"/dashboard/subscriptions/{sub.public_id}/" in team[0].body
        assert _ended_messages() == [("bia@example.com", "sent")]
        assert [m.subject for m in to_subscriber] == [
            "Pix Automático for your Clube subscription has stopped"
        ]
        assert "no longer debit your account automatically" in to_subscriber[0].body


def test_the_merchants_own_cancellation_tells_no_one(mailoutbox) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        _sub, mandate = _active_mandate(w)
        dispatch_batch(tenant=w.tenant, now=NOW)
        mailoutbox.clear()

        pix_mandate_cancel(tenant=w.tenant, mandate_id=mandate.pk, actor=ACTOR, now=w.now)
        dispatch_batch(tenant=w.tenant, now=NOW)

        assert [m.subject for m in mailoutbox] == []
        assert _ended_messages() == []


def test_an_expiry_tells_the_subscriber_not_the_team(mailoutbox) -> None:  # type: ignore[no-untyped-def]
    with world(NOW) as w:
        _active_mandate(w, end_date="2026-06-30")
        dispatch_batch(tenant=w.tenant, now=NOW)
        mailoutbox.clear()

        pix_mandates_expire(tenant=w.tenant, now=utc(2026, 7, 1, 4), clock=w.clock)
        dispatch_batch(tenant=w.tenant, now=NOW)

        assert _ended_messages() == [("bia@example.com", "sent")]
        assert [m.to for m in mailoutbox] == [["bia@example.com"]]


def test_a_new_authorisation_asked_for_tells_the_subscriber_the_new_amount(mailoutbox) -> None:  # type: ignore[no-untyped-def]
    from billing.pix_automatico import pix_mandate_reauthorise

    with world(NOW) as w:
        _sub, mandate = _active_mandate(w)
        dispatch_batch(tenant=w.tenant, now=NOW)
        mailoutbox.clear()

        new = pix_mandate_reauthorise(
            tenant=w.tenant, mandate=mandate, amount_minor=6_500, now=w.now
        )
        dispatch_batch(tenant=w.tenant, now=NOW)

        rows = MessageDelivery.objects.filter(template="pix_mandate_reauthorize")
        assert new is not None
        assert [(r.recipient, r.status) for r in rows] == [("bia@example.com", "sent")]
        [email] = mailoutbox
        assert email.subject == "Authorise the new amount of your Clube subscription"
        assert "65.00 per cycle" in email.body
