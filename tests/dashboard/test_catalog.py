"""The catalog pages: products, plans and price versions, coupons, tax rates, sellers.

Every page and POST: the happy path, bad input shown next to its field with nothing
saved, another tenant's ids → 404, and the role map (reading needs BILLING_VIEW,
which every role has; writing needs CATALOG_MANAGE: owner and admin)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from billing import subscriptions as billing_subs
from billing.models import Coupon, Seller, SellerPlanCap, TaxRate
from core import clock
from core.actors import Actor
from core.errors import DomainError
from customers.models import Customer
from dashboard.amounts import parse_money
from subscriptions import services as subs
from subscriptions.models import Plan, Product
from tenants.context import tenant_context
from tenants.models import AuditEntry
from tenants.services import membership_add
from tests.conftest import TenantSetup

PASSWORD = "s3cret-Pass!"
ACTOR = Actor.system("tests")


def _signed_in(email: str, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert (
        client.post("/accounts/login/", {"login": email, "password": PASSWORD}).status_code == 302
    )
    client.cookies["django_language"] = language
    return client


def _owner(setup: TenantSetup, language: str = "en") -> Client:
    return _signed_in(f"owner@{setup.tenant.slug}.example", language)


def _member(setup: TenantSetup, role: str) -> Client:
    from tenants.accounts import staff_user_ensure

    email = f"{role}@{setup.tenant.slug}.example"
    user = staff_user_ensure(email=email, password=PASSWORD)
    with tenant_context(setup.tenant):
        membership_add(tenant=setup.tenant, user=user, role=role, actor=ACTOR, now=clock.now())
    return _signed_in(email)


def _product(setup: TenantSetup, name: str = "Revista") -> Product:
    with tenant_context(setup.tenant):
        return subs.product_create(tenant=setup.tenant, name=name, actor=ACTOR, now=clock.now())


def _plan(setup: TenantSetup, product: Product, code: str = "mensal", **kw: Any) -> Plan:
    with tenant_context(setup.tenant):
        return subs.plan_create(
            tenant=setup.tenant,
            product=product,
            code=code,
            name=kw.pop("name", code.title()),
            currency=kw.pop("currency", "BRL"),
            amount_minor=kw.pop("amount_minor", 2990),
            actor=ACTOR,
            now=clock.now(),
            **kw,
        )


def _subscribe(setup: TenantSetup, plan: Plan, name: str) -> None:
    with tenant_context(setup.tenant):
        customer = Customer.objects.create(tenant=setup.tenant, name=name, email="a@example.com")
        billing_subs.subscription_create(
            tenant=setup.tenant,
            customer=customer,
            plan=plan,
            actor=ACTOR,
            now=clock.now(),
            collection_method="send_invoice",
        )


def _rate(setup: TenantSetup, name: str = "ISS", percent: str = "5") -> TaxRate:
    with tenant_context(setup.tenant):
        return TaxRate.objects.create(tenant=setup.tenant, name=name, percent=Decimal(percent))


def _seller(setup: TenantSetup, name: str = "Bia") -> Seller:
    with tenant_context(setup.tenant):
        return Seller.objects.create(tenant=setup.tenant, name=name)


def _count(setup: TenantSetup, model: Any) -> int:
    with tenant_context(setup.tenant):
        return int(model.objects.filter(tenant=setup.tenant).count())


def _errors_of(page: str, field: str) -> str:
    """The errors shown for ``field``: the list Django renders next to it, tied to
    the input by ``aria-describedby`` (empty when the field has none)."""
    marker = f'<ul class="errorlist" id="id_{field}_error">'
    if marker not in page:
        return ""
    start = page.index(marker)
    return page[start : page.index("</ul>", start)]


# --- Money typed in the viewer's language


@pytest.mark.parametrize(
    ("text", "language", "minor"),
    [
        ("29,90", "pt-br", 2990),
        ("1.234,56", "pt-br", 123456),
        ("29.90", "en", 2990),
        ("1,234.5", "en", 123450),
        ("0", "en", 0),
        ("100000000000,00", "pt-br", 10**13),
        ("0.29", "en", 29),  # exact: through a float, 0.29 * 100 is 28.999999999999996
        ("1,15", "pt-br", 115),
    ],
)
def test_money_is_parsed_exactly_in_the_viewer_language(
    text: str, language: str, minor: int
) -> None:
    assert parse_money(text, "BRL", language) == minor


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("29.90", "pt-br", "invalid"),
        ("29,90", "en", "invalid"),
        ("29,901", "pt-br", "too_many_decimals"),
        ("-1", "en", "negative"),
        ("1e5", "en", "invalid"),
        ("abc", "en", "invalid"),
        ("", "en", "required"),
        ("100000000000.01", "en", "too_large"),
        ("NaN", "en", "invalid"),
    ],
)
def test_bad_money_is_refused(text: str, language: str, code: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        parse_money(text, "BRL", language)
    assert caught.value.code == code


def test_a_currency_without_decimals_takes_none() -> None:
    from django.core.exceptions import ValidationError

    assert parse_money("1.500", "JPY", "pt-br") == 1500
    with pytest.raises(ValidationError):
        parse_money("15,5", "JPY", "pt-br")


# --- The overview


def test_the_empty_catalog_says_what_to_do(acme: TenantSetup) -> None:
    page = _owner(acme).get("/dashboard/catalog/").content.decode()
    assert "Create your first product" in page


def test_the_catalog_lists_products_plans_prices_and_subscribers_per_version(
    acme: TenantSetup,
) -> None:
    product = _product(acme)
    plan = _plan(acme, product, setup_fee_minor=500, trial_days=7)
    _subscribe(acme, plan, "Ana")
    with tenant_context(acme.tenant):
        v2 = subs.plan_change_price(
            tenant=acme.tenant, plan_id=plan.pk, amount_minor=3490, actor=ACTOR, now=clock.now()
        )
    _subscribe(acme, v2, "Bruno")
    _subscribe(acme, v2, "Carla")

    en = _owner(acme).get("/dashboard/catalog/").content.decode()
    pt = _owner(acme, "pt-br").get("/dashboard/catalog/").content.decode()

    assert "Revista" in en
    assert "Mensal" in en
    assert "R$34.90" in en
    assert "every month" in en
    assert "R$\xa034,90" in pt
    assert "v2: 2" in en
    assert "v1: 1" in en
    assert f"/dashboard/catalog/plans/{v2.public_id}/" in en


def test_the_plan_page_lists_the_subscribers_of_each_version(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    _subscribe(acme, plan, "Ana Souza")
    with tenant_context(acme.tenant):
        v2 = subs.plan_change_price(
            tenant=acme.tenant, plan_id=plan.pk, amount_minor=3490, actor=ACTOR, now=clock.now()
        )
    _subscribe(acme, v2, "Bruno Lima")

    page = _owner(acme).get(f"/dashboard/catalog/plans/{plan.public_id}/").content.decode()

    v2_block = page[page.index('data-testid="version-2"') : page.index('data-testid="version-1"')]
    v1_block = page[page.index('data-testid="version-1"') :]
    assert "Bruno Lima" in v2_block
    assert "Ana Souza" not in v2_block
    assert "Ana Souza" in v1_block
    assert "Bruno Lima" not in v1_block


# --- Products


def test_a_product_is_created_edited_and_archived(acme: TenantSetup) -> None:
    client = _owner(acme)

    response = client.post(
        "/dashboard/catalog/products/new/", {"name": " Revista ", "description": "Mensal"}
    )
    with tenant_context(acme.tenant):
        product = Product.objects.get(tenant=acme.tenant)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/plans/new/?product={product.public_id}")
    assert product.name == "Revista"

    plan = _plan(acme, product)
    response = client.post(
        f"/dashboard/catalog/products/{product.public_id}/",
        {"name": "Revista Digital", "description": ""},
    )
    assert response.status_code == 302
    response = client.post(f"/dashboard/catalog/products/{product.public_id}/archive/")
    assert response.status_code == 302

    with tenant_context(acme.tenant):
        product.refresh_from_db()
        plan.refresh_from_db()
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert (product.name, product.description, product.active) == ("Revista Digital", "", False)
    assert plan.active is False
    assert {"product.created", "product.updated", "product.archived"} <= actions


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_product_needs_a_name(acme: TenantSetup, name: str) -> None:
    product = _product(acme)
    client = _owner(acme)

    created = client.post("/dashboard/catalog/products/new/", {"name": name})
    edited = client.post(f"/dashboard/catalog/products/{product.public_id}/", {"name": name})

    for response in (created, edited):
        assert response.status_code == 400
        assert "errorlist" in _errors_of(response.content.decode(), "name")
    assert _count(acme, Product) == 1
    with tenant_context(acme.tenant):
        assert Product.objects.get().name == "Revista"


def test_archiving_twice_says_so(acme: TenantSetup) -> None:
    product = _product(acme)
    client = _owner(acme)
    client.post(f"/dashboard/catalog/products/{product.public_id}/archive/")
    response = client.post(f"/dashboard/catalog/products/{product.public_id}/archive/", follow=True)
    assert "archived already" in response.content.decode()


# --- Plans


def _plan_body(product: Product, **kw: Any) -> dict[str, Any]:
    body = {
        "product": product.public_id,
        "name": "Mensal",
        "code": "mensal",
        "currency": "BRL",
        "pricing_model": "flat",
        "amount": "29.90",
        "interval": "month",
        "interval_count": "1",
        "trial_days": "0",
        "setup_fee": "",
        "term_cycles": "",
        "term_notice_days": "30",
        "max_pauses": "0",
        "max_pause_cycles": "0",
        "max_installments": "1",
        "tax_rate": "",
    }
    body.update(kw)
    return body


def test_a_plan_is_created_with_every_setting(acme: TenantSetup) -> None:
    product = _product(acme)
    rate = _rate(acme)
    body = _plan_body(
        product,
        amount="1.234,56",
        setup_fee="99,90",
        interval="year",
        interval_count="1",
        trial_days="14",
        term_cycles="12",
        term_notice_days="45",
        max_pauses="2",
        max_pause_cycles="3",
        max_installments="12",
        tax_rate=rate.public_id,
        ent_0_key="seats",
        ent_0_value="5",
        ent_1_key="api",
        ent_1_value="true",
        ent_2_key="tier",
        ent_2_value="gold",
        ships_goods="on",
        box_items="2 x Café 250 g\r\n\r\n1 x Caneca",
    )

    response = _owner(acme, "pt-br").post("/dashboard/catalog/plans/new/", body)

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        plan = Plan.objects.get(tenant=acme.tenant)
        assert AuditEntry.objects.filter(action="plan.created").exists()
    assert response["Location"] == f"/dashboard/catalog/plans/{plan.public_id}/"
    assert (plan.amount_minor, plan.setup_fee_minor, plan.currency) == (123456, 9990, "BRL")
    assert (plan.interval, plan.trial_days, plan.term_cycles, plan.term_notice_days) == (
        "year",
        14,
        12,
        45,
    )
    assert (plan.max_pauses, plan.max_pause_cycles, plan.max_installments) == (2, 3, 12)
    assert plan.tax_rate_id == rate.pk
    assert plan.entitlements == {"seats": 5, "api": True, "tier": "gold"}
    assert plan.ships_goods is True
    assert plan.box_items == "2 x Café 250 g\n1 x Caneca"


@pytest.mark.parametrize("model", ["graduated", "volume"])
def test_a_tiered_plan_takes_its_tiers_as_rows(acme: TenantSetup, model: str) -> None:
    product = _product(acme)
    body = _plan_body(
        product,
        pricing_model=model,
        amount="0",
        tier_0_up_to="10",
        tier_0_unit="5.00",
        tier_0_flat="",
        tier_1_up_to="",
        tier_1_unit="4.50",
        tier_1_flat="10",
    )

    response = _owner(acme).post("/dashboard/catalog/plans/new/", body)

    assert response.status_code == 302, response.content.decode()
    with tenant_context(acme.tenant):
        plan = Plan.objects.get(tenant=acme.tenant)
    assert plan.pricing_model == model
    assert plan.tiers == [
        {"up_to": 10, "unit_amount_minor": 500, "flat_amount_minor": 0},
        {"up_to": None, "unit_amount_minor": 450, "flat_amount_minor": 1000},
    ]


def test_a_per_seat_plan_is_created(acme: TenantSetup) -> None:
    product = _product(acme)
    response = _owner(acme).post(
        "/dashboard/catalog/plans/new/", _plan_body(product, pricing_model="per_seat")
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        assert Plan.objects.get().pricing_model == "per_seat"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "29,90"}, "amount"),  # a comma in English
        ({"amount": "29.901"}, "amount"),
        ({"amount": "100000000000.01"}, "amount"),
        ({"amount": "1e5"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"setup_fee": "-5"}, "setup_fee"),
        ({"setup_fee": "abc"}, "setup_fee"),
        ({"name": ""}, "name"),
        ({"code": ""}, "code"),
        ({"code": "no spaces"}, "code"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"pricing_model": "free"}, "pricing_model"),
        ({"interval": "fortnight"}, "interval"),
        ({"interval_count": "0"}, "interval_count"),
        ({"interval_count": "one"}, "interval_count"),
        ({"trial_days": "-1"}, "trial_days"),
        ({"trial_days": "999"}, "trial_days"),
        ({"term_cycles": "0"}, "term_cycles"),
        ({"max_installments": "25"}, "max_installments"),
        ({"max_pauses": "x"}, "max_pauses"),
        ({"product": "prod_nope"}, "product"),
        ({"tax_rate": "txr_nope"}, "tax_rate"),
        ({"pricing_model": "graduated"}, "tiers"),  # no tiers
        ({"tier_0_up_to": "10", "tier_0_unit": "1.00"}, "tiers"),  # tiers on a flat plan
        ({"pricing_model": "volume", "tier_0_up_to": "-3", "tier_0_unit": "1"}, "tier_0_up_to"),
        ({"pricing_model": "volume", "tier_0_unit": "-1"}, "tier_0_unit"),
        ({"pricing_model": "volume", "tier_0_up_to": "5", "tier_0_unit": "1"}, "tiers"),
        ({"ent_0_value": "5"}, "ent_0_key"),
        ({"box_items": "x" * 2001}, "box_items"),
        ({"box_items": "Caf\x07"}, "box_items"),
    ],
)
def test_bad_plan_input_is_shown_next_to_its_field(
    acme: TenantSetup, changes: dict[str, str], field: str
) -> None:
    product = _product(acme)

    body = _plan_body(product) | changes
    response = _owner(acme).post("/dashboard/catalog/plans/new/", body)

    assert response.status_code == 400
    page = response.content.decode()
    assert "errorlist" in _errors_of(page, field)
    assert _count(acme, Plan) == 0


def test_a_taken_plan_code_is_an_error_on_the_code(acme: TenantSetup) -> None:
    product = _product(acme)
    _plan(acme, product)
    response = _owner(acme).post("/dashboard/catalog/plans/new/", _plan_body(product))
    assert response.status_code == 400
    assert "change its price instead" in _errors_of(response.content.decode(), "code")
    assert _count(acme, Plan) == 1


def test_another_tenants_product_or_tax_rate_cannot_be_used(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    mine = _product(acme)
    theirs = _product(globex, "Theirs")
    their_rate = _rate(globex)
    client = _owner(acme)

    for changes in ({"product": theirs.public_id}, {"tax_rate": their_rate.public_id}):
        response = client.post("/dashboard/catalog/plans/new/", _plan_body(mine) | changes)
        assert response.status_code == 400
        assert "errorlist" in _errors_of(response.content.decode(), next(iter(changes)))
    assert _count(acme, Plan) == 0
    assert _count(globex, Plan) == 0


def test_an_archived_product_takes_no_new_plan(acme: TenantSetup) -> None:
    product = _product(acme)
    client = _owner(acme)
    client.post(f"/dashboard/catalog/products/{product.public_id}/archive/")
    response = client.post("/dashboard/catalog/plans/new/", _plan_body(product))
    assert response.status_code == 400
    assert _count(acme, Plan) == 0


def test_a_price_change_edits_an_unused_plan_in_place(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    response = _owner(acme, "pt-br").post(
        f"/dashboard/catalog/plans/{plan.public_id}/price/", {"amount": "39,90", "setup_fee": ""}
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
        assert Plan.objects.count() == 1
    assert (plan.amount_minor, plan.version) == (3990, 1)


def test_a_price_change_of_a_used_plan_makes_a_new_version(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme), setup_fee_minor=1000)
    _subscribe(acme, plan, "Ana")

    response = _owner(acme).post(
        f"/dashboard/catalog/plans/{plan.public_id}/price/",
        {"amount": "39.90", "setup_fee": "5.00"},
    )

    with tenant_context(acme.tenant):
        new = Plan.objects.get(code="mensal", version=2)
        plan.refresh_from_db()
    assert response["Location"] == f"/dashboard/catalog/plans/{new.public_id}/"
    assert (new.amount_minor, new.setup_fee_minor) == (3990, 500)
    assert (plan.amount_minor, plan.superseded_by_id) == (2990, new.pk)

    # The old version can no longer change: a form error, nothing saved.
    again = _owner(acme).post(
        f"/dashboard/catalog/plans/{plan.public_id}/price/", {"amount": "49.90"}
    )
    assert again.status_code == 400
    assert "Only the latest version" in again.content.decode()
    assert _count(acme, Plan) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"amount": "39.999"}, "amount"),
        ({"amount": "99999999999999"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": "10", "setup_fee": "-1"}, "setup_fee"),
    ],
)
def test_bad_prices_are_refused(acme: TenantSetup, body: dict[str, str], field: str) -> None:
    plan = _plan(acme, _product(acme))
    response = _owner(acme).post(f"/dashboard/catalog/plans/{plan.public_id}/price/", body)
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
    assert plan.amount_minor == 2990


# --- Coupons


def _coupon_body(**kw: Any) -> dict[str, Any]:
    body = {
        "code": "BEMVINDO",
        "name": "Boas-vindas",
        "kind": "percent",
        "percent_off": "10",
        "amount_off": "",
        "currency": "BRL",
        "applies_to": "recurring",
        "setup_percent_off": "",
        "duration": "once",
        "duration_cycles": "",
        "max_redemptions": "",
        "redeem_by": "",
        "seller": "",
    }
    body.update(kw)
    return body


def test_a_percent_coupon_with_every_rule(acme: TenantSetup) -> None:
    product = _product(acme)
    _plan(acme, product, code="mensal")
    _plan(acme, product, code="anual")
    seller = _seller(acme)
    body = _coupon_body(
        percent_off="12,5",
        applies_to="both",
        setup_percent_off="50",
        duration="repeating",
        duration_cycles="3",
        max_redemptions="100",
        redeem_by="2030-12-31",
        plan_codes=["anual"],
        first_purchase_only="on",
        seller=seller.public_id,
    )

    response = _owner(acme, "pt-br").post("/dashboard/catalog/coupons/new/", body)

    assert response.status_code == 302, response.content.decode()
    with tenant_context(acme.tenant):
        coupon = Coupon.objects.get()
    assert coupon.percent_off == Decimal("12.5")
    assert coupon.setup_percent_off == 50
    assert (coupon.applies_to, coupon.duration, coupon.duration_cycles) == ("both", "repeating", 3)
    assert (coupon.max_redemptions, coupon.plan_codes) == (100, ["anual"])
    assert coupon.first_purchase_only
    assert coupon.seller_id == seller.pk
    # Valid through the whole last day in the tenant's time zone (São Paulo by default).
    assert coupon.redeem_by is not None
    assert coupon.redeem_by.isoformat().startswith("2031-01-01T03:00")


def test_an_amount_coupon_forever(acme: TenantSetup) -> None:
    response = _owner(acme).post(
        "/dashboard/catalog/coupons/new/",
        _coupon_body(kind="amount", percent_off="", amount_off="15.00", duration="forever"),
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        coupon = Coupon.objects.get()
    assert (coupon.amount_off_minor, coupon.currency, coupon.percent_off) == (1500, "BRL", None)
    assert coupon.duration == "forever"


def test_the_coupon_list_counts_redemptions(acme: TenantSetup) -> None:
    from billing.coupons import coupon_create

    plan = _plan(acme, _product(acme))
    with tenant_context(acme.tenant):
        coupon_create(
            tenant=acme.tenant,
            code="DEZ",
            percent_off=Decimal(10),
            max_redemptions=5,
            actor=ACTOR,
            now=clock.now(),
        )
    with tenant_context(acme.tenant):
        customer = Customer.objects.create(tenant=acme.tenant, name="Ana")
        billing_subs.subscription_create(
            tenant=acme.tenant,
            customer=customer,
            plan=plan,
            actor=ACTOR,
            now=clock.now(),
            coupon="DEZ",
            collection_method="send_invoice",
        )

    page = _owner(acme).get("/dashboard/catalog/coupons/").content.decode()

    row = page[page.index('data-testid="coupon-DEZ"') :]
    assert "1 / 5" in row[: row.index("</tr>")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "x" * 65}, "code"),
        ({"percent_off": ""}, "percent_off"),
        ({"percent_off": "0"}, "percent_off"),
        ({"percent_off": "101"}, "percent_off"),
        ({"percent_off": "-5"}, "percent_off"),
        ({"percent_off": "10.555"}, "percent_off"),
        ({"percent_off": "ten"}, "percent_off"),
        ({"kind": "amount", "amount_off": "-1"}, "amount_off"),
        ({"kind": "amount", "amount_off": "0"}, "amount_off"),
        ({"kind": "amount", "amount_off": "1.001"}, "amount_off"),
        ({"kind": "amount", "amount_off": "100000000000.01"}, "amount_off"),
        ({"kind": "amount", "amount_off": "5", "currency": "XXX"}, "currency"),
        ({"kind": "free"}, "kind"),
        ({"duration": "repeating"}, "duration_cycles"),
        ({"duration": "repeating", "duration_cycles": "121"}, "duration_cycles"),
        ({"duration": "sometimes"}, "duration"),
        ({"applies_to": "tips"}, "applies_to"),
        ({"setup_percent_off": "150"}, "setup_percent_off"),
        ({"max_redemptions": "0"}, "max_redemptions"),
        ({"max_redemptions": "lots"}, "max_redemptions"),
        ({"redeem_by": "31/12/2030"}, "redeem_by"),
        ({"redeem_by": "2020-01-31"}, "redeem_by"),
        ({"plan_codes": ["nope"]}, "plan_codes"),
        ({"seller": "slr_nope"}, "seller"),
    ],
)
def test_bad_coupon_input_is_shown_next_to_its_field(
    acme: TenantSetup, changes: dict[str, Any], field: str
) -> None:
    _plan(acme, _product(acme))  # so the plan checkboxes exist
    response = _owner(acme).post("/dashboard/catalog/coupons/new/", _coupon_body(**changes))
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    assert _count(acme, Coupon) == 0


def test_a_taken_coupon_code_and_another_tenants_seller(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    client = _owner(acme)
    assert client.post("/dashboard/catalog/coupons/new/", _coupon_body()).status_code == 302
    taken = client.post("/dashboard/catalog/coupons/new/", _coupon_body())
    assert taken.status_code == 400
    assert "exists" in _errors_of(taken.content.decode(), "code")

    theirs = _seller(globex)
    response = client.post(
        "/dashboard/catalog/coupons/new/", _coupon_body(code="OUTRO", seller=theirs.public_id)
    )
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), "seller")
    assert _count(acme, Coupon) == 1


# --- Tax rates


def test_a_tax_rate_is_created_edited_and_archived(acme: TenantSetup) -> None:
    client = _owner(acme, "pt-br")
    response = client.post(
        "/dashboard/catalog/tax-rates/new/", {"name": "ISS", "percent": "2,5", "inclusive": "on"}
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        rate = TaxRate.objects.get()
    assert (rate.name, rate.percent, rate.inclusive) == ("ISS", Decimal("2.5"), True)

    page = client.get(f"/dashboard/catalog/tax-rates/{rate.public_id}/").content.decode()
    assert 'value="2,5"' in page
    response = client.post(
        f"/dashboard/catalog/tax-rates/{rate.public_id}/", {"name": "ISS SP", "percent": "5,0125"}
    )
    assert response.status_code == 302
    assert client.post(f"/dashboard/catalog/tax-rates/{rate.public_id}/archive/").status_code == 302

    with tenant_context(acme.tenant):
        rate.refresh_from_db()
    assert (rate.name, rate.percent, rate.inclusive, rate.active) == (
        "ISS SP",
        Decimal("5.0125"),
        False,
        False,
    )
    assert "2,5" not in client.get("/dashboard/catalog/tax-rates/").content.decode()
    # An archived rate is not offered to a new plan.
    _product(acme)
    assert rate.public_id not in client.get("/dashboard/catalog/plans/new/").content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "percent": "5"}, "name"),
        ({"name": "x" * 101, "percent": "5"}, "name"),
        ({"name": "ISS", "percent": ""}, "percent"),
        ({"name": "ISS", "percent": "-1"}, "percent"),
        ({"name": "ISS", "percent": "100.01"}, "percent"),
        ({"name": "ISS", "percent": "5.12345"}, "percent"),
        ({"name": "ISS", "percent": "five"}, "percent"),
        ({"name": "ISS", "percent": "1e400"}, "percent"),
    ],
)
def test_bad_tax_rates_are_refused(acme: TenantSetup, body: dict[str, str], field: str) -> None:
    rate = _rate(acme)
    client = _owner(acme)
    for url in (
        "/dashboard/catalog/tax-rates/new/",
        f"/dashboard/catalog/tax-rates/{rate.public_id}/",
    ):
        response = client.post(url, body)
        assert response.status_code == 400
        assert "errorlist" in _errors_of(response.content.decode(), field)
    with tenant_context(acme.tenant):
        assert list(TaxRate.objects.values_list("name", "percent")) == [("ISS", Decimal(5))]


# --- Sellers


def test_a_seller_is_created_edited_and_capped(acme: TenantSetup) -> None:
    _plan(acme, _product(acme))
    client = _owner(acme, "pt-br")
    response = client.post("/dashboard/catalog/sellers/new/", {"name": "Bia", "email": ""})
    with tenant_context(acme.tenant):
        seller = Seller.objects.get()
    assert response["Location"] == f"/dashboard/catalog/sellers/{seller.public_id}/"

    response = client.post(
        f"/dashboard/catalog/sellers/{seller.public_id}/",
        {"name": "Bia Costa", "email": "bia@example.com"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/dashboard/catalog/sellers/{seller.public_id}/caps/",
        {"plan_code": "mensal", "max_percent": "15,5"},
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        seller.refresh_from_db()
        cap = SellerPlanCap.objects.get()
    assert (seller.name, seller.email) == ("Bia Costa", "bia@example.com")
    assert (cap.plan_code, cap.max_percent) == ("mensal", Decimal("15.5"))
    page = client.get("/dashboard/catalog/sellers/").content.decode()
    assert "mensal" in page
    assert "15,5" in page

    # An empty cap removes it.
    client.post(
        f"/dashboard/catalog/sellers/{seller.public_id}/caps/",
        {"plan_code": "mensal", "max_percent": ""},
    )
    assert _count(acme, SellerPlanCap) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Bia", "email": "not-an-email"}, "email"),
    ],
)
def test_bad_sellers_are_refused(acme: TenantSetup, body: dict[str, str], field: str) -> None:
    seller = _seller(acme, "Zé")
    client = _owner(acme)
    for url in (
        "/dashboard/catalog/sellers/new/",
        f"/dashboard/catalog/sellers/{seller.public_id}/",
    ):
        response = client.post(url, body)
        assert response.status_code == 400
        assert "errorlist" in _errors_of(response.content.decode(), field)
    with tenant_context(acme.tenant):
        assert list(Seller.objects.values_list("name", "email")) == [("Zé", "")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan_code": "nope", "max_percent": "10"}, "plan_code"),
        ({"plan_code": "mensal", "max_percent": "-1"}, "max_percent"),
        ({"plan_code": "mensal", "max_percent": "101"}, "max_percent"),
        ({"plan_code": "mensal", "max_percent": "10.123"}, "max_percent"),
        ({"plan_code": "mensal", "max_percent": "ten"}, "max_percent"),
    ],
)
def test_bad_caps_are_refused(acme: TenantSetup, body: dict[str, str], field: str) -> None:
    _plan(acme, _product(acme))
    seller = _seller(acme)
    response = _owner(acme).post(f"/dashboard/catalog/sellers/{seller.public_id}/caps/", body)
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    assert _count(acme, SellerPlanCap) == 0


def test_another_tenants_plan_code_cannot_be_capped(acme: TenantSetup, globex: TenantSetup) -> None:
    _plan(globex, _product(globex), code="theirs")
    seller = _seller(acme)
    response = _owner(acme).post(
        f"/dashboard/catalog/sellers/{seller.public_id}/caps/",
        {"plan_code": "theirs", "max_percent": "10"},
    )
    assert response.status_code == 400
    assert _count(acme, SellerPlanCap) == 0
    assert _count(globex, SellerPlanCap) == 0


# --- Another tenant's ids, roles


def _their_objects(globex: TenantSetup) -> dict[str, str]:
    plan = _plan(globex, _product(globex, "Theirs"))
    with tenant_context(globex.tenant):
        product = Product.objects.get()
    return {
        "product": product.public_id,
        "plan": plan.public_id,
        "rate": _rate(globex).public_id,
        "seller": _seller(globex).public_id,
    }


def _routes(ids: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, body) for every catalog route that takes an id."""
    return [
        ("get", f"/dashboard/catalog/products/{ids['product']}/", {}),
        ("post", f"/dashboard/catalog/products/{ids['product']}/", {"name": "Hacked"}),
        ("post", f"/dashboard/catalog/products/{ids['product']}/archive/", {}),
        ("get", f"/dashboard/catalog/plans/{ids['plan']}/", {}),
        ("post", f"/dashboard/catalog/plans/{ids['plan']}/price/", {"amount": "1"}),
        ("get", f"/dashboard/catalog/tax-rates/{ids['rate']}/", {}),
        ("post", f"/dashboard/catalog/tax-rates/{ids['rate']}/", {"name": "X", "percent": "1"}),
        ("post", f"/dashboard/catalog/tax-rates/{ids['rate']}/archive/", {}),
        ("get", f"/dashboard/catalog/sellers/{ids['seller']}/", {}),
        ("post", f"/dashboard/catalog/sellers/{ids['seller']}/", {"name": "X"}),
        ("post", f"/dashboard/catalog/sellers/{ids['seller']}/caps/", {"plan_code": "mensal"}),
    ]


