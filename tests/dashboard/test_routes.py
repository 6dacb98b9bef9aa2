"""Every dashboard route, discovered from the URL conf, against the role map and
against another tenant's ids.

A route is a URL pattern whose view is decorated by ``tenants.access.staff_view``
(found by walking ``get_resolver()``). ``ROUTES`` says, per route name, the
permission it must need, what a GET answers to a role that holds it, and how to
fill its URL from a scene of objects. A route missing from ``ROUTES`` (or an
entry whose route is gone) fails ``test_every_staff_route_has_an_expectation``:
add one line per new route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.clocks import clock_create
from billing.coupons import coupon_create
from billing.models import (
    BalanceTransaction,
    BoletoReturnFile,
    Coupon,
    CreditNote,
    Invoice,
    Seller,
    SellerPlanCap,
    TaxRate,
)
from billing.return_files import boleto_return_file_process
from billing.sellers import seller_create
from billing.services import (
    ManualLine,
    credit_note_issue,
    invoice_draft_create,
    invoice_finalize,
)
from billing.subscriptions import subscription_create
from billing.taxes import tax_rate_create
from checkout.models import PriceTable
from checkout.price_tables import price_table_create
from core import clock
from customers.models import Customer, TestClock
from customers.services import customer_create
from dunning.models import DunningCase, DunningPolicy
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks import webhook_endpoint_create
from subscriptions.models import IndexSeries, Plan, Product, Subscription, SubscriptionItem
from subscriptions.services import index_series_create, plan_create, product_create
from tenants.access import STAFF_VIEW_PERM
from tenants.context import platform_access, tenant_context
from tenants.models import ApiKey, Event, Membership, Tenant
from tenants.permissions import ROLE_PERMISSIONS, Perm, Role
from tests.billing import cnab
from tests.conftest import TenantSetup
from tests.dashboard.helpers import add_member, signed_in
from tests.support.billing import ACTOR


@dataclass
class Scene:
    """One object of each kind a dashboard URL names, in one tenant."""

    setup: TenantSetup
    customer: Customer
    invoice: Invoice
    policy: DunningPolicy
    case: DunningCase
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery
    product: Product
    plan: Plan
    tax_rate: TaxRate
    seller: Seller
    subscription: Subscription
    membership: Membership
    coupon: Coupon
    index_series: IndexSeries
    return_file: BoletoReturnFile


Kwargs = Callable[[Scene], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    perm: str | None
    get: int = 200  # what a GET answers to a role holding ``perm`` (405: POST only)
    kwargs: Kwargs | None = None  # URL arguments; None: the route names no object
    tenant_ids: bool = True  # the arguments are the tenant's object ids (isolation)
    isolation: int = 404  # what another tenant's ids answer


def _customer(s: Scene) -> dict[str, Any]:
    return {"public_id": s.customer.public_id}


def _endpoint(s: Scene) -> dict[str, Any]:
    return {"endpoint_id": s.endpoint.public_id}


def _product(s: Scene) -> dict[str, Any]:
    return {"product_id": s.product.public_id}


def _plan(s: Scene) -> dict[str, Any]:
    return {"plan_id": s.plan.public_id}


def _tax_rate(s: Scene) -> dict[str, Any]:
    return {"tax_rate_id": s.tax_rate.public_id}


def _seller(s: Scene) -> dict[str, Any]:
    return {"seller_id": s.seller.public_id}


def _index_series(s: Scene) -> dict[str, Any]:
    return {"series_id": s.index_series.public_id}


def _coupon(s: Scene) -> dict[str, Any]:
    return {"coupon_id": s.coupon.public_id}


def _return_file(s: Scene) -> dict[str, Any]:
    return {"ref": s.return_file.public_id}


def _invoice(s: Scene) -> dict[str, Any]:
    return {"ref": s.invoice.public_id}


def _credit_note(s: Scene) -> dict[str, Any]:
    with tenant_context(s.setup.tenant):
        found = CreditNote.objects.filter(tenant=s.setup.tenant).get(reason="Scene")
    return {"ref": found.public_id}


def _subscription(s: Scene) -> dict[str, Any]:
    return {"sub_id": s.subscription.public_id}


def _subscription_item(s: Scene) -> dict[str, Any]:
    """The scene subscription's add-on (looked up by its plan's code, like the clock)."""
    with tenant_context(s.setup.tenant):
        item = SubscriptionItem.objects.get(subscription=s.subscription, plan__code="addon")
    return {"sub_id": s.subscription.public_id, "item_id": item.public_id}


def _membership(s: Scene) -> dict[str, Any]:
    return {"membership_id": s.membership.pk}


def _clock(s: Scene) -> dict[str, Any]:
    with tenant_context(s.setup.tenant):
        found = TestClock.objects.filter(tenant=s.setup.tenant).get(name="Scene clock")
    return {"clock_id": found.public_id}


def _price_table(s: Scene) -> dict[str, Any]:
    """The scene's price table (looked up by name, like the clock)."""
    tenant = s.setup.tenant
    with tenant_context(tenant):
        table = PriceTable.objects.get(tenant=tenant, name="Scene table")
    return {"table_id": table.public_id}


