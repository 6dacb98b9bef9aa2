"""The subscriber sees their subscription's add-ons in the portal (issue 16
item 4): name, quantity and price per period, read-only; an ended add-on is not
listed; another subscriber's subscription stays a 404."""

from __future__ import annotations

import pytest
from django.test import Client

from billing import items as billing_items
from customers.portal_links import portal_token
from subscriptions.models import SubscriptionItem
from tests.support.billing import ACTOR, utc, world

START = utc(2026, 3, 10, 12)


def _enter(customer, slug: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.get(f"/t/{slug}/enter/{portal_token(customer)}/").status_code == 302
    return client


@pytest.mark.django_db
def test_the_subscription_page_lists_the_addons_read_only() -> None:
    with world(START) as w:
        basic = w.plan("basic", 10_000)
        storage = w.plan("storage", 3_100, pricing_model="per_seat", name="Extra storage")
        support = w.plan("support", 4_650, name="Priority support")
        backup = w.plan("backup", 1_000, name="Daily backup")
        ana, bia = w.customer("Ana"), w.customer("Bia")
        sub = w.subscribe(
            basic,
            ana,
            items=[(storage, 3), (support, 1), (backup, 1)],
            collection_method="send_invoice",
        )
        theirs = w.subscribe(basic, bia, items=[(support, 1)], collection_method="send_invoice")
        gone = SubscriptionItem.objects.get(subscription=sub, plan=backup)
        billing_items.subscription_item_remove(
            tenant=w.tenant,
            subscription_id=sub.pk,
            item_id=gone.public_id,
            actor=ACTOR,
            now=w.now,
            proration="none",
        )
        client = _enter(ana, w.tenant.slug)
        url = f"/t/{w.tenant.slug}/subscriptions/{sub.public_id}/"

        response = client.get(url)
        other = client.get(f"/t/{w.tenant.slug}/subscriptions/{theirs.public_id}/")

    page = response.content.decode().replace("\xa0", " ")
    section = page.split('data-testid="portal-addons"')[1].split("</ul>")[0]
    assert response.status_code == 200
    # 3 × 31.00 = 93.00 a month; 46.50 a month; the removed backup is gone.
    rows = response.context["items"]
    assert [(r.plan.name, r.quantity, r.period_amount_minor) for r in rows] == [
        ("Extra storage", 3, 9_300),
        ("Priority support", 1, 4_650),
    ]
    # In the subscriber's language (the tenant's, pt-BR, here).
    assert "Extra storage × 3 — R$ 93,00 / mês" in section
    assert "Priority support — R$ 46,50 / mês" in section
    assert "Daily backup" not in page
    # Read-only: no form or link acts on an add-on.
    assert "<form" not in section
    assert "<a " not in section
    assert other.status_code == 404