def test_another_tenants_ids_are_404_and_unchanged(acme: TenantSetup, globex: TenantSetup) -> None:
    ids = _their_objects(globex)
    _plan(acme, _product(acme))  # a plan code "mensal" in acme too
    client = _owner(acme)

    for method, path, body in _routes(ids):
        assert getattr(client, method)(path, body).status_code == 404, path

    with tenant_context(globex.tenant):
        assert Product.objects.get().name == "Theirs"
        assert Product.objects.get().active
        assert Plan.objects.get().amount_minor == 2990
        assert TaxRate.objects.get().active
        assert Seller.objects.get().name == "Bia"
        assert not SellerPlanCap.objects.exists()


READ_PAGES = [
    "/dashboard/catalog/",
    "/dashboard/catalog/coupons/",
    "/dashboard/catalog/tax-rates/",
    "/dashboard/catalog/sellers/",
]
WRITE_PAGES = [
    "/dashboard/catalog/products/new/",
    "/dashboard/catalog/plans/new/",
    "/dashboard/catalog/coupons/new/",
    "/dashboard/catalog/tax-rates/new/",
    "/dashboard/catalog/sellers/new/",
]


@pytest.mark.parametrize(
    ("role", "writes"),
    [("owner", True), ("admin", True), ("finance", False), ("support", False), ("viewer", False)],
)
def test_every_role_reads_the_catalog_and_only_catalog_managers_write(
    acme: TenantSetup, role: str, writes: bool
) -> None:
    product = _product(acme)
    plan = _plan(acme, product)
    rate, seller = _rate(acme), _seller(acme)
    client = _owner(acme) if role == "owner" else _member(acme, role)
    write_status = 200 if writes else 403

    for path in [*READ_PAGES, f"/dashboard/catalog/plans/{plan.public_id}/"]:
        assert client.get(path).status_code == 200, path
    for path in WRITE_PAGES:
        assert client.get(path).status_code == write_status, path
    own = {"product": product.public_id, "plan": plan.public_id}
    own |= {"rate": rate.public_id, "seller": seller.public_id}
    if not writes:
        for method, path, body in _routes(own):
            if method == "post" or "/plans/" not in path:
                assert getattr(client, method)(path, body).status_code == 403, path
        for path in WRITE_PAGES:
            assert client.post(path, {"name": "X", "code": "X", "percent": "1"}).status_code == 403
        with tenant_context(acme.tenant):
            assert Product.objects.get().active
            assert Plan.objects.get().amount_minor == 2990
            assert TaxRate.objects.get().active
            assert Coupon.objects.count() == 0
        page = client.get(f"/dashboard/catalog/plans/{plan.public_id}/").content.decode()
        assert "Change the price" not in page