def _template(s: Scene) -> dict[str, Any]:
    return {"key": "welcome", "channel": "email", "language": "en"}


ROUTES: dict[str, Route] = {
    # dashboard
    "dashboard:home": Route(None),
    "dashboard:api_keys": Route(Perm.API_KEYS_MANAGE),
    # Another tenant's key: a redirect with "No such API key." (tested in
    # test_staff_pages.py), not a 404 — left as it was.
    "dashboard:api_key_revoke": Route(
        Perm.API_KEYS_MANAGE, 405, lambda s: {"key_id": s.setup.key.key.pk}, isolation=302
    ),
    "dashboard:settings": Route(Perm.TENANT_MANAGE),
    "dashboard:audit": Route(Perm.AUDIT_VIEW),
    # dashboard: customers and the global search
    "dashboard:search": Route(Perm.CUSTOMERS_VIEW),
    "dashboard:customers": Route(Perm.CUSTOMERS_VIEW),
    "dashboard:customer_new": Route(Perm.CUSTOMERS_MANAGE),
    "dashboard:customer_detail": Route(Perm.CUSTOMERS_VIEW, 200, _customer),
    "dashboard:customer_edit": Route(Perm.CUSTOMERS_MANAGE, 200, _customer),
    "dashboard:customer_discount": Route(Perm.CUSTOMERS_MANAGE, 200, _customer),
    "dashboard:customer_balance": Route(Perm.CUSTOMERS_MANAGE, 405, _customer),
    "dashboard:customer_portal_link": Route(Perm.CUSTOMERS_MANAGE, 405, _customer),
    "dashboard:customer_portal_link_send": Route(Perm.CUSTOMERS_MANAGE, 405, _customer),
    "dashboard:customer_note": Route(Perm.CUSTOMERS_MANAGE, 405, _customer),
    # dashboard: catalog
    "dashboard:catalog": Route(Perm.BILLING_VIEW),
    "dashboard:product_create": Route(Perm.CATALOG_MANAGE),
    "dashboard:product_edit": Route(Perm.CATALOG_MANAGE, 200, _product),
    "dashboard:product_archive": Route(Perm.CATALOG_MANAGE, 405, _product),
    "dashboard:plan_create": Route(Perm.CATALOG_MANAGE),
    "dashboard:plan_detail": Route(Perm.BILLING_VIEW, 200, _plan),
    "dashboard:plan_portal": Route(Perm.CATALOG_MANAGE, 200, _plan),
    "dashboard:plan_price": Route(Perm.CATALOG_MANAGE, 405, _plan),
    "dashboard:plan_edit": Route(Perm.CATALOG_MANAGE, 200, _plan),
    "dashboard:plan_archive": Route(Perm.CATALOG_MANAGE, 405, _plan),
    "dashboard:price_tables": Route(Perm.BILLING_VIEW),
    "dashboard:price_table_new": Route(Perm.CATALOG_MANAGE),
    "dashboard:price_table": Route(Perm.BILLING_VIEW, 200, _price_table),
    "dashboard:price_table_edit": Route(Perm.CATALOG_MANAGE, 405, _price_table),
    "dashboard:price_table_archive": Route(Perm.CATALOG_MANAGE, 405, _price_table),
    "dashboard:coupons": Route(Perm.BILLING_VIEW),
    "dashboard:coupon_create": Route(Perm.CATALOG_MANAGE),
    "dashboard:coupon_edit": Route(Perm.CATALOG_MANAGE, 200, _coupon),
    "dashboard:coupon_archive": Route(Perm.CATALOG_MANAGE, 405, _coupon),
    "dashboard:coupon_discount": Route(Perm.CATALOG_MANAGE, 405, _coupon),
    "dashboard:tax_rates": Route(Perm.BILLING_VIEW),
    "dashboard:tax_rate_create": Route(Perm.CATALOG_MANAGE),
    "dashboard:tax_rate_edit": Route(Perm.CATALOG_MANAGE, 200, _tax_rate),
    "dashboard:tax_rate_archive": Route(Perm.CATALOG_MANAGE, 405, _tax_rate),
    "dashboard:sellers": Route(Perm.BILLING_VIEW),
    "dashboard:return_files": Route(Perm.BILLING_VIEW),
    "dashboard:return_file_upload": Route(Perm.BILLING_MANAGE, 405),
    "dashboard:return_file": Route(Perm.BILLING_VIEW, 200, _return_file),
    "dashboard:fulfilment": Route(Perm.BILLING_VIEW),
    "dashboard:fulfilment_pack": Route(Perm.BILLING_MANAGE, 405),
    "dashboard:fulfilment_ship": Route(Perm.BILLING_MANAGE, 405),
    "dashboard:fulfilment_deliver": Route(Perm.BILLING_MANAGE, 405),
    "dashboard:fulfilment_cancel": Route(Perm.BILLING_MANAGE, 405),
    "dashboard:fulfilment_export": Route(Perm.BILLING_VIEW),
    "dashboard:seller_create": Route(Perm.CATALOG_MANAGE),
    "dashboard:seller_edit": Route(Perm.CATALOG_MANAGE, 200, _seller),
    "dashboard:seller_cap": Route(Perm.CATALOG_MANAGE, 405, _seller),
    "dashboard:seller_commission": Route(Perm.CATALOG_MANAGE, 405, _seller),
    "dashboard:seller_statement": Route(Perm.REPORTS_VIEW, 200, _seller),
    # dashboard: subscriptions
    "dashboard:subscriptions": Route(Perm.BILLING_VIEW),
    "dashboard:readjustments": Route(Perm.BILLING_VIEW),
    "dashboard:readjustment_apply": Route(Perm.SUBSCRIPTIONS_MANAGE, 405),
    "dashboard:readjustment_policies": Route(Perm.BILLING_VIEW),
    "dashboard:index_series": Route(Perm.BILLING_VIEW),
    "dashboard:readjustment_policy_off": Route(
        Perm.CATALOG_MANAGE, 405, lambda s: {"plan_code": s.plan.code}, tenant_ids=False
    ),
    "dashboard:index_series_detail": Route(Perm.BILLING_VIEW, 200, _index_series),
    "dashboard:index_series_value": Route(Perm.CATALOG_MANAGE, 405, _index_series),
    "dashboard:index_series_import": Route(Perm.CATALOG_MANAGE, 405, _index_series),
    "dashboard:subscription_new": Route(Perm.SUBSCRIPTIONS_MANAGE),
    "dashboard:subscription": Route(Perm.BILLING_VIEW, 200, _subscription),
    "dashboard:subscription_change": Route(Perm.SUBSCRIPTIONS_MANAGE, 200, _subscription),
    "dashboard:subscription_discount": Route(Perm.SUBSCRIPTIONS_MANAGE, 200, _subscription),
    "dashboard:subscription_pause": Route(Perm.SUBSCRIPTIONS_MANAGE, 405, _subscription),
    "dashboard:subscription_seller": Route(Perm.SUBSCRIPTIONS_MANAGE, 405, _subscription),
    "dashboard:subscription_resume": Route(Perm.SUBSCRIPTIONS_MANAGE, 405, _subscription),
    "dashboard:subscription_cancel": Route(Perm.SUBSCRIPTIONS_MANAGE, 405, _subscription),
    "dashboard:subscription_cancel_undo": Route(Perm.SUBSCRIPTIONS_MANAGE, 405, _subscription),
    "dashboard:subscription_payment_method": Route(Perm.SUBSCRIPTIONS_MANAGE, 405, _subscription),
    "dashboard:subscription_item_add": Route(Perm.SUBSCRIPTIONS_MANAGE, 200, _subscription),
    "dashboard:subscription_item_quantity": Route(
        Perm.SUBSCRIPTIONS_MANAGE, 200, _subscription_item
    ),
    "dashboard:subscription_item_remove": Route(Perm.SUBSCRIPTIONS_MANAGE, 200, _subscription_item),
    # dashboard: test clocks
    "dashboard:test_clocks": Route(Perm.BILLING_VIEW),
    "dashboard:test_clock_new": Route(Perm.BILLING_MANAGE),
    "dashboard:test_clock": Route(Perm.BILLING_VIEW, 200, _clock),
    "dashboard:test_clock_progress": Route(Perm.BILLING_VIEW, 200, _clock),
    "dashboard:test_clock_advance": Route(Perm.BILLING_MANAGE, 405, _clock),
    "dashboard:test_clock_customer_new": Route(Perm.BILLING_MANAGE, 200, _clock),
    "dashboard:test_clock_delete": Route(Perm.BILLING_MANAGE, 405, _clock),
    # dashboard: invoices and money
    "dashboard:invoices": Route(Perm.BILLING_VIEW),
    "dashboard:invoice": Route(Perm.BILLING_VIEW, 200, _invoice),
    "dashboard:invoice_pdf": Route(Perm.BILLING_VIEW, 200, _invoice),
    "dashboard:invoice_finalize": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_charge": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_mark_paid": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_void": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_mark_uncollectible": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_credit_note": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_refund": Route(Perm.REFUNDS_CREATE, 405, _invoice),
    "dashboard:invoice_segunda_via": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_resend": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:invoice_installments": Route(Perm.BILLING_MANAGE, 405, _invoice),
    "dashboard:payments": Route(Perm.BILLING_VIEW),
    "dashboard:refunds": Route(Perm.BILLING_VIEW),
    "dashboard:credit_notes": Route(Perm.BILLING_VIEW),
    "dashboard:credit_note_pdf": Route(Perm.BILLING_VIEW, 200, _credit_note),
    "dashboard:events": Route(Perm.BILLING_VIEW),
    # dashboard: team
    "dashboard:team": Route(Perm.MEMBERS_MANAGE),
    "dashboard:team_invite": Route(Perm.MEMBERS_MANAGE, 405),
    "dashboard:team_member_role": Route(Perm.MEMBERS_MANAGE, 405, _membership),
    "dashboard:team_member_remove": Route(Perm.MEMBERS_MANAGE, 405, _membership),
    # billing
    "billing:invoice_pdf": Route(Perm.BILLING_VIEW, 200, lambda s: {"invoice_id": s.invoice.pk}),
    "billing:payment_settings": Route(Perm.TENANT_MANAGE),
    "billing:payment_account_deactivate": Route(
        Perm.TENANT_MANAGE, 405, lambda s: {"mode": "test"}, tenant_ids=False
    ),
    # dunning
    "dunning:index": Route(Perm.BILLING_VIEW),
    "dunning:policy_edit": Route(
        Perm.BILLING_MANAGE, 200, lambda s: {"public_id": s.policy.public_id}
    ),
    "dunning:case_detail": Route(Perm.BILLING_VIEW, 200, lambda s: {"public_id": s.case.public_id}),
    # reports (issue 15): the report is named by a slug, not a tenant's id
    "reports:index": Route(Perm.REPORTS_VIEW),
    "reports:report": Route(Perm.REPORTS_VIEW, 200, lambda s: {"slug": "mrr"}, tenant_ids=False),
    "reports:export": Route(
        Perm.REPORTS_VIEW, 200, lambda s: {"slug": "mrr", "fmt": "xlsx"}, tenant_ids=False
    ),
    # notifications: messages
    "notifications:messages": Route(Perm.CUSTOMERS_VIEW),
    "notifications:sms_settings": Route(Perm.TENANT_MANAGE),
    "notifications:template_edit": Route(Perm.TENANT_MANAGE, 200, _template, tenant_ids=False),
    "notifications:template_preview": Route(Perm.TENANT_MANAGE, 405, _template, tenant_ids=False),
    "notifications:template_reset": Route(Perm.TENANT_MANAGE, 405, _template, tenant_ids=False),
    # notifications: webhooks
    "notifications:webhooks": Route(Perm.API_KEYS_MANAGE),
    "notifications:webhook_detail": Route(Perm.API_KEYS_MANAGE, 200, _endpoint),
    "notifications:webhook_disable": Route(Perm.API_KEYS_MANAGE, 405, _endpoint),
    "notifications:webhook_enable": Route(Perm.API_KEYS_MANAGE, 405, _endpoint),
    "notifications:webhook_rotate": Route(Perm.API_KEYS_MANAGE, 405, _endpoint),
    "notifications:webhook_delete": Route(Perm.API_KEYS_MANAGE, 405, _endpoint),
    "notifications:webhook_replay": Route(
        Perm.API_KEYS_MANAGE,
        405,
        lambda s: {"endpoint_id": s.endpoint.public_id, "delivery_id": s.delivery.public_id},
    ),
}


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, inner)
        elif entry.name:
            yield f"{namespace}{entry.name}", entry


