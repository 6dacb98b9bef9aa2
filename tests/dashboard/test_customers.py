"""The customers pages: list, search, filters, keyset pages, detail timeline, actions, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from billing.models import BalanceTransaction
from billing.services import customer_balance_adjust
from core import clock
from core.errors import ValidationFailed
from customers.models import Customer, CustomerNote
from customers.services import customer_create
from dashboard.selectors import PAGE_SIZE
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import AuditEntry, Event, Tenant
from tests.conftest import TenantSetup
from tests.dashboard.helpers import add_member, signed_in
from tests.support.billing import ACTOR, utc, world

CPF = "52998224725"  # 529.982.247-25
CNPJ = "11222333000181"  # 11.222.333/0001-81


def _customer(tenant: Tenant, name: str, **kw: str) -> Customer:
    with tenant_context(tenant):
        return customer_create(tenant=tenant, name=name, actor=ACTOR, now=clock.now(), **kw)


def _count(tenant: Tenant) -> int:
    with tenant_context(tenant):
        return Customer.objects.filter(tenant=tenant).count()


def _ledger(tenant: Tenant) -> list[tuple[int, str]]:
    with tenant_context(tenant):
        return list(
            BalanceTransaction.objects.filter(tenant=tenant).values_list(
                "amount_minor", "description"
            )
        )


@pytest.fixture
def owner(acme: TenantSetup) -> Client:
    return signed_in("owner@acme.example")


# --- list, search, filters, pages


def test_the_empty_list_says_what_to_do_next(acme: TenantSetup, owner: Client) -> None:
    page = owner.get("/dashboard/customers/").content.decode()

    assert 'data-testid="empty-customers"' in page
    assert "/dashboard/customers/new/" in page


@pytest.mark.parametrize(
    "q",
    [
        pytest.param("Maria", id="name"),
        pytest.param("maria@silva", id="email-part"),
        pytest.param(CPF, id="cpf-digits"),
        pytest.param("529.982.247-25", id="cpf-formatted"),
        pytest.param("982.247", id="cpf-part"),
        pytest.param("public-id", id="public-id"),
    ],
)
def test_search_finds_a_customer_by_each_key(acme: TenantSetup, owner: Client, q: str) -> None:
    maria = _customer(acme.tenant, "Maria Silva", email="maria@silva.example", tax_id=CPF)
    _customer(acme.tenant, "João Souza", email="joao@souza.example", tax_id=CNPJ)
    if q == "public-id":
        q = maria.public_id

    page = owner.get("/dashboard/customers/", {"q": q}).content.decode()

    assert "Maria Silva" in page
    assert "João Souza" not in page
    assert "529.982.247-25" in page  # shown formatted


def test_search_by_cnpj_and_no_match_says_so(acme: TenantSetup, owner: Client) -> None:
    _customer(acme.tenant, "Empresa", tax_id=CNPJ)

    assert (
        "Empresa"
        in owner.get("/dashboard/customers/", {"q": "11.222.333/0001-81"}).content.decode()
    )
    page = owner.get("/dashboard/customers/", {"q": "nobody"}).content.decode()
    assert 'data-testid="no-match"' in page
    assert "Empresa" not in page


def test_filters_by_subscription_delinquency_and_test_clock(db: None) -> None:
    with world(utc(2026, 5, 4, 15)) as w:
        plan = w.plan()
        on_clock = w.customer("Clocked Ana")
        sub = w.subscribe(plan, on_clock)
        live = customer_create(tenant=w.tenant, name="Live Bob", actor=ACTOR, now=w.now)
        late = w.customer("Late Carla")
        late_sub = w.subscribe(plan, late)
        # Without a card the first invoice waits; the filters read the status only.
        Subscription.objects.filter(pk=sub.pk).update(status="active")
        Subscription.objects.filter(pk=late_sub.pk).update(status="past_due")
    client = signed_in("owner@acme.example")

    def names(**params: str) -> set[str]:
        page = client.get("/dashboard/customers/", params).content.decode()
        return {n for n in ("Clocked Ana", "Live Bob", "Late Carla") if n in page}

    assert names() == {"Clocked Ana", "Live Bob", "Late Carla"}
    assert names(subscription="active") == {"Clocked Ana"}
    assert names(subscription="none") == {"Live Bob", "Late Carla"}
    assert names(delinquent="1") == {"Late Carla"}
    assert names(mode="live") == {live.name}
    assert names(mode="test") == {"Clocked Ana", "Late Carla"}


def test_pages_are_keyset_and_stable_under_inserts(acme: TenantSetup, owner: Client) -> None:
    base = clock.now() - timedelta(days=1)
    with tenant_context(acme.tenant):
        for n in range(PAGE_SIZE + 5):
            c = Customer.objects.create(tenant=acme.tenant, name=f"Customer {n:03d}")
            # Pairs share a timestamp (a bulk import does that), so a page can
            # end in the middle of a tie: the id breaks it.
            Customer.objects.filter(pk=c.pk).update(created_at=base + timedelta(minutes=n // 2))

    first = owner.get("/dashboard/customers/")
    cursor = first.context["page"].next_cursor
    assert cursor
    assert [c.name for c in first.context["page"].rows][:2] == ["Customer 029", "Customer 028"]
    _customer(acme.tenant, "Newest arrival")  # would shift an offset-based page 2

    second = owner.get("/dashboard/customers/", {"after": cursor}).context["page"]

    assert [c.name for c in second.rows] == [f"Customer {n:03d}" for n in range(4, -1, -1)]
    assert second.next_cursor == ""
    # A damaged cursor starts over instead of failing.
    assert owner.get("/dashboard/customers/", {"after": "%%%"}).status_code == 200


def test_the_live_search_gets_the_table_only(acme: TenantSetup, owner: Client) -> None:
    _customer(acme.tenant, "Maria Silva")

    page = owner.get("/dashboard/customers/", {"q": "maria"}, HTTP_HX_REQUEST="true")

    body = page.content.decode()
    assert body.lstrip().startswith('<div id="customer-table">')
    assert "<html" not in body
    assert "Maria Silva" in body


# --- the global search


def test_the_global_search_finds_customers_invoices_and_subscriptions(db: None) -> None:
    from billing.models import Invoice

    with world(utc(2026, 5, 4, 15)) as w:
        ana = w.customer("Ana Paula")
        Customer.objects.filter(pk=ana.pk).update(tax_id=CPF)
        sub = w.subscribe(w.plan(), ana)
        invoice = Invoice.objects.filter(subscription=sub).exclude(number=None).first()
        assert invoice is not None
    client = signed_in("owner@acme.example")

    for q in (CPF, "529.982.247-25", "ana paula", ana.public_id):
        page = client.get("/dashboard/search/", {"q": q}).content.decode()
        assert 'data-testid="result-customers"' in page, q
        assert "Ana Paula" in page
    page = client.get("/dashboard/search/", {"q": invoice.number}).content.decode()
    assert 'data-testid="result-invoices"' in page
    page = client.get("/dashboard/search/", {"q": sub.public_id}).content.decode()
    assert 'data-testid="result-subscriptions"' in page
    assert (
        'data-testid="no-results"'
        in client.get("/dashboard/search/", {"q": "zzz"}).content.decode()
    )


# --- the detail page


def test_the_detail_shows_profile_and_one_timeline_newest_first(db: None) -> None:
    with world(utc(2026, 5, 4, 15)) as w:
        ana = customer_create(
            tenant=w.tenant,
            name="Ana",
            email="ana@example.com",
            phone="11 98765-4321",
            tax_id=CPF,
            locale="pt-br",
            actor=ACTOR,
            now=w.now,
            test_clock=w.clock,
        )
        sub = w.subscribe(w.plan(), ana)
        customer_balance_adjust(
            tenant=w.tenant,
            customer_id=ana.pk,
            amount_minor=1_500,
            currency="BRL",
            reason="Goodwill for the outage",
            actor=ACTOR,
            now=w.now + timedelta(hours=1),
        )
    client = signed_in("owner@acme.example")

    response = client.get(f"/dashboard/customers/{ana.public_id}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "529.982.247-25" in page
    assert "+55 11 98765-4321" in page  # the phone, stored as E.164, shown as written
    assert 'data-testid="balance-BRL">R$15.00<' in page
    kinds = [e.kind for e in response.context["timeline"]]
    labels = " | ".join(e.label for e in response.context["timeline"])
    assert {"Subscription", "Invoice", "Balance", "Audit"} <= set(kinds)
    assert "Goodwill for the outage" in labels
    assert "Credit balance adjusted by tests" in labels  # audit actions in words
    assert sub.public_id in labels
    times = [e.at for e in response.context["timeline"]]
    assert times == sorted(times, reverse=True)
    assert all(e.url for e in response.context["timeline"])
    # Subscriptions and invoices lead to their dashboard pages, not to a raw PDF.
    urls = {e.kind: e.url for e in response.context["timeline"]}
    assert urls["Subscription"] == f"/dashboard/subscriptions/{sub.public_id}/"
    assert urls["Invoice"].startswith("/dashboard/invoices/")
    assert f'href="/dashboard/subscriptions/{sub.public_id}/"' in page


def test_another_tenants_customer_is_a_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = _customer(globex.tenant, "Globex customer")
    client = signed_in("owner@acme.example")

    for path in ("", "edit/"):
        assert client.get(f"/dashboard/customers/{theirs.public_id}/{path}").status_code == 404
    for path in ("balance/", "portal-link/", "portal-link/send/", "edit/"):
        response = client.post(
            f"/dashboard/customers/{theirs.public_id}/{path}",
            {"amount": "10", "reason": "x", "name": "Hacked"},
        )
        assert response.status_code == 404
    assert _ledger(globex.tenant) == []
    with tenant_context(globex.tenant):
        assert Customer.objects.get(pk=theirs.pk).name == "Globex customer"
    assert len(mail.outbox) == 0


# --- actions


def test_create_a_customer(acme: TenantSetup, owner: Client) -> None:
    response = owner.post(
        "/dashboard/customers/new/",
        {"name": "Maria", "email": "maria@example.com", "tax_id": "529.982.247-25", "locale": ""},
    )

    assert response.status_code == 302
    with tenant_context(acme.tenant):
        maria = Customer.objects.get(tenant=acme.tenant)
        assert Event.objects.filter(type="customer.created", subject_id=maria.public_id).exists()
    assert maria.tax_id == CPF
    assert response["Location"] == f"/dashboard/customers/{maria.public_id}/"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"name": ""}, "name", id="missing-name"),
        pytest.param({"name": "x" * 201}, "name", id="long-name"),
        pytest.param({"name": "A", "email": "not-an-email"}, "email", id="bad-email"),
        pytest.param({"name": "A", "tax_id": "123.456.789-00"}, "tax_id", id="bad-cpf"),
        pytest.param({"name": "A", "phone": "abc"}, "phone", id="bad-phone"),
        pytest.param({"name": "A", "locale": "xx"}, "locale", id="bad-locale"),
    ],
)
def test_a_bad_customer_is_refused_next_to_the_field(
    acme: TenantSetup, owner: Client, data: dict[str, str], field: str
) -> None:
    response = owner.post("/dashboard/customers/new/", data)

    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert _count(acme.tenant) == 0


def test_edit_a_customer(acme: TenantSetup, owner: Client) -> None:
    ana = _customer(acme.tenant, "Ana")
    url = f"/dashboard/customers/{ana.public_id}/edit/"
    assert 'value="Ana"' in owner.get(url).content.decode()

    bad = owner.post(url, {"name": "Ana", "tax_id": "111"})
    assert bad.status_code == 400
    assert 'data-testid="error-tax_id"' in bad.content.decode()

    ok = owner.post(
        url, {"name": "Ana Maria", "tax_id": CNPJ, "email": "", "phone": "", "locale": ""}
    )
    assert ok.status_code == 302
    with tenant_context(acme.tenant):
        ana.refresh_from_db()
    assert (ana.name, ana.tax_id) == ("Ana Maria", CNPJ)


def test_adjust_the_balance_with_a_reason(acme: TenantSetup, owner: Client) -> None:
    ana = _customer(acme.tenant, "Ana")
    url = f"/dashboard/customers/{ana.public_id}/balance/"

    assert (
        owner.post(url, {"amount": "25.50", "reason": "Refund of the old plan"}).status_code == 302
    )
    assert owner.post(url, {"amount": "-5", "reason": "Correction"}).status_code == 302

    assert sorted(_ledger(acme.tenant)) == [(-500, "Correction"), (2_550, "Refund of the old plan")]
    page = owner.get(f"/dashboard/customers/{ana.public_id}/").content.decode()
    assert "R$20.50" in page
    with tenant_context(acme.tenant):
        assert AuditEntry.objects.filter(action="customer.balance_adjusted").count() == 2
        assert Event.objects.filter(type="customer.balance_adjusted").count() == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"amount": "", "reason": "x"}, "amount", id="missing-amount"),
        pytest.param({"amount": "abc", "reason": "x"}, "amount", id="not-a-number"),
        pytest.param({"amount": "0", "reason": "x"}, "amount", id="zero"),
        pytest.param({"amount": "1.005", "reason": "x"}, "amount", id="too-many-decimals"),
        pytest.param({"amount": "10000000001", "reason": "x"}, "amount", id="huge"),
        pytest.param({"amount": "-10000000001", "reason": "x"}, "amount", id="huge-negative"),
        pytest.param({"amount": "10"}, "reason", id="missing-reason"),
        pytest.param({"amount": "10", "reason": "   "}, "reason", id="blank-reason"),
        pytest.param({"amount": "10", "reason": "x" * 201}, "reason", id="long-reason"),
    ],
)
def test_a_bad_adjustment_is_refused_next_to_the_field(
    acme: TenantSetup, owner: Client, data: dict[str, str], field: str
) -> None:
    ana = _customer(acme.tenant, "Ana")

    response = owner.post(f"/dashboard/customers/{ana.public_id}/balance/", data)

    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert _ledger(acme.tenant) == []


def test_the_service_guards_its_own_limits(acme: TenantSetup) -> None:
    ana = _customer(acme.tenant, "Ana")
    with tenant_context(acme.tenant):
        for amount, reason, param in [
            (0, "x", "amount"),
            (10**12 + 1, "x", "amount"),
            (-(10**12) - 1, "x", "amount"),
            (True, "x", "amount"),
            (100, "", "reason"),
        ]:
            with pytest.raises(ValidationFailed) as err:
                customer_balance_adjust(
                    tenant=acme.tenant,
                    customer_id=ana.pk,
                    amount_minor=amount,  # type: ignore[arg-type]
                    currency="BRL",
                    reason=reason,
                    actor=ACTOR,
                    now=clock.now(),
                )
            assert err.value.param == param
        assert (
            customer_balance_adjust(
                tenant=acme.tenant,
                customer_id=ana.pk,
                amount_minor=10**12,
                currency="BRL",
                reason="max",
                actor=ACTOR,
                now=clock.now(),
            )
            == 10**12
        )


def test_show_and_email_the_portal_link(acme: TenantSetup, owner: Client) -> None:
    ana = _customer(acme.tenant, "Ana", email="ana@example.com", locale="pt-br")
    base = f"/dashboard/customers/{ana.public_id}/"

    assert 'data-testid="portal-link"' not in owner.get(base).content.decode()
    shown = owner.post(base + "portal-link/").content.decode()
    assert 'data-testid="portal-link"' in shown
    assert "/t/acme/" in shown

    assert owner.post(base + "portal-link/send/").status_code == 302
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ana@example.com"]
    assert "Acme" in sent.from_email
    assert "/t/acme/" in sent.body
    with tenant_context(acme.tenant):
        assert AuditEntry.objects.filter(action="customer.portal_link_sent").count() == 1


def test_the_portal_link_needs_an_email(acme: TenantSetup, owner: Client) -> None:
    ana = _customer(acme.tenant, "Ana")

    response = owner.post(f"/dashboard/customers/{ana.public_id}/portal-link/send/", follow=True)

    assert "no email address" in response.content.decode()
    assert len(mail.outbox) == 0


# --- roles


def test_a_viewer_reads_but_cannot_write(acme: TenantSetup) -> None:
    ana = _customer(acme.tenant, "Ana", email="ana@example.com")
    add_member(acme.tenant, "viewer@acme.example", "viewer")
    client = signed_in("viewer@acme.example")
    base = f"/dashboard/customers/{ana.public_id}/"

    assert client.get("/dashboard/customers/").status_code == 200
    detail = client.get(base)
    assert detail.status_code == 200
    assert 'data-testid="balance-form"' not in detail.content.decode()
    assert "/edit/" not in detail.content.decode()
    assert client.get("/dashboard/customers/new/").status_code == 403
    assert client.post("/dashboard/customers/new/", {"name": "X"}).status_code == 403
    assert client.post(base + "edit/", {"name": "X"}).status_code == 403
    assert client.post(base + "balance/", {"amount": "5", "reason": "x"}).status_code == 403
    assert client.post(base + "portal-link/").status_code == 403
    assert client.post(base + "portal-link/send/").status_code == 403
    assert _count(acme.tenant) == 1
    assert _ledger(acme.tenant) == []
    assert len(mail.outbox) == 0


@pytest.mark.parametrize("role", ["finance", "support"])
def test_finance_and_support_manage_customers(acme: TenantSetup, role: str) -> None:
    add_member(acme.tenant, f"{role}@acme.example", role)
    client = signed_in(f"{role}@acme.example")

    assert client.post("/dashboard/customers/new/", {"name": "Ana"}).status_code == 302
    assert _count(acme.tenant) == 1


# --- navigation


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (
            "owner",
            [
                "Customers",
                "API keys",
                "Webhooks",
                "Audit log",
                "Account",
                "Payment settings",
                "Team",
            ],
            [],
        ),
        ("admin", ["Customers", "API keys", "Audit log", "Team"], ["Account", "Payment settings"]),
        (
            "finance",
            ["Customers", "Audit log", "Dunning", "Invoices", "Payments"],
            ["API keys", "Account", "Webhooks", "Team"],
        ),
        (
            "viewer",
            ["Customers", "Dunning", "Subscriptions", "Catalog"],
            ["API keys", "Audit log", "Account", "Payment settings", "Team"],
        ),
    ],
)
def test_the_sidebar_shows_only_what_the_role_may_open(
    acme: TenantSetup, role: str, shown: list[str], hidden: list[str]
) -> None:
    if role != "owner":
        add_member(acme.tenant, f"{role}@acme.example", role)
    response = signed_in(f"{role}@acme.example").get("/dashboard/customers/")
    nav = response.content.decode().split('<nav class="sidebar"')[1].split("</nav>")[0]

    for label in shown:
        assert f">{label}</a>" in nav, label
    for label in hidden:
        assert f">{label}</a>" not in nav, label
    assert 'aria-current="page">Customers<' in nav
    assert 'action="/dashboard/search/"' in nav


def test_a_link_to_a_page_that_does_not_exist_yet_is_left_out() -> None:
    from django.urls import NoReverseMatch, reverse

    from dashboard.navigation import url_if_exists

    assert url_if_exists("dashboard:customers") == "/dashboard/customers/"
    assert url_if_exists("dashboard:no_such_page") == ""
    with pytest.raises(NoReverseMatch):
        reverse("dashboard:no_such_page")


def test_every_page_loads_htmx_deferred(acme: TenantSetup, owner: Client) -> None:
    page = owner.get("/").content.decode()

    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in page


# --- billing address and notes


def test_create_and_edit_a_customer_with_a_billing_address(
    acme: TenantSetup, owner: Client
) -> None:
    response = owner.post(
        "/dashboard/customers/new/",
        {
            "name": "Maria",
            "tax_id": CPF,
            "address_postal_code": "01310-100",
            "address_line1": "Avenida Paulista",
            "address_number": "1000",
            "address_district": "Bela Vista",
            "address_city": "São Paulo",
            "address_state": "sp",
            "address_country": "",
        },
    )
    assert response.status_code == 302
    with tenant_context(acme.tenant):
        maria = Customer.objects.get(tenant=acme.tenant)
    assert maria.address == {
        "line1": "Avenida Paulista",
        "number": "1000",
        "district": "Bela Vista",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01310100",
        "country": "BR",
    }

    page = owner.get(f"/dashboard/customers/{maria.public_id}/").content.decode()
    assert "Avenida Paulista, 1000" in page
    assert "São Paulo – SP" in page
    assert "01310-100" in page
    assert "529.982.247-25" in page

    edit = owner.get(f"/dashboard/customers/{maria.public_id}/edit/").content.decode()
    assert 'value="01310-100"' in edit
    assert 'value="529.982.247-25"' in edit  # the CPF with its mask
    # Clearing every address field removes the address.
    cleared = owner.post(f"/dashboard/customers/{maria.public_id}/edit/", {"name": "Maria"})
    assert cleared.status_code == 302
    with tenant_context(acme.tenant):
        maria.refresh_from_db()
    assert maria.address == {}


ADDRESS = {
    "address_postal_code": "01310-100",
    "address_line1": "Avenida Paulista",
    "address_city": "São Paulo",
    "address_state": "SP",
}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({**ADDRESS, "address_postal_code": "123"}, "address_postal_code", id="cep"),
        pytest.param({**ADDRESS, "address_state": "XX"}, "address_state", id="uf"),
        pytest.param({**ADDRESS, "address_line1": ""}, "address_line1", id="no-street"),
        pytest.param({**ADDRESS, "address_city": ""}, "address_city", id="no-city"),
        pytest.param({**ADDRESS, "address_country": "B1"}, "address_country", id="country"),
        pytest.param({**ADDRESS, "address_city": "São\x00Paulo"}, "address_city", id="nul"),
        pytest.param({**ADDRESS, "address_line1": "x" * 201}, "address_line1", id="long"),
    ],
)
def test_a_bad_address_is_refused_next_to_the_field(
    acme: TenantSetup, owner: Client, data: dict[str, str], field: str
) -> None:
    response = owner.post("/dashboard/customers/new/", {"name": "A", **data})

    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert _count(acme.tenant) == 0


def test_add_a_note_shows_it_in_the_notes_and_the_timeline(
    acme: TenantSetup, owner: Client
) -> None:
    ana = _customer(acme.tenant, "Ana")
    url = f"/dashboard/customers/{ana.public_id}/notes/"

    plain = owner.post(url, {"text": "Called about the invoice.\nWill pay Friday."})
    assert plain.status_code == 302
    # From htmx the notes card comes back alone, newest first.
    card = owner.post(url, {"text": "Paid."}, HTTP_HX_REQUEST="true")
    assert card.status_code == 200
    body = card.content.decode()
    assert body.lstrip().startswith('<section class="card" id="notes"')
    assert body.index("Paid.") < body.index("Called about the invoice.<br>Will pay Friday.")

    with tenant_context(acme.tenant):
        notes = list(CustomerNote.objects.filter(customer=ana).order_by("id"))
        audited = AuditEntry.objects.filter(action="customer.note_added").count()
    assert [n.author_label for n in notes] == ["owner@acme.example"] * 2
    assert notes[0].author is not None
    assert notes[0].author.email == "owner@acme.example"
    assert audited == 2
    page = owner.get(f"/dashboard/customers/{ana.public_id}/").content.decode()
    timeline = page[page.index('data-testid="timeline"') :]
    assert "owner@acme.example: Paid." in timeline
    assert "Note added by" not in timeline  # once, as the note, not again as its audit entry


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="missing"),
        pytest.param("   ", id="blank"),
        pytest.param("x" * 2001, id="long"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a\u202eb", id="bidi-override"),
    ],
)
def test_a_bad_note_is_refused_next_to_the_field(
    acme: TenantSetup, owner: Client, text: str
) -> None:
    ana = _customer(acme.tenant, "Ana")
    url = f"/dashboard/customers/{ana.public_id}/notes/"

    response = owner.post(url, {"text": text})
    assert response.status_code == 400
    assert 'data-testid="error-text"' in response.content.decode()
    via_htmx = owner.post(url, {"text": text}, HTTP_HX_REQUEST="true")
    assert 'data-testid="error-text"' in via_htmx.content.decode()
    with tenant_context(acme.tenant):
        assert not CustomerNote.objects.exists()


def test_notes_of_another_tenants_customer_are_a_404(
    acme: TenantSetup, globex: TenantSetup, owner: Client
) -> None:
    theirs = _customer(globex.tenant, "Theirs")

    response = owner.post(f"/dashboard/customers/{theirs.public_id}/notes/", {"text": "hi"})

    assert response.status_code == 404
    with tenant_context(globex.tenant):
        assert not CustomerNote.objects.exists()


def test_a_viewer_cannot_add_a_note(acme: TenantSetup) -> None:
    ana = _customer(acme.tenant, "Ana")
    add_member(acme.tenant, "viewer@acme.example", "viewer")
    viewer = signed_in("viewer@acme.example")

    page = viewer.get(f"/dashboard/customers/{ana.public_id}/").content.decode()
    assert 'data-testid="note-form"' not in page
    response = viewer.post(f"/dashboard/customers/{ana.public_id}/notes/", {"text": "hi"})
    assert response.status_code == 403
    with tenant_context(acme.tenant):
        assert not CustomerNote.objects.exists()
