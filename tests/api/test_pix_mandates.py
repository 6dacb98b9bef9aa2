"""``/api/v1/pix_mandates``: create (journey 3 with the first charge, journey 2
for a trial) with the BR Code and its QR image, list with filters, retrieve with
instructions, cancel; the sandbox PSP's simulations with a test key only; bad
input and other tenants' ids change nothing."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from billing.domain.pix_automatico import parse_recurrence_br_code
from billing.models import Invoice, PaymentAttempt, PixInstruction, PixMandate
from billing.subscriptions import subscription_cancel
from customers.models import Customer
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import Event
from tenants.services import api_key_create
from tests.api.helpers import client_for, error
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)
TZ = "America/Sao_Paulo"
URL = "/api/v1/pix_mandates"


@dataclass
class Shop:
    w: World
    key: str
    sub: Subscription

    @property
    def api(self):  # type: ignore[no-untyped-def]
        return client_for(self.key)

    def mandates(self) -> list[tuple[str, str]]:
        with tenant_context(self.w.tenant):
            return list(
                PixMandate.objects.filter(tenant=self.w.tenant)
                .order_by("id")
                .values_list("public_id", "status")
            )

    def events(self) -> list[str]:
        with tenant_context(self.w.tenant):
            return list(
                Event.objects.filter(tenant=self.w.tenant, type__startswith="pix_")
                .order_by("id")
                .values_list("type", flat=True)
            )


def _customer(w: World, name: str = "Ana") -> Customer:
    customer = w.customer(name)
    customer.tax_id = "529.982.247-25"
    customer.save()
    return customer


def _shop(w: World, *, trial_days: int = 0, mode: str = "test") -> Shop:
    key = api_key_create(tenant=w.tenant, name="k", actor=ACTOR, now=NOW, mode=mode)
    plan = w.plan("pix", amount=4_990, trial_days=trial_days)
    # No payment method: the first invoice waits, open, for journey 3's QR code.
    return Shop(w=w, key=key.raw, sub=w.subscribe(plan, _customer(w)))


def _create(shop: Shop, **body: Any) -> Any:
    return shop.api.post(
        URL, {"subscription": shop.sub.public_id, "max_amount_minor": 5_990, **body}, format="json"
    )


def _created(shop: Shop, **body: Any) -> dict[str, Any]:
    response = _create(shop, **body)
    assert response.status_code == 201, response.json()
    return response.json()


def test_journey_3_by_default_returns_the_br_code_and_qr_and_authorising_pays_the_first() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        [first] = w.invoices(shop.sub)

        made = _created(shop, retry_policy="3r_7d", end_date="2027-05-31")
        code = parse_recurrence_br_code(made["br_code"])
        png = base64.b64decode(made["qr_code_png"].removeprefix("data:image/png;base64,"))

        assert made["object"] == "pix_mandate"
        assert made["id"].startswith("pxm_")
        assert (made["status"], made["journey"], made["periodicity"]) == (
            "pending",
            "3",
            "monthly",
        )
        assert (made["max_amount_minor"], made["fixed_amount_minor"]) == (5_990, None)
        assert (made["first_invoice"], made["first_amount_minor"]) == (first.public_id, 4_990)
        assert (made["start_date"], made["end_date"]) == ("2026-06-01", "2027-05-31")
        assert made["payer_tax_id"] == "52998224725"
        assert made["subscription"] == shop.sub.public_id
        assert (code.journey, code.amount_minor) == ("3", 4_990)
        assert code.rec_url.endswith(f"/rec/{made['recurrence_id']}")
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert made["instructions"] == []

        authorised = shop.api.post(f"{URL}/{made['id']}/simulate_authorisation", format="json")

        assert authorised.status_code == 200, authorised.json()
        body = authorised.json()
        assert body["status"] == "active"
        assert body["payer_psp_name"] == "BANCO SANDBOX"
        assert body["payment_method"].startswith("pm_")
        assert body["qr_code_png"] is None
        first.refresh_from_db()
        assert first.status == "paid"
        assert shop.events() == ["pix_mandate.created", "pix_mandate.activated"]
        assert shop.api.get(f"{URL}/{made['id']}").json()["status"] == "active"


def test_list_filters_by_subscription_and_status() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        made = _created(shop)
        other_sub = w.subscribe(w.plan("other", amount=4_990), _customer(w, "Bia"))

        def ids(**params: str) -> list[str]:
            response = shop.api.get(URL, params)
            assert response.status_code == 200, response.json()
            return [row["id"] for row in response.json()["data"]]

        assert ids() == [made["id"]]
        assert ids(subscription=shop.sub.public_id) == [made["id"]]
        assert ids(subscription=other_sub.public_id) == []
        assert ids(status="pending") == [made["id"]]
        assert ids(status="active") == []
        assert shop.api.get(URL, {"status": "lost"}).status_code == 400


def test_a_trial_defaults_to_journey_2_authorise_only() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w, trial_days=14)

        made = _created(shop, max_amount_minor=4_990)

        assert (made["journey"], made["first_invoice"], made["first_amount_minor"]) == (
            "2",
            None,
            None,
        )
        assert parse_recurrence_br_code(made["br_code"]).amount_minor is None
        assert error(_create(shop, journey="3"))["code"] in ("nothing_due", "mandate_pending")


@pytest.mark.parametrize(
    ("_case", "body", "status", "param", "code"),
    [
        (
            "max below price",
            {"max_amount_minor": 4_989},
            400,
            "max_amount_minor",
            "max_below_price",
        ),
        ("negative", {"max_amount_minor": -100}, 400, "max_amount_minor", "invalid_amount"),
        ("zero", {"max_amount_minor": 0}, 400, "max_amount_minor", "invalid_amount"),
        ("huge", {"max_amount_minor": 10**13}, 400, "max_amount_minor", "invalid_amount"),
        ("absurd", {"max_amount_minor": 10**40}, 400, "max_amount_minor", "invalid_amount"),
        ("string amount", {"max_amount_minor": "5990"}, 400, "max_amount_minor", "invalid_type"),
        ("float amount", {"max_amount_minor": 59.9}, 400, "max_amount_minor", "invalid_type"),
        ("bool amount", {"max_amount_minor": True}, 400, "max_amount_minor", "invalid_type"),
        ("no amount", {"max_amount_minor": None}, 400, "max_amount_minor", "invalid_amount"),
        (
            "both amounts",
            {"fixed_amount_minor": 4_990},
            400,
            "max_amount_minor",
            "invalid_amount",
        ),
        (
            "fixed below price",
            {"max_amount_minor": None, "fixed_amount_minor": 4_000},
            400,
            "fixed_amount_minor",
            "fixed_amount_mismatch",
        ),
        ("no subscription", {"subscription": None}, 400, "subscription", "null"),
        ("unknown subscription", {"subscription": "sub_nope"}, 404, "subscription", None),
        ("numeric subscription", {"subscription": 12}, 400, "subscription", "invalid_type"),
        ("bad journey", {"journey": "1"}, 400, "journey", "invalid_choice"),
        ("journey as number", {"journey": 3}, 400, "journey", "invalid_type"),
        ("other periodicity", {"periodicity": "annual"}, 400, "periodicity", None),
        ("bad periodicity", {"periodicity": "fortnightly"}, 400, "periodicity", "invalid_choice"),
        ("bad retry policy", {"retry_policy": "always"}, 400, "retry_policy", "invalid_choice"),
        ("bad date", {"start_date": "01/06/2026"}, 400, "start_date", "invalid_date"),
        ("past start", {"start_date": "2026-05-01"}, 400, "start_date", None),
        ("end before start", {"end_date": "2026-06-01"}, 400, "end_date", None),
        ("bad tax id", {"payer_tax_id": "111.111.111-11"}, 400, "payer_tax_id", "invalid_tax_id"),
        ("bad ispb", {"payer_psp_ispb": "12ab"}, 400, "payer_psp_ispb", "invalid_ispb"),
        ("unknown field", {"amount": 4_990}, 400, "amount", "unknown_parameter"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    _case: str, body: dict[str, Any], status: int, param: str, code: str | None
) -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        payload = {"subscription": shop.sub.public_id, "max_amount_minor": 5_990, **body}
        payload = {k: v for k, v in payload.items() if v is not None or k == "subscription"}

        response = shop.api.post(URL, payload, format="json")

        assert response.status_code == status, response.json()
        problem = error(response)
        assert problem["param"] == param
        if code is not None:
            assert problem["code"] == code
        assert problem["message"]
        assert shop.mandates() == []
        assert shop.events() == []


def test_a_canceled_subscription_gets_no_mandate() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        subscription_cancel(tenant=w.tenant, subscription_id=shop.sub.pk, actor=ACTOR, now=w.now)

        response = _create(shop, journey="2")

        assert response.status_code == 409
        assert error(response)["code"] == "subscription_ended"
        assert shop.mandates() == []


def test_a_second_pending_mandate_is_refused_and_the_merchant_may_cancel() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        made = _created(shop)

        again = _create(shop)
        cancelled = shop.api.post(f"{URL}/{made['id']}/cancel", {"reason": "Wrong amount"})
        twice = shop.api.post(f"{URL}/{made['id']}/cancel", format="json")
        after = shop.api.post(f"{URL}/{made['id']}/simulate_authorisation", format="json")

        assert (again.status_code, error(again)["code"]) == (409, "mandate_pending")
        assert cancelled.status_code == 200, cancelled.json()
        assert (cancelled.json()["status"], cancelled.json()["reason"]) == (
            "cancelled_by_merchant",
            "Wrong amount",
        )
        assert twice.json()["status"] == "cancelled_by_merchant"
        assert (after.status_code, error(after)["code"]) == (409, "mandate_not_pending")
        assert shop.mandates() == [(made["id"], "cancelled_by_merchant")]
        assert shop.events() == ["pix_mandate.created", "pix_mandate.cancelled"]


def test_the_payer_refusing_journey_2_rejects_it_and_a_new_one_may_be_asked() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w, trial_days=14)
        made = _created(shop)

        refused = shop.api.post(
            f"{URL}/{made['id']}/simulate_authorisation", {"approve": False}, format="json"
        )
        again = _create(shop)

        assert refused.status_code == 200, refused.json()
        assert (refused.json()["status"], refused.json()["reason"]) == ("rejected", "")
        assert again.status_code == 201, again.json()
        assert shop.mandates() == [(made["id"], "rejected"), (again.json()["id"], "pending")]
        assert shop.events() == [
            "pix_mandate.created",
            "pix_mandate.rejected",
            "pix_mandate.created",
        ]


def test_a_psp_that_does_not_answer_is_a_503_and_leaves_no_mandate_pending() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)

        # The sandbox PSP does not answer for this payer (UNREACHABLE_PAYER_TAX_ID).
        down = _create(shop, payer_tax_id="503.503.503-45")
        with tenant_context(w.tenant):
            [failed] = PixMandate.objects.filter(tenant=w.tenant)
        retried = _created(shop)

        assert (down.status_code, error(down)["code"]) == (503, "gateway_unavailable")
        assert (failed.status, failed.reason, failed.ended_at) == (
            "rejected",
            "The PSP did not answer.",
            NOW,
        )
        assert (failed.recurrence_id, failed.payload) == ("", "")
        # Nothing blocks the next attempt, which gets its code.
        assert shop.mandates() == [(failed.public_id, "rejected"), (retried["id"], "pending")]
        assert retried["br_code"]
        assert shop.events() == ["pix_mandate.rejected", "pix_mandate.created"]


def test_the_same_idempotency_key_makes_one_mandate() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        body = {"subscription": shop.sub.public_id, "max_amount_minor": 5_990}

        one = shop.api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="pxm-1")
        two = shop.api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="pxm-1")

        assert one.status_code == two.status_code == 201
        assert one.json()["id"] == two.json()["id"]
        assert two["Idempotent-Replayed"] == "true"
        assert len(shop.mandates()) == 1


def test_simulations_need_a_test_key_and_change_nothing_with_a_live_one() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w, mode="live")
        made = _created(shop)

        for what in ("simulate_authorisation", "simulate_payer_cancellation"):
            response = shop.api.post(f"{URL}/{made['id']}/{what}", format="json")
            assert response.status_code == 403
            assert error(response)["code"] == "test_mode_only"
        assert shop.mandates() == [(made["id"], "pending")]
        assert shop.events() == ["pix_mandate.created"]


def test_simulate_a_failed_debit_its_evening_retry_and_the_payers_cancellation() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        made = _created(shop)
        shop.api.post(f"{URL}/{made['id']}/simulate_authorisation", format="json")
        w.advance(utc(2026, 7, 1, 16))  # instructed in July's window, debited on the 1st

        detail = shop.api.get(f"{URL}/{made['id']}").json()
        [instruction] = detail["instructions"]
        url = f"{URL}/{made['id']}"
        morning = shop.api.post(f"{url}/simulate_failure", {"instruction": instruction["id"]})
        evening = shop.api.post(f"{url}/simulate_failure", {"instruction": instruction["id"]})
        nothing = shop.api.post(f"{url}/simulate_payment", {"instruction": instruction["id"]})
        cancelled = shop.api.post(f"{url}/simulate_payer_cancellation", format="json")
        twice = shop.api.post(f"{url}/simulate_payer_cancellation", format="json")

        with tenant_context(w.tenant):
            july = Invoice.objects.get(
                subscription=shop.sub,
                billing_reason="subscription_cycle",
                period_start__date=date(2026, 7, 1),
            )
            attempt = PaymentAttempt.objects.get(invoice=july)
        assert (instruction["due_date"], instruction["amount_minor"]) == ("2026-07-01", 4_990)
        assert morning.status_code == evening.status_code == 200
        assert (attempt.status, attempt.failure_code) == ("failed", "insufficient_funds")
        assert july.status == "open"
        assert (nothing.status_code, error(nothing)["code"]) == (409, "nothing_to_simulate")
        assert cancelled.json()["status"] == "cancelled_by_payer"
        assert (twice.status_code, error(twice)["code"]) == (409, "mandate_not_active")
        assert shop.events()[-1] == "pix_mandate.cancelled"


def test_simulate_the_due_dates_debit_paid() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        made = _created(shop)
        shop.api.post(f"{URL}/{made['id']}/simulate_authorisation", format="json")
        w.advance(utc(2026, 7, 1, 16))
        with tenant_context(w.tenant):
            instruction = PixInstruction.objects.get(mandate__public_id=made["id"])

        paid = shop.api.post(
            f"{URL}/{made['id']}/simulate_payment", {"instruction": instruction.public_id}
        )

        assert paid.status_code == 200, paid.json()
        with tenant_context(w.tenant):
            statuses = sorted(
                Invoice.objects.filter(subscription=shop.sub).values_list("status", flat=True)
            )
        assert statuses == ["paid", "paid"]


def test_another_tenants_ids_are_not_found_and_nothing_changes() -> None:
    with world(NOW, time_zone=TZ) as w:
        acme = _shop(w)
        made = _created(acme)
        acme.api.post(f"{URL}/{made['id']}/simulate_authorisation", format="json")
        w.advance(utc(2026, 7, 1, 16))
        with tenant_context(w.tenant):
            instruction = PixInstruction.objects.get(mandate__public_id=made["id"]).public_id
    with world(NOW, slug="globex", time_zone=TZ) as other:
        globex = _shop(other)
        own = _created(globex)
        api = globex.api

        responses = [
            api.get(f"{URL}/{made['id']}"),
            api.post(f"{URL}/{made['id']}/cancel", format="json"),
            api.post(f"{URL}/{made['id']}/simulate_authorisation", format="json"),
            api.post(f"{URL}/{made['id']}/simulate_payer_cancellation", format="json"),
            api.post(f"{URL}/{made['id']}/simulate_payment", {"instruction": instruction}),
            api.post(URL, {"subscription": acme.sub.public_id, "max_amount_minor": 5_990}),
            # Its own mandate, another tenant's instruction.
            api.post(f"{URL}/{own['id']}/simulate_payment", {"instruction": instruction}),
        ]

        assert [r.status_code for r in responses] == [404] * 7
        assert [error(r)["param"] for r in responses[-2:]] == ["subscription", "instruction"]
        assert [row["id"] for row in api.get(URL).json()["data"]] == [own["id"]]
        assert api.get(URL, {"subscription": acme.sub.public_id}).json()["data"] == []
    assert acme.mandates() == [(made["id"], "active")]


def test_a_new_mandate_for_a_subscription_with_a_live_one_replaces_it_once_authorised() -> None:
    with world(NOW, time_zone=TZ) as w:
        shop = _shop(w)
        first = _created(shop)
        shop.api.post(f"{URL}/{first['id']}/simulate_authorisation", format="json")

        second = _created(shop, max_amount_minor=6_990)  # nothing open now: journey 2
        authorised = shop.api.post(f"{URL}/{second['id']}/simulate_authorisation", format="json")

        assert (second["journey"], second["replaces"]) == ("2", first["id"])
        assert authorised.json()["status"] == "active"
        assert shop.mandates() == [
            (first["id"], "cancelled_by_merchant"),
            (second["id"], "active"),
        ]