def staff_routes() -> dict[str, str | None]:
    """Every named route whose view is a staff view, with the permission it needs."""
    return {
        name: pattern.callback.__dict__[STAFF_VIEW_PERM]
        for name, pattern in _patterns(get_resolver())
        if STAFF_VIEW_PERM in getattr(pattern.callback, "__dict__", {})
    }


def test_every_staff_route_has_an_expectation() -> None:
    found = staff_routes()

    assert len(found) >= 20  # the walk found the routes at all
    assert sorted(set(found) - set(ROUTES)) == [], "add these routes to ROUTES"
    assert sorted(set(ROUTES) - set(found)) == [], "these ROUTES entries have no route"
    assert {n: found[n] for n in ROUTES} == {n: r.perm for n, r in ROUTES.items()}


def _scene(setup: TenantSetup) -> Scene:
    tenant = setup.tenant
    now = clock.now()
    with tenant_context(tenant):
        customer = customer_create(
            tenant=tenant,
            name=f"{tenant.name} customer",
            email="c@example.com",
            actor=ACTOR,
            now=now,
        )
        draft = invoice_draft_create(
            tenant=tenant,
            customer=customer,
            currency="BRL",
            actor=ACTOR,
            now=now,
            lines=[ManualLine("Setup", 10_000)],
        )
        invoice = invoice_finalize(tenant=tenant, invoice_id=draft.pk, actor=ACTOR, now=now)
        credit_note_issue(
            tenant=tenant,
            invoice_id=invoice.pk,
            amount_minor=1_000,
            reason="Scene",
            actor=ACTOR,
            now=now,
        )
        policy = DunningPolicy.objects.filter(tenant=tenant).order_by("pk").first()
        assert policy is not None
        case = DunningCase.objects.create(
            tenant=tenant,
            invoice=invoice,
            policy=policy,
            customer=customer,
            payment_method_kind=policy.payment_method_kind,
            due_at=now,
            opened_at=now,
        )
        endpoint = webhook_endpoint_create(
            tenant=tenant,
            actor=ACTOR,
            now=now,
            url=f"https://hooks.{tenant.slug}.example.com/ciclo",
            enabled_events=["*"],
        ).endpoint
        event = Event.objects.filter(tenant=tenant).order_by("pk").first()
        assert event is not None
        delivery = WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event=event, created_at=now, updated_at=now
        )
        product = product_create(tenant=tenant, name="Product", actor=ACTOR, now=now)
        plan = plan_create(
            tenant=tenant,
            product=product,
            code="basic",
            name="Basic",
            currency="BRL",
            amount_minor=2_990,
            actor=ACTOR,
            now=now,
        )
        tax_rate = tax_rate_create(
            tenant=tenant, name="ISS", percent=Decimal(5), actor=ACTOR, now=now
        )
        seller = seller_create(tenant=tenant, name="Seller", actor=ACTOR, now=now)
        addon = plan_create(
            tenant=tenant,
            product=product,
            code="addon",
            name="Add-on",
            currency="BRL",
            amount_minor=990,
            actor=ACTOR,
            now=now,
        )
        subscription = subscription_create(
            tenant=tenant,
            customer=customer,
            plan=plan,
            actor=ACTOR,
            now=now,
            collection_method="send_invoice",
            items=[(addon, 1)],
        )
        membership = Membership.objects.get(tenant=tenant, role=Role.OWNER)
        clock_create(tenant=tenant, frozen_time=now, actor=ACTOR, now=now, name="Scene clock")
        coupon = coupon_create(
            tenant=tenant, code="WELCOME", percent_off=Decimal(10), actor=ACTOR, now=now
        )
        index_series = index_series_create(
            tenant=tenant, kind="ipca", name="IPCA", actor=ACTOR, now=now
        )
        return_file = boleto_return_file_process(
            tenant=tenant,
            content=cnab.return_file([cnab.Titulo("123", 1_000, 1_000)]),
            filename="ret.txt",
            actor=ACTOR,
            now=now,
        )
        price_table_create(
            tenant=tenant, actor=ACTOR, now=now, name="Scene table", plans=[plan.public_id]
        )
    return Scene(
        setup,
        customer,
        invoice,
        policy,
        case,
        endpoint,
        delivery,
        product,
        plan,
        tax_rate,
        seller,
        subscription,
        membership,
        coupon,
        index_series,
        return_file,
    )