def test_the_catalog_needs_a_login(db: None) -> None:
    for path in READ_PAGES + WRITE_PAGES:
        response = Client().get(path)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- Plan edits (everything but the price) and archiving


def _edit_body(**kw: Any) -> dict[str, Any]:
    return {
        "name": "Mensal Plus",
        "trial_days": "14",
        "max_pauses": "2",
        "max_pause_cycles": "3",
        "max_installments": "6",
        "tax_rate": "",
        "ent_0_key": "seats",
        "ent_0_value": "10",
        "ent_1_key": "api",
        "ent_1_value": "true",
    } | kw


def test_a_plan_edit_changes_every_version_but_never_the_price(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme), entitlements={"reports": True})
    _subscribe(acme, plan, "Ana")
    client = _owner(acme)
    client.post(f"/dashboard/catalog/plans/{plan.public_id}/price/", {"amount": "39.90"})
    rate = _rate(acme)
    url = f"/dashboard/catalog/plans/{plan.public_id}/edit/"
    form = client.get(url).content.decode()
    assert 'value="reports"' in form
    assert 'value="true"' in form

    response = client.post(url, _edit_body(tax_rate=rate.public_id))

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        versions = list(Plan.objects.filter(code="mensal").order_by("version"))
        entry = AuditEntry.objects.filter(action="plan.updated").latest("id")
    assert [v.amount_minor for v in versions] == [2990, 3990]
    for v in versions:
        assert (v.name, v.trial_days, v.max_pauses, v.max_pause_cycles) == ("Mensal Plus", 14, 2, 3)
        assert (v.max_installments, v.tax_rate_id) == (6, rate.pk)
        assert v.entitlements == {"seats": 10, "api": True}
    assert entry.changes["tax_rate"] == [None, rate.public_id]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"trial_days": "-1"}, "trial_days"),
        ({"trial_days": "731"}, "trial_days"),
        ({"trial_days": "ten"}, "trial_days"),
        ({"max_pauses": "101"}, "max_pauses"),
        ({"max_pause_cycles": "-5"}, "max_pause_cycles"),
        ({"max_installments": "0"}, "max_installments"),
        ({"max_installments": "99999999999999999999"}, "max_installments"),
        ({"tax_rate": "txr_nope"}, "tax_rate"),
        ({"ent_0_key": "", "ent_0_value": "10"}, "ent_0_key"),
        ({"ent_1_key": "seats"}, "ent_1_key"),
    ],
)
def test_a_bad_plan_edit_is_refused_next_to_the_field(
    acme: TenantSetup, changes: dict[str, str], field: str
) -> None:
    plan = _plan(acme, _product(acme))
    response = _owner(acme).post(
        f"/dashboard/catalog/plans/{plan.public_id}/edit/", _edit_body(**changes)
    )
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
    assert (plan.name, plan.trial_days, plan.entitlements) == ("Mensal", 0, {})


