"""Every path that finalizes an invoice keeps the customer as billed in
``Invoice.customer_snapshot`` (name, email, tax id, address), taken from one
function (``billing.services.customer_snapshots``): the billing run's renewals,
subscribe, a change now, a cancellation now, installments, a merchant's
manual invoice through the API, and the segunda via's late-charges invoice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from billing import subscriptions as billing_subs
from billing.gateways.sandbox import SandboxBoletoGateway
from billing.models import Invoice
from billing.payments import payment_method_attach_offline, webhook_receive
from billing.segunda_via import boleto_segunda_via_issue
from billing.services import customer_snapshots
from core import clock
from customers.models import Customer
from subscriptions.services import ProrationBehavior
from tenants.context import tenant_context
from tenants.services import api_key_create
from tests.api.helpers import client_for
from tests.support.billing import ACTOR, World, utc, world

NOW = utc(2026, 6, 1, 15)
ADDRESS = {
    "line1": "Av. Paulista",
    "number": "1000",
    "complement": "",
    "district": "Bela Vista",
    "city": "São Paulo",
    "state": "SP",
    "postal_code": "01310100",
    "country": "BR",
}
AS_BILLED = {
    "name": "Zuleica Prado",
    "email": "zu@example.com",
    "tax_id": "529.982.247-25",
    "address": ADDRESS,
}


def _customer(w: World) -> Customer:
    return Customer.objects.create(
        tenant=w.tenant,
        test_clock=w.clock,
        name=AS_BILLED["name"],
        email=AS_BILLED["email"],
        tax_id=AS_BILLED["tax_id"],
        address=ADDRESS,
    )


def _new_invoices(w: World, before: set[int]) -> list[Invoice]:
    rows = Invoice.objects.filter(tenant=w.tenant).exclude(pk__in=before).exclude(status="draft")
    return list(rows.order_by("id"))


def _ids(w: World) -> set[int]:
    return set(Invoice.objects.filter(tenant=w.tenant).values_list("pk", flat=True))


def _subscribe(w: World, c: Customer) -> None:
    w.subscribe(w.plan("basic", 10_000), c)


def _renewal(w: World, c: Customer) -> None:
    w.advance(utc(2026, 7, 2, 15))


def _change_now(w: World, c: Customer) -> None:
    sub = c.subscriptions.get()
    billing_subs.subscription_change(
        tenant=w.tenant,
        subscription_id=sub.pk,
        actor=ACTOR,
        now=utc(2026, 6, 10, 15),
        plan=w.plan("pro", 30_000),
        when="now",
        proration=ProrationBehavior.INVOICE_NOW,
    )


def _cancel_now(w: World, c: Customer) -> None:
    sub = c.subscriptions.get()
    # A change whose proration waits for the next invoice: cancelling now bills it.
    billing_subs.subscription_change(
        tenant=w.tenant,
        subscription_id=sub.pk,
        actor=ACTOR,
        now=utc(2026, 6, 10, 15),
        plan=w.plan("pro", 30_000),
        when="now",
        proration=ProrationBehavior.NEXT_INVOICE,
    )
    billing_subs.subscription_cancel(
        tenant=w.tenant,
        subscription_id=sub.pk,
        actor=ACTOR,
        now=utc(2026, 6, 12, 15),
        prorate_credit=True,
    )


def _installments(w: World, c: Customer) -> None:
    payment_method_attach_offline(tenant=w.tenant, customer=c, kind="boleto", actor=ACTOR, now=NOW)
    plan = w.plan("annual", 120_000, interval="year", max_installments=12)
    w.subscribe(plan, c, installments=3)


def _manual_via_api(w: World, c: Customer) -> None:
    key = api_key_create(tenant=w.tenant, name="t", actor=ACTOR, now=clock.now())
    api = client_for(key.raw)
    draft = api.post(
        "/api/v1/invoices",
        {
            "customer": c.public_id,
            "currency": "BRL",
            "lines": [{"description": "Consulting", "unit_amount_minor": 15_000}],
        },
        format="json",
    )
    assert draft.status_code == 201, draft.json()
    final = api.post(f"/api/v1/invoices/{draft.json()['id']}/finalize", {}, format="json")
    assert final.status_code == 200, final.json()


PRIOR: dict[str, Callable[[World, Customer], None]] = {
    "renewal": _subscribe,
    "change_now": _subscribe,
    "cancel_now": _subscribe,
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "act", "reason"),
    [
        ("subscribe", _subscribe, "subscription_create"),
        ("renewal", _renewal, "subscription_cycle"),
        ("change_now", _change_now, "subscription_update"),
        ("cancel_now", _cancel_now, None),
        ("installments", _installments, "subscription_create"),
        ("manual_api", _manual_via_api, "manual"),
    ],
)
def test_every_finalize_path_keeps_the_customer_as_billed(
    path: str, act: Callable[[World, Customer], None], reason: str | None
) -> None:
    with world(NOW) as w:
        c = _customer(w)
        if path in PRIOR:
            PRIOR[path](w, c)
        before = _ids(w)
        act(w, c)
        made = _new_invoices(w, before)
        assert made, path
        if reason is not None:
            assert reason in {i.billing_reason for i in made}, [i.billing_reason for i in made]
        for invoice in made:
            assert invoice.number
            assert invoice.customer_snapshot == AS_BILLED, (path, invoice.billing_reason)
        # A later change of the customer leaves the issued snapshot alone.
        Customer.objects.filter(pk=c.pk).update(name="Someone Else", email="else@example.com")
        for invoice in made:
            invoice.refresh_from_db()
            assert invoice.customer_snapshot == AS_BILLED


@pytest.mark.django_db(transaction=True)
def test_the_segunda_via_late_charges_invoice_keeps_it_too() -> None:
    late = utc(2026, 6, 15, 15)
    with world(NOW) as w:
        c = _customer(w)
        payment_method_attach_offline(
            tenant=w.tenant, customer=c, kind="boleto", actor=ACTOR, now=NOW
        )
        sub = w.subscribe(w.plan("monthly", 10_000), c)
        invoice = Invoice.objects.get(subscription=sub)
        new = boleto_segunda_via_issue(
            tenant=w.tenant, invoice_id=invoice.pk, actor=ACTOR, now=late
        )
        body, headers = SandboxBoletoGateway().simulate_payment(gateway_ref=new.gateway_ref)
        webhook_receive(gateway_name="sandbox_boleto", body=body, headers=headers, now=late)
        charges = Invoice.objects.get(billing_reason="late_charges")
        assert charges.status == "paid"
        assert charges.customer_snapshot == AS_BILLED
        assert invoice.customer_snapshot == AS_BILLED


@pytest.mark.django_db
def test_the_one_function_reads_the_tenants_customers_only() -> None:
    with world(NOW) as w:
        c = _customer(w)
        assert customer_snapshots(tenant=w.tenant, customer_ids={c.pk}) == {c.pk: AS_BILLED}
    with world(NOW, slug="globex") as other, tenant_context(other.tenant):
        assert customer_snapshots(tenant=other.tenant, customer_ids={c.pk}) == {}