def _path(name: str, route: Route, scene: Scene) -> str:
    return reverse(name, kwargs=route.kwargs(scene) if route.kwargs else None)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_gets_exactly_what_the_permission_map_allows(
    acme: TenantSetup, role: str
) -> None:
    scene = _scene(acme)
    email = "owner@acme.example" if role == Role.OWNER else f"{role}@acme.example"
    if role != Role.OWNER:
        add_member(acme.tenant, email, role)
    client = signed_in(email)
    allowed = ROLE_PERMISSIONS[role]

    got, wanted = {}, {}
    for name, route in ROUTES.items():
        wanted[name] = route.get if route.perm is None or route.perm in allowed else 403
        got[name] = client.get(_path(name, route, scene)).status_code

    assert got == wanted


def _fingerprint(tenant: Tenant) -> dict[str, Any]:
    """Everything a route could change in the tenant's data."""
    with tenant_context(tenant):
        return {
            "customers": list(
                Customer.objects.filter(tenant=tenant).values_list(
                    "name", "email", "phone", "tax_id", "locale"
                )
            ),
            "ledger": BalanceTransaction.objects.filter(tenant=tenant).count(),
            "invoices": list(Invoice.objects.filter(tenant=tenant).values_list("status")),
            "policies": list(DunningPolicy.objects.filter(tenant=tenant).values()),
            "cases": list(DunningCase.objects.filter(tenant=tenant).values_list("status")),
            "endpoints": list(
                WebhookEndpoint.objects.filter(tenant=tenant).values_list(
                    "url", "status", "secrets_encrypted"
                )
            ),
            "deliveries": list(
                WebhookDelivery.objects.filter(tenant=tenant).values_list(
                    "status", "replay_requested", "next_attempt_at"
                )
            ),
            "events": Event.objects.filter(tenant=tenant).count(),
            "products": list(Product.objects.filter(tenant=tenant).values_list("name")),
            "plans": list(Plan.objects.filter(tenant=tenant).values_list("amount_minor", "active")),
            "tax_rates": list(TaxRate.objects.filter(tenant=tenant).values()),
            "sellers": list(Seller.objects.filter(tenant=tenant).values_list("name", "email")),
            "caps": SellerPlanCap.objects.filter(tenant=tenant).count(),
            "subscriptions": list(
                Subscription.objects.filter(tenant=tenant).values_list(
                    "status", "plan_id", "quantity", "payment_method_id", "canceled_at"
                )
            ),
            "items": list(
                SubscriptionItem.objects.filter(tenant=tenant).values_list("quantity", "ended_at")
            ),
            "clocks": list(
                TestClock.objects.filter(tenant=tenant).values_list(
                    "name", "frozen_time", "advancing_to"
                )
            ),
            "price_tables": list(
                PriceTable.objects.filter(tenant=tenant).values_list("name", "plans", "active")
            ),
            "memberships": list(
                Membership.objects.filter(tenant=tenant).values_list("user_id", "role")
            ),
        } | _keys(tenant)


def _keys(tenant: Tenant) -> dict[str, Any]:
    with platform_access():
        return {"keys": list(ApiKey.objects.filter(tenant=tenant).values_list("revoked_at"))}


def test_another_tenants_ids_are_a_404_on_every_route(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    _scene(acme)
    theirs = _scene(globex)
    before = _fingerprint(globex.tenant)
    client = signed_in("owner@acme.example")  # the owner holds every permission
    form = {"name": "Hacked", "amount": "5", "reason": "x", "url": "https://evil.example.com"}

    got, wanted = {}, {}
    for name, route in ROUTES.items():
        if route.kwargs is None or not route.tenant_ids:
            continue
        path = _path(name, route, theirs)
        if route.get != 405:
            wanted[f"GET {name}"] = 404
            got[f"GET {name}"] = client.get(path).status_code
        wanted[f"POST {name}"] = route.isolation
        got[f"POST {name}"] = client.post(path, form).status_code

    assert got == wanted
    assert _fingerprint(globex.tenant) == before
