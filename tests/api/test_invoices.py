"""One-off invoices, credit notes, payments, refunds and test clocks over the API."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import BalanceTransaction, CreditNote, Invoice, PaymentAttempt, Refund
from customers.models import Customer, TestClock
from tenants.context import tenant_context
from tests.api.helpers import audit_actions, counts, error
from tests.conftest import TenantSetup

pytestmark = pytest.mark.django_db


def _customer(setup: TenantSetup, **body: Any) -> dict[str, Any]:
    response = setup.client().post("/api/v1/customers", {"name": "Ana", **body})
    assert response.status_code == 201, response.json()
    return response.json()


def _draft(setup: TenantSetup, customer: dict[str, Any] | None = None, **body: Any) -> dict:
    customer = customer or _customer(setup)
    response = setup.client().post(
        "/api/v1/invoices",
        {
            "customer": customer["id"],
            "currency": "BRL",
            "lines": [{"description": "Consulting", "unit_amount_minor": 15_000, "quantity": 2}],
            **body,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _open(setup: TenantSetup, customer: dict[str, Any] | None = None) -> dict[str, Any]:
    draft = _draft(setup, customer)
    response = setup.client().post(f"/api/v1/invoices/{draft['id']}/finalize", {})
    assert response.status_code == 200, response.json()
    return response.json()


def test_draft_add_line_finalize_and_pay_out_of_band(acme: TenantSetup) -> None:
    draft = _draft(acme)

    assert (draft["object"], draft["status"], draft["number"]) == ("invoice", "draft", None)
    assert [(line["description"], line["amount_minor"]) for line in draft["lines"]] == [
        ("Consulting", 30_000)
    ]
    added = acme.client().post(
        f"/api/v1/invoices/{draft['id']}/lines",
        {"description": "Discount", "unit_amount_minor": -5_000},
    )
    assert added.status_code == 200, added.json()
    assert len(added.json()["lines"]) == 2

    final = acme.client().post(f"/api/v1/invoices/{draft['id']}/finalize", {})

    assert final.status_code == 200
    assert final.json()["status"] == "open"
    assert final.json()["number"] == "ACME-" + final.json()["issued_at"][:4] + "-000001"
    assert (final.json()["total_minor"], final.json()["amount_due_minor"]) == (25_000, 25_000)
    again = acme.client().post(f"/api/v1/invoices/{draft['id']}/finalize", {})
    assert again.status_code == 409
    assert error(again)["code"] == "invoice_not_draft"
    more = acme.client().post(
        f"/api/v1/invoices/{draft['id']}/lines", {"description": "x", "unit_amount_minor": 1}
    )
    assert more.status_code == 409

    paid = acme.client().post(
        f"/api/v1/invoices/{draft['id']}/pay", {"paid_out_of_band": True, "note": "Bank transfer"}
    )

    assert paid.status_code == 200, paid.json()
    assert (paid.json()["status"], paid.json()["amount_paid_minor"]) == ("paid", 25_000)
    void = acme.client().post(f"/api/v1/invoices/{draft['id']}/void", {})
    assert void.status_code == 409
    assert error(void)["code"] == "invoice_not_open"
    assert [a for t, a in audit_actions(acme) if a.startswith("invoice.")] == [
        "invoice.draft_created",
        "invoice.line_added",
        "invoice.finalized",
        "invoice.paid",
    ]


def test_void_and_mark_uncollectible(acme: TenantSetup) -> None:
    one, two = _open(acme), _open(acme)

    voided = acme.client().post(f"/api/v1/invoices/{one['id']}/void", {})
    lost = acme.client().post(f"/api/v1/invoices/{two['id']}/mark_uncollectible", {})

    assert (voided.status_code, voided.json()["status"]) == (200, "void")
    assert voided.json()["voided_at"] is not None
    assert (lost.status_code, lost.json()["status"]) == (200, "uncollectible")
    listed = acme.client().get("/api/v1/invoices", {"status": "void"}).json()["data"]
    assert [i["id"] for i in listed] == [one["id"]]


def test_a_draft_cannot_be_paid_voided_or_credited_and_can_be_deleted(acme: TenantSetup) -> None:
    draft = _draft(acme)

    for action in ("pay", "void", "mark_uncollectible"):
        response = acme.client().post(f"/api/v1/invoices/{draft['id']}/{action}", {})
        assert response.status_code == 409, action
    credit = acme.client().post(
        "/api/v1/credit_notes", {"invoice": draft["id"], "amount_minor": 1, "reason": "x"}
    )
    assert credit.status_code == 409

    deleted = acme.client().delete(f"/api/v1/invoices/{draft['id']}")

    assert deleted.json() == {"id": draft["id"], "object": "invoice", "deleted": True}
    assert counts(acme, Invoice) == {"Invoice": 0}


@pytest.mark.parametrize(
    ("body", "param", "status"),
    [
        pytest.param({"currency": "ABC"}, "currency", 400, id="currency"),
        pytest.param({"customer": "cus_nope"}, "customer", 404, id="customer"),
        pytest.param({"lines": "many"}, "lines", 400, id="lines-type"),
        pytest.param(
            {"lines": [{"description": "x", "unit_amount_minor": 10**14}]},
            "lines[0].unit_amount_minor",
            400,
            id="huge-amount",
        ),
        pytest.param(
            {"lines": [{"description": "x", "unit_amount_minor": 10**12, "quantity": 1000}]},
            "quantity",
            400,
            id="huge-product",
        ),
        pytest.param(
            {"lines": [{"description": "", "unit_amount_minor": 1}]},
            "lines[0].description",
            400,
            id="blank-description",
        ),
        pytest.param(
            {"lines": [{"description": "x", "unit_amount_minor": 1, "tax_rate": "txr_x"}]},
            "tax_rate",
            404,
            id="tax-rate",
        ),
        pytest.param(
            {"lines": [{"description": "x", "unit_amount_minor": 1, "price": 2}]},
            "lines[0].price",
            400,
            id="unknown-line-field",
        ),
    ],
)
def test_bad_invoices_are_refused_and_nothing_is_created(
    acme: TenantSetup, body: dict, param: str, status: int
) -> None:
    customer = _customer(acme)

    response = acme.client().post(
        "/api/v1/invoices", {"customer": customer["id"], "currency": "BRL", **body}
    )

    assert response.status_code == status, response.json()
    assert error(response)["param"] == param
    assert counts(acme, Invoice) == {"Invoice": 0}


def test_another_tenants_invoice_is_404_for_every_action(
    acme: TenantSetup, globex: TenantSetup
) -> None:
    theirs = _open(globex)
    their_draft = _draft(globex)

    for method, path, body in (
        ("get", f"/api/v1/invoices/{theirs['id']}", None),
        ("get", f"/api/v1/invoices/{theirs['id']}/pdf", None),
        ("post", f"/api/v1/invoices/{theirs['id']}/pay", {"paid_out_of_band": True}),
        ("post", f"/api/v1/invoices/{theirs['id']}/void", {}),
        ("post", f"/api/v1/invoices/{theirs['id']}/installments", {"count": 2}),
        ("post", f"/api/v1/invoices/{theirs['id']}/mark_uncollectible", {}),
        ("post", f"/api/v1/invoices/{their_draft['id']}/finalize", {}),
        (
            "post",
            f"/api/v1/invoices/{their_draft['id']}/lines",
            {"description": "x", "unit_amount_minor": 1},
        ),
        ("delete", f"/api/v1/invoices/{their_draft['id']}", None),
        (
            "post",
            "/api/v1/credit_notes",
            {"invoice": theirs["id"], "amount_minor": 1, "reason": "x"},
        ),
    ):
        response = getattr(acme.client(), method)(path, body)
        assert response.status_code == 404, (method, path, response.json())
    assert globex.client().get(f"/api/v1/invoices/{theirs['id']}").json() == theirs
    assert globex.client().get(f"/api/v1/invoices/{their_draft['id']}").json() == their_draft
    assert counts(globex, CreditNote) == {"CreditNote": 0}


def test_the_pdf(acme: TenantSetup) -> None:
    invoice = _open(acme)

    response = acme.client().get(f"/api/v1/invoices/{invoice['id']}/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_credit_notes(acme: TenantSetup) -> None:
    invoice = _open(acme)

    created = acme.client().post(
        "/api/v1/credit_notes",
        {"invoice": invoice["id"], "amount_minor": 10_000, "reason": "Goodwill"},
    )

    assert created.status_code == 201, created.json()
    note = created.json()
    assert (note["object"], note["invoice"], note["total_minor"]) == (
        "credit_note",
        invoice["id"],
        10_000,
    )
    assert note["customer"] == invoice["customer"]
    assert acme.client().get(f"/api/v1/credit_notes/{note['id']}").json() == note
    listed = acme.client().get("/api/v1/credit_notes", {"invoice": invoice["id"]}).json()["data"]
    assert [n["id"] for n in listed] == [note["id"]]
    for amount in (0, -5, 20_001, 10**30, "lots"):
        bad = acme.client().post(
            "/api/v1/credit_notes",
            {"invoice": invoice["id"], "amount_minor": amount, "reason": "x"},
        )
        assert bad.status_code == 400, amount
        assert error(bad)["param"] in ("amount_minor", "amount")
    assert counts(acme, CreditNote) == {"CreditNote": 1}
    with tenant_context(acme.tenant):
        assert BalanceTransaction.objects.get().amount_minor == 10_000


def test_test_clocks(acme: TenantSetup) -> None:
    created = acme.client().post(
        "/api/v1/test_clocks", {"frozen_time": "2026-01-01T00:00:00-03:00", "name": "Q1"}
    )
    assert created.status_code == 201
    clock = created.json()
    assert (clock["object"], clock["frozen_time"]) == ("test_clock", "2026-01-01T03:00:00Z")
    base = f"/api/v1/test_clocks/{clock['id']}"

    back = acme.client().post(f"{base}/advance", {"frozen_time": "2025-01-01T00:00:00Z"})
    far = acme.client().post(f"{base}/advance", {"frozen_time": "2046-01-01T00:00:00Z"})
    junk = acme.client().post(f"{base}/advance", {"frozen_time": 12})

    assert back.status_code == 400
    assert error(back)["param"] == "frozen_time"
    assert far.status_code == 400
    assert junk.status_code == 400
    assert acme.client().get(base).json() == clock

    customer = _customer(acme, test_clock=clock["id"])
    deleted = acme.client().delete(base)
    assert deleted.json() == {"id": clock["id"], "object": "test_clock", "deleted": True}
    assert counts(acme, TestClock, Customer) == {"TestClock": 0, "Customer": 0}
    assert acme.client().get(f"/api/v1/customers/{customer['id']}").status_code == 404


def test_another_tenants_test_clock_is_404(acme: TenantSetup, globex: TenantSetup) -> None:
    theirs = (
        globex.client().post("/api/v1/test_clocks", {"frozen_time": "2026-01-01T00:00:00Z"}).json()
    )

    advance = acme.client().post(
        f"/api/v1/test_clocks/{theirs['id']}/advance", {"frozen_time": "2026-02-01T00:00:00Z"}
    )
    attach = acme.client().post("/api/v1/customers", {"name": "Ana", "test_clock": theirs["id"]})

    assert advance.status_code == 404
    assert attach.status_code == 404
    assert error(attach)["param"] == "test_clock"
    assert acme.client().delete(f"/api/v1/test_clocks/{theirs['id']}").status_code == 404
    assert globex.client().get(f"/api/v1/test_clocks/{theirs['id']}").json() == theirs
    assert counts(acme, Customer) == {"Customer": 0}


# --- charging, payments and refunds: gateway calls happen outside transactions ---------------


@pytest.mark.django_db(transaction=True)
def test_pay_by_charging_then_refund(acme: TenantSetup) -> None:
    customer = _customer(acme)
    acme.client().post(
        f"/api/v1/customers/{customer['id']}/payment_methods", {"type": "card", "token": "tok_visa"}
    )
    invoice = _open(acme, customer)

    paid = acme.client().post(f"/api/v1/invoices/{invoice['id']}/pay", {})

    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid"
    [payment] = acme.client().get("/api/v1/payments", {"invoice": invoice["id"]}).json()["data"]
    assert (payment["object"], payment["status"], payment["amount_minor"]) == (
        "payment",
        "succeeded",
        30_000,
    )
    assert payment["customer"] == customer["id"]
    assert acme.client().get(f"/api/v1/payments/{payment['id']}").json() == payment

    too_much = acme.client().post(
        "/api/v1/refunds", {"payment": payment["id"], "amount_minor": 30_001, "reason": "x"}
    )
    assert too_much.status_code == 400
    assert error(too_much)["code"] == "refund_too_large"
    refund = acme.client().post(
        "/api/v1/refunds", {"payment": payment["id"], "amount_minor": 10_000, "reason": "Broken"}
    )

    assert refund.status_code == 201, refund.json()
    assert (refund.json()["status"], refund.json()["payment"]) == ("succeeded", payment["id"])
    assert refund.json()["credit_note"].startswith("cn_")
    again = acme.client().get(f"/api/v1/payments/{payment['id']}").json()
    assert again["amount_refunded_minor"] == 10_000
    assert [r["id"] for r in acme.client().get("/api/v1/refunds").json()["data"]] == [
        refund.json()["id"]
    ]


@pytest.mark.django_db(transaction=True)
def test_a_declined_charge_is_a_402_and_the_invoice_stays_open(acme: TenantSetup) -> None:
    customer = _customer(acme)
    acme.client().post(
        f"/api/v1/customers/{customer['id']}/payment_methods",
        {"type": "card", "token": "tok_chargeDeclinedInsufficientFunds"},
    )
    invoice = _open(acme, customer)

    response = acme.client().post(f"/api/v1/invoices/{invoice['id']}/pay", {})

    assert response.status_code == 402
    assert error(response)["type"] == "card_error"
    assert error(response)["code"] == "insufficient_funds"
    assert acme.client().get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "open"
    with tenant_context(acme.tenant):
        attempt = PaymentAttempt.objects.get()
    assert response.json()["error"]["payment"] == attempt.public_id
    refund = acme.client().post(
        "/api/v1/refunds", {"payment": attempt.public_id, "amount_minor": 1, "reason": "x"}
    )
    assert refund.status_code == 409
    assert counts(acme, Refund) == {"Refund": 0}


@pytest.mark.django_db(transaction=True)
def test_paying_without_a_payment_method_is_a_conflict(acme: TenantSetup) -> None:
    invoice = _open(acme)

    response = acme.client().post(f"/api/v1/invoices/{invoice['id']}/pay", {})

    assert response.status_code == 409
    assert error(response)["code"] == "no_payment_method"
    assert counts(acme, PaymentAttempt) == {"PaymentAttempt": 0}


def test_a_listed_invoice_is_exactly_its_retrieve(acme: TenantSetup, globex: TenantSetup) -> None:
    """The list renders rows of the printed columns (core/projection.py), retrieve
    the InvoiceSerializer on a model: both must print the same invoice."""
    from billing.models import TaxRate
    from tests.api.test_subscriptions import _subscribe, catalog

    customer = _customer(acme)
    plan = catalog(acme, setup_fee_minor=1_500)
    coupon = acme.client().post("/api/v1/coupons", {"code": "TEN", "percent_off": 10}).json()
    _subscribe(acme, customer=customer["id"], plan=plan["id"], coupon=coupon["code"])
    with tenant_context(acme.tenant):
        rate = TaxRate.objects.create(name="ISS", percent="5.0000")
    taxed = _draft(acme, customer)
    added = acme.client().post(
        f"/api/v1/invoices/{taxed['id']}/lines",
        {"description": "Setup", "unit_amount_minor": 999, "tax_rate": rate.public_id},
    )
    assert added.status_code == 200, added.json()
    _open(acme, customer)
    _draft(globex)  # another tenant's: never listed

    listed = acme.client().get("/api/v1/invoices", {"customer": customer["id"]}).json()["data"]

    assert len(listed) == 3
    assert any(line["coupon"] for invoice in listed for line in invoice["lines"])
    assert any(line["tax_percent"] for invoice in listed for line in invoice["lines"])
    assert any(invoice["subscription"] is None for invoice in listed)
    assert sum(len(invoice["lines"]) for invoice in listed) >= 5
    for invoice in listed:
        assert invoice == acme.client().get(f"/api/v1/invoices/{invoice['id']}").json()
    # Paged one at a time (the cursor is read from the same rows), the same invoices.
    paged: list[dict[str, Any]] = []
    params: dict[str, Any] = {"customer": customer["id"], "limit": 1}
    while True:
        body = acme.client().get("/api/v1/invoices", params).json()
        paged += body["data"]
        if not body["has_more"]:
            break
        params["starting_after"] = body["data"][-1]["id"]
    assert paged == listed


def test_a_credit_note_shows_subtotal_discount_and_tax(acme: TenantSetup) -> None:
    rate = (
        acme.client()
        .post("/api/v1/tax_rates", {"name": "ISS", "percent": 10}, format="json")
        .json()
    )
    draft = _draft(
        acme,
        lines=[
            {"description": "Consulting", "unit_amount_minor": 15_000, "tax_rate": rate["id"]},
            {"description": "Setup", "unit_amount_minor": 5_000},
        ],
    )
    invoice = acme.client().post(f"/api/v1/invoices/{draft['id']}/finalize", {}).json()
    assert invoice["total_minor"] == 16_500 + 5_000

    created = acme.client().post(
        "/api/v1/credit_notes",
        {"invoice": invoice["id"], "amount_minor": 10_750, "reason": "Half"},
    )

    # 10750 of 21500 is half of each line: 7500 + 750 tax, and 2500
    assert created.status_code == 201, created.json()
    note = created.json()
    assert (
        note["subtotal_minor"],
        note["discount_minor"],
        note["tax_minor"],
        note["total_minor"],
    ) == (10_000, 0, 750, 10_750)
    assert [
        (x["description"], x["amount_minor"], x["tax_minor"], x["tax_percent"], x["total_minor"])
        for x in note["lines"]
    ] == [("Half", 7_500, 750, "10.0000", 8_250), ("Half", 2_500, 0, None, 2_500)]
    assert acme.client().get(f"/api/v1/credit_notes/{note['id']}").json() == note