def test_another_tenants_tax_rate_cannot_be_put_on_a_plan(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    plan = _plan(acme, _product(acme))
    theirs = _rate(globex)
    response = _owner(acme).post(
        f"/dashboard/catalog/plans/{plan.public_id}/edit/", _edit_body(tax_rate=theirs.public_id)
    )
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), "tax_rate")
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
    assert plan.tax_rate_id is None


def test_the_plan_service_refuses_the_price_and_foreign_rates(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    plan = _plan(acme, _product(acme))
    theirs = _rate(globex)
    with tenant_context(acme.tenant):
        for changes, param in (
            ({"amount_minor": 1}, "amount_minor"),
            ({"tax_rate": theirs}, "tax_rate"),
            ({"max_installments": True}, "max_installments"),
            ({"entitlements": ["x"]}, "entitlements"),
        ):
            with pytest.raises(DomainError) as exc:
                subs.plan_update(
                    tenant=acme.tenant,
                    plan_id=plan.pk,
                    changes=changes,
                    actor=ACTOR,
                    now=clock.now(),
                )
            assert exc.value.param == param
        plan.refresh_from_db()
    assert (plan.amount_minor, plan.tax_rate_id, plan.max_installments) == (2990, None, 1)


def test_a_plan_is_archived_and_unarchived(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    _subscribe(acme, plan, "Ana")
    client = _owner(acme)
    url = f"/dashboard/catalog/plans/{plan.public_id}/"

    assert client.post(url + "archive/").status_code == 302
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
        assert plan.subscriptions.count() == 1
    assert plan.active is False
    with pytest.raises(DomainError):  # no new subscriber on an archived plan
        _subscribe(acme, plan, "Bruno")
    page = client.get(url).content.decode()
    assert 'data-testid="plan-archived"' in page
    assert 'data-testid="plan-unarchive"' in page

    assert client.post(url + "archive/", {"active": "1"}).status_code == 302
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
        actions = list(
            AuditEntry.objects.filter(action__in=["plan.archived", "plan.unarchived"])
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert plan.active is True
    assert actions == ["plan.archived", "plan.unarchived"]


def test_an_old_version_or_a_plan_of_an_archived_product_stays_archived(
    acme: TenantSetup,
) -> None:
    product = _product(acme)
    plan = _plan(acme, product)
    _subscribe(acme, plan, "Ana")
    client = _owner(acme)
    client.post(f"/dashboard/catalog/plans/{plan.public_id}/price/", {"amount": "39.90"})
    with tenant_context(acme.tenant):
        with pytest.raises(DomainError, match="latest version"):
            subs.plan_set_active(
                tenant=acme.tenant, plan_id=plan.pk, active=True, actor=ACTOR, now=clock.now()
            )
        new = Plan.objects.get(code="mensal", version=2)
    client.post(f"/dashboard/catalog/products/{product.public_id}/archive/")
    response = client.post(
        f"/dashboard/catalog/plans/{new.public_id}/archive/", {"active": "1"}, follow=True
    )
    assert "product is archived" in response.content.decode()
    with tenant_context(acme.tenant):
        assert not Plan.objects.filter(active=True).exists()


def test_a_viewer_cannot_edit_or_archive_a_plan(acme: TenantSetup) -> None:
    plan = _plan(acme, _product(acme))
    viewer = _member(acme, "viewer")
    url = f"/dashboard/catalog/plans/{plan.public_id}/"
    page = viewer.get(url).content.decode()
    assert 'data-testid="plan-edit"' not in page
    assert viewer.get(url + "edit/").status_code == 403
    assert viewer.post(url + "edit/", _edit_body()).status_code == 403
    assert viewer.post(url + "archive/").status_code == 403
    with tenant_context(acme.tenant):
        plan.refresh_from_db()
    assert (plan.name, plan.active) == ("Mensal", True)


def test_another_tenants_plan_cannot_be_edited(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = _plan(globex, _product(globex))
    client = _owner(acme)
    url = f"/dashboard/catalog/plans/{theirs.public_id}/"
    assert client.post(url + "edit/", _edit_body()).status_code == 404
    assert client.post(url + "archive/").status_code == 404
    with tenant_context(globex.tenant):
        theirs.refresh_from_db()
    assert (theirs.name, theirs.active) == ("Mensal", True)


# --- Coupon edits (never the discount) and archiving


def _redeemed_coupon(setup: TenantSetup, times: int = 2) -> Coupon:
    from billing.coupons import coupon_create

    plan = _plan(setup, _product(setup))
    with tenant_context(setup.tenant):
        coupon = coupon_create(
            tenant=setup.tenant,
            code="DEZ",
            percent_off=Decimal(10),
            max_redemptions=5,
            plan_codes=["mensal"],
            actor=ACTOR,
            now=clock.now(),
        )
    for i in range(times):
        with tenant_context(setup.tenant):
            customer = Customer.objects.create(tenant=setup.tenant, name=f"C{i}")
            billing_subs.subscription_create(
                tenant=setup.tenant,
                customer=customer,
                plan=plan,
                actor=ACTOR,
                now=clock.now(),
                coupon="DEZ",
                collection_method="send_invoice",
            )
    with tenant_context(setup.tenant):
        coupon.refresh_from_db()
    return coupon


def _coupon_edit_body(**kw: Any) -> dict[str, Any]:
    return {
        "name": "Dez por cento",
        "max_redemptions": "10",
        "redeem_by": "",
        "plan_codes": ["mensal"],
    } | kw


def test_a_redeemed_coupon_edits_its_rules_but_keeps_its_discount(acme: TenantSetup) -> None:
    coupon = _redeemed_coupon(acme)
    client = _owner(acme)
    url = f"/dashboard/catalog/coupons/{coupon.public_id}/edit/"
    assert f'href="{url}"' in client.get("/dashboard/catalog/coupons/").content.decode()
    form = client.get(url).content.decode()
    assert 'value="5"' in form
    assert 'name="percent_off"' not in form

    # A discount field in the post is ignored: the form has none.
    response = client.post(
        url,
        _coupon_edit_body(redeem_by="2099-12-31", first_purchase_only="on", percent_off="90"),
    )

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
        entry = AuditEntry.objects.get(action="coupon.updated")
    assert (coupon.name, coupon.max_redemptions, coupon.first_purchase_only) == (
        "Dez por cento",
        10,
        True,
    )
    assert coupon.redeem_by is not None
    assert coupon.redeem_by.year == 2100
    assert coupon.percent_off == Decimal(10)
    assert coupon.times_redeemed == 2
    assert sorted(entry.changes) == ["first_purchase_only", "max_redemptions", "name", "redeem_by"]
    # The saved day shows as the day typed.
    assert 'value="2099-12-31"' in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_redemptions": "1"}, "max_redemptions"),  # below the 2 redeemed
        ({"max_redemptions": "0"}, "max_redemptions"),
        ({"max_redemptions": "-3"}, "max_redemptions"),
        ({"max_redemptions": "99999999999"}, "max_redemptions"),
        ({"max_redemptions": "many"}, "max_redemptions"),
        ({"redeem_by": "2001-01-01"}, "redeem_by"),
        ({"redeem_by": "31/12/2099"}, "redeem_by"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"plan_codes": ["other-tenants-plan"]}, "plan_codes"),
    ],
)
def test_a_bad_coupon_edit_is_refused_next_to_the_field(
    acme: TenantSetup, changes: dict[str, Any], field: str
) -> None:
    coupon = _redeemed_coupon(acme)
    response = _owner(acme).post(
        f"/dashboard/catalog/coupons/{coupon.public_id}/edit/", _coupon_edit_body(**changes)
    )
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
        assert not AuditEntry.objects.filter(action="coupon.updated").exists()
    assert (coupon.name, coupon.max_redemptions, coupon.redeem_by) == ("", 5, None)


def test_the_coupon_service_never_changes_the_discount(acme: TenantSetup) -> None:
    from billing.coupons import coupon_update

    coupon = _redeemed_coupon(acme, times=1)
    with tenant_context(acme.tenant):
        for changes, param in (
            ({"percent_off": Decimal(50)}, "percent_off"),
            ({"duration": "forever"}, "duration"),
            ({"first_purchase_only": "yes"}, "first_purchase_only"),
            ({"plan_codes": "mensal"}, "plan_codes"),
            ({"max_redemptions": True}, "max_redemptions"),
        ):
            with pytest.raises(DomainError) as exc:
                coupon_update(
                    tenant=acme.tenant,
                    coupon_id=coupon.pk,
                    changes=changes,
                    actor=ACTOR,
                    now=clock.now(),
                )
            assert exc.value.param == param
        coupon.refresh_from_db()
    assert (coupon.percent_off, coupon.duration) == (Decimal(10), "once")


def test_an_archived_coupon_takes_no_redemption_and_comes_back(acme: TenantSetup) -> None:
    coupon = _redeemed_coupon(acme, times=1)
    client = _owner(acme)
    url = f"/dashboard/catalog/coupons/{coupon.public_id}/archive/"

    assert client.post(url).status_code == 302
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
        plan = Plan.objects.get(code="mensal")
        customer = Customer.objects.create(tenant=acme.tenant, name="Late")
        with pytest.raises(DomainError, match="No such coupon"):
            billing_subs.subscription_create(
                tenant=acme.tenant,
                customer=customer,
                plan=plan,
                actor=ACTOR,
                now=clock.now(),
                coupon="DEZ",
                collection_method="send_invoice",
            )
    assert coupon.active is False
    assert coupon.times_redeemed == 1

    assert client.post(url, {"active": "1"}).status_code == 302
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
        actions = list(
            AuditEntry.objects.filter(action__startswith="coupon.")
            .exclude(action="coupon.created")
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert coupon.active is True
    assert actions == ["coupon.archived", "coupon.unarchived"]


def test_a_viewer_or_another_tenant_cannot_edit_a_coupon(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    coupon = _redeemed_coupon(acme, times=0)
    url = f"/dashboard/catalog/coupons/{coupon.public_id}/"
    viewer = _member(acme, "viewer")
    assert url + "edit/" not in viewer.get("/dashboard/catalog/coupons/").content.decode()
    assert viewer.get(url + "edit/").status_code == 403
    assert viewer.post(url + "edit/", _coupon_edit_body()).status_code == 403
    assert viewer.post(url + "archive/").status_code == 403
    stranger = _owner(globex)
    assert stranger.post(url + "edit/", _coupon_edit_body()).status_code == 404
    assert stranger.post(url + "archive/").status_code == 404
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
    assert (coupon.name, coupon.active, coupon.max_redemptions) == ("", True, 5)


def _discount_body(**kw: Any) -> dict[str, Any]:
    return {
        "kind": "percent",
        "percent_off": "15",
        "amount_off": "",
        "currency": "BRL",
        "applies_to": "recurring",
        "setup_percent_off": "",
        "duration": "repeating",
        "duration_cycles": "3",
    } | kw


def test_the_discount_changes_until_the_first_redemption(acme: TenantSetup) -> None:
    coupon = _redeemed_coupon(acme, times=0)
    client = _owner(acme)
    url = f"/dashboard/catalog/coupons/{coupon.public_id}/"
    form = client.get(url + "edit/").content.decode()
    assert 'data-testid="coupon-discount-form"' in form
    assert 'name="currency" value="BRL"' in form  # offered for an amount off

    response = client.post(url + "discount/", _discount_body(kind="amount", amount_off="5.50"))

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
        assert AuditEntry.objects.filter(action="coupon.discount_changed").count() == 1
    assert (coupon.percent_off, coupon.amount_off_minor, coupon.currency) == (None, 550, "BRL")
    assert (coupon.duration, coupon.duration_cycles) == ("repeating", 3)

    # Once redeemed, the discount is locked: no form, and a post is refused.
    with tenant_context(acme.tenant):
        plan = Plan.objects.get(code="mensal")
        customer = Customer.objects.create(tenant=acme.tenant, name="Ana")
        billing_subs.subscription_create(
            tenant=acme.tenant,
            customer=customer,
            plan=plan,
            actor=ACTOR,
            now=clock.now(),
            coupon="DEZ",
            collection_method="send_invoice",
        )
    page = client.get(url + "edit/").content.decode()
    assert 'data-testid="coupon-discount-form"' not in page
    assert 'data-testid="discount-locked"' in page
    refused = client.post(url + "discount/", _discount_body())
    assert refused.status_code == 400
    assert "was redeemed" in refused.content.decode()
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
    assert (coupon.percent_off, coupon.amount_off_minor) == (None, 550)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"percent_off": "0"}, "percent_off"),
        ({"percent_off": "100.01"}, "percent_off"),
        ({"percent_off": ""}, "percent_off"),
        ({"percent_off": "ten"}, "percent_off"),
        ({"kind": "amount", "amount_off": "-1"}, "amount_off"),
        ({"kind": "amount", "amount_off": "0"}, "amount_off"),
        ({"kind": "amount", "amount_off": "999999999999999"}, "amount_off"),
        ({"kind": "amount", "amount_off": "5", "currency": "XXX"}, "currency"),
        ({"duration_cycles": ""}, "duration_cycles"),
        ({"duration_cycles": "121"}, "duration_cycles"),
        ({"duration": "sometimes"}, "duration"),
        ({"applies_to": "\x00"}, "applies_to"),
        ({"setup_percent_off": "-5"}, "setup_percent_off"),
    ],
)
def test_a_bad_discount_is_refused_next_to_the_field(
    acme: TenantSetup, changes: dict[str, str], field: str
) -> None:
    coupon = _redeemed_coupon(acme, times=0)
    response = _owner(acme).post(
        f"/dashboard/catalog/coupons/{coupon.public_id}/discount/", _discount_body(**changes)
    )
    assert response.status_code == 400
    assert "errorlist" in _errors_of(response.content.decode(), field)
    with tenant_context(acme.tenant):
        coupon.refresh_from_db()
    assert (coupon.percent_off, coupon.duration) == (Decimal(10), "once")
