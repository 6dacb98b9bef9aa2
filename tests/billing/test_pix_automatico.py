"""Pix Automático end to end on a test clock: journey 3, three monthly charges
each instructed D-10 to D-2, a failed debit recovered by the payer's PSP's
evening retry, the payer's cancellation stopping billing, a readjustment above
the mandate's maximum asking for a new authorisation; bad input; replays."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from billing.domain.pix_automatico import parse_recurrence_br_code
from billing.gateways.pix_automatico import UNREACHABLE_PAYER_TAX_ID, SandboxPixAutomaticoPsp
from billing.models import Invoice, PaymentAttempt, PixInstruction, PixMandate
from billing.pix_automatico import pix_mandate_create, pix_mandate_reauthorise
from core.errors import NotFound, ValidationFailed
from core.localtime import local_date
from customers.models import Customer, PaymentMethod
from dunning.models import DunningPolicy
from subscriptions import services as subs
from subscriptions.models import Subscription
from tenants.context import tenant_context
from tenants.models import Event
from tests.support.billing import ACTOR, World, utc, world

pytestmark = pytest.mark.django_db(transaction=True)
NOW = utc(2026, 6, 1, 15)  # 12:00 in São Paulo
TZ = "America/Sao_Paulo"
PSP = SandboxPixAutomaticoPsp()


def _deliver(body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    http = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post(
        "/webhooks/sandbox_pixauto/", body, content_type="application/json", **http
    )


def _customer(w: World) -> Customer:
    customer = w.customer()
    customer.tax_id = "529.982.247-25"
    customer.save()
    return customer


def _subscribed(w: World, amount: int = 4_990) -> Subscription:
    # No payment method yet: the first invoice waits, open, for journey 3's QR code.
    return w.subscribe(w.plan("pix", amount=amount), _customer(w))


def _mandate(w: World, sub: Subscription, **kw: object) -> PixMandate:
    args: dict[str, object] = {
        "journey": "3",
        "periodicity": "monthly",
        "max_amount_minor": 5_990,
        "retry_policy": "3r_7d",
        **kw,
    }
    return pix_mandate_create(
        tenant=w.tenant, subscription_id=sub.pk, actor=ACTOR, now=w.now, **args
    )  # type: ignore[arg-type]


def _authorised(w: World, sub: Subscription, **kw: object) -> PixMandate:
    mandate = _mandate(w, sub, **kw)
    assert (
        _deliver(*PSP.simulate_authorisation(recurrence_id=mandate.recurrence_id)).status_code
        == 200
    )
    mandate.refresh_from_db()
    return mandate


def _cycle_attempt(sub: Subscription, due: date) -> PaymentAttempt:
    invoice = Invoice.objects.get(
        subscription=sub, billing_reason="subscription_cycle", period_start__date=due
    )
    return PaymentAttempt.objects.get(invoice=invoice)


def _instruction_ref(attempt: PaymentAttempt) -> str:
    return PSP.instruction_ref_for(idempotency_key=attempt.idempotency_key)


def test_journey_3_three_monthly_charges_an_evening_retry_and_the_payers_cancellation() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w)
        [first] = w.invoices(sub)
        mandate = _mandate(w, sub)
        code = parse_recurrence_br_code(mandate.payload)

        replay = PSP.simulate_authorisation(recurrence_id=mandate.recurrence_id)
        answers = [_deliver(*replay).json()["outcome"], _deliver(*replay).json()["outcome"]]

        mandate.refresh_from_db()
        first.refresh_from_db()
        method = PaymentMethod.objects.get(pk=mandate.payment_method_id)
        assert (code.journey, code.amount_minor) == ("3", 4_990)
        assert code.rec_url.endswith(f"/rec/{mandate.recurrence_id}")
        assert answers[1] == "duplicate"
        assert mandate.status == "active"
        assert (method.kind, method.gateway, method.token) == (
            "pix_automatico",
            "sandbox_pixauto",
            mandate.recurrence_id,
        )
        assert w.refresh(sub).payment_method_id == method.pk
        assert first.status == "paid"
        assert PaymentAttempt.objects.get(invoice=first).amount_minor == 4_990

        # Cycle 1 (due 1 July): sent in the window, paid on the due date.
        w.advance(utc(2026, 7, 1, 16))
        ins1 = PixInstruction.objects.get(mandate=mandate, due_date=date(2026, 7, 1))
        attempt1 = _cycle_attempt(sub, date(2026, 7, 1))
        assert attempt1.status == "pending"
        assert (
            _deliver(*PSP.simulate_payment(instruction_ref=_instruction_ref(attempt1))).status_code
            == 200
        )

        # Cycle 2 (due 1 August): the morning debit fails, the evening retry pays.
        w.advance(utc(2026, 8, 1, 16))
        ins2 = PixInstruction.objects.get(mandate=mandate, due_date=date(2026, 8, 1))
        attempt2 = _cycle_attempt(sub, date(2026, 8, 1))
        ref2 = _instruction_ref(attempt2)
        morning = _deliver(*PSP.simulate_failure(instruction_ref=ref2)).json()["outcome"]
        attempt2.refresh_from_db()
        still_open = Invoice.objects.get(pk=attempt2.invoice_id).status
        _deliver(*PSP.simulate_payment(instruction_ref=ref2))

        # Cycle 3 (due 1 September).
        w.advance(utc(2026, 9, 1, 16))
        ins3 = PixInstruction.objects.get(mandate=mandate, due_date=date(2026, 9, 1))
        attempt3 = _cycle_attempt(sub, date(2026, 9, 1))
        _deliver(*PSP.simulate_payment(instruction_ref=_instruction_ref(attempt3)))

        for ins in (ins1, ins2, ins3):
            sent_on = local_date(ins.sent_at, TZ)
            assert 2 <= (ins.due_date - sent_on).days <= 10
            assert ins.amount_minor == 4_990
        assert morning == "the payer's PSP retries this evening"
        assert (attempt2.status, still_open) == ("pending", "open")
        assert [
            (a.status, a.amount_minor)
            for a in PaymentAttempt.objects.filter(
                pk__in=[attempt1.pk, attempt2.pk, attempt3.pk]
            ).order_by("pk")
        ] == [("succeeded", 4_990)] * 3
        assert all(
            Invoice.objects.get(pk=a.invoice_id).status == "paid"
            for a in (attempt1, attempt2, attempt3)
        )

        # The payer cancels in their bank's app: billing stops, the merchant is told.
        cancel = PSP.simulate_payer_cancellation(recurrence_id=mandate.recurrence_id)
        _deliver(*cancel)
        _deliver(*cancel)
        w.advance(utc(2026, 10, 1, 16))

        mandate.refresh_from_db()
        method.refresh_from_db()
        assert mandate.status == "cancelled_by_payer"
        assert method.detached_at is not None
        assert w.refresh(sub).payment_method_id is None
        assert not PixInstruction.objects.filter(
            mandate=mandate, due_date=date(2026, 10, 1)
        ).exists()
        assert PaymentAttempt.objects.filter(gateway="sandbox_pixauto").count() == 4
        [event] = Event.objects.filter(tenant=w.tenant, type="pix_mandate.cancelled")
        assert event.data["pix_mandate"] == mandate.public_id
        assert event.data["status"] == "cancelled_by_payer"


def test_a_readjustment_above_the_maximum_asks_for_a_new_authorisation_instead_of_charging() -> (
    None
):
    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w, amount=5_000)
        mandate = _authorised(w, sub, max_amount_minor=5_200)
        subs.readjustment_policy_set(
            tenant=w.tenant,
            plan_code="pix",
            method="fixed",
            series_id=None,
            fixed_percent=Decimal("10"),
            period="anniversary",
            month=None,
            floor_percent=None,
            cap_percent=None,
            notice_days=30,
            automatic=True,
            actor=ACTOR,
            now=w.now,
        )

        # A year of cycles at R$ 50,00 (left pending: no debit simulated); the
        # contract's anniversary (1 June 2027) readjusts it by 10 % to R$ 55,00,
        # above the R$ 52,00 the payer allowed.
        w.advance(utc(2027, 6, 1, 16))

        renewed = Invoice.objects.get(
            subscription=sub,
            billing_reason="subscription_cycle",
            period_start__date=date(2027, 6, 1),
        )
        new = PixMandate.objects.get(subscription=sub, status="pending")
        [asked] = Event.objects.filter(tenant=w.tenant, type="pix_mandate.reauthorization_required")
        instructed = PixInstruction.objects.filter(mandate=mandate).order_by("due_date")
        assert [(i.due_date.month, i.amount_minor) for i in instructed] == [
            (m, 5_000) for m in (7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)
        ]
        assert not PixInstruction.objects.filter(due_date=date(2027, 6, 1)).exists()
        assert not PaymentAttempt.objects.filter(invoice=renewed).exclude(status="failed").exists()
        assert renewed.total_minor == 5_500
        assert not PaymentAttempt.objects.filter(invoice=renewed, status="succeeded").exists()
        assert (new.max_amount_minor, new.journey, new.replaces_id) == (5_500, "2", mandate.pk)
        assert parse_recurrence_br_code(new.payload).journey == "2"
        assert asked.data["amount"] == 5_500
        assert asked.data["authorised_amount"] == 5_200

        # The payer authorises the new amount: it replaces the old mandate.
        _deliver(*PSP.simulate_authorisation(recurrence_id=new.recurrence_id))
        new.refresh_from_db()
        mandate.refresh_from_db()
        assert (new.status, mandate.status) == ("active", "cancelled_by_merchant")
        assert w.refresh(sub).payment_method_id == new.payment_method_id


@pytest.mark.parametrize(
    ("applies_to", "cycle", "instructed", "asked", "new_maximums"),
    [
        # R$ 50,00 + 10 % = R$ 55,00 and the R$ 10,00 add-on: R$ 65,00, under
        # R$ 65,50: instructed under the mandate.
        ("recurring", 6_500, [(True, 6_500)], [], []),
        # With add-ons, R$ 55,00 + R$ 11,00 = R$ 66,00: above what the payer
        # allowed, so nothing is instructed and a new authorisation is asked for.
        ("recurring_and_add_ons", 6_600, [], [(6_600, 6_550)], [6_600]),
    ],
)
def test_the_mandate_maximum_is_checked_against_the_new_total_with_add_ons(
    applies_to: str,
    cycle: int,
    instructed: list[tuple[bool, int]],
    asked: list[tuple[int, int]],
    new_maximums: list[int],
) -> None:
    with world(NOW, time_zone=TZ) as w:
        extra = w.plan("extra", amount=1_000)
        sub = w.subscribe(w.plan("pix", amount=5_000), _customer(w), items=[(extra, 1)])
        mandate = _authorised(w, sub, max_amount_minor=6_550)
        subs.readjustment_policy_set(
            tenant=w.tenant,
            plan_code="pix",
            method="fixed",
            series_id=None,
            fixed_percent=Decimal("10"),
            period="anniversary",
            month=None,
            floor_percent=None,
            cap_percent=None,
            notice_days=30,
            automatic=True,
            actor=ACTOR,
            now=w.now,
            applies_to=applies_to,
        )

        w.advance(utc(2027, 6, 1, 16))

        renewed = Invoice.objects.get(
            subscription=sub,
            billing_reason="subscription_cycle",
            period_start__date=date(2027, 6, 1),
        )
        june = [
            (i.mandate_id == mandate.pk, i.amount_minor)
            for i in PixInstruction.objects.filter(due_date=date(2027, 6, 1))
        ]
        may = PixInstruction.objects.get(mandate=mandate, due_date=date(2027, 5, 1))
        events = Event.objects.filter(tenant=w.tenant, type="pix_mandate.reauthorization_required")
        pending = PixMandate.objects.filter(subscription=sub, status="pending")

        assert may.amount_minor == 6_000  # a year at R$ 50,00 + R$ 10,00
        assert renewed.total_minor == cycle
        assert june == instructed
        assert [(e.data["amount"], e.data["authorised_amount"]) for e in events] == asked
        assert [m.max_amount_minor for m in pending] == new_maximums


@pytest.mark.parametrize(
    ("_case", "kw", "param", "code"),
    [
        ("max below price", {"max_amount_minor": 4_989}, "max_amount", "max_below_price"),
        ("negative", {"max_amount_minor": -100}, "max_amount", "invalid_amount"),
        ("absurd", {"max_amount_minor": 10**13}, "max_amount", "invalid_amount"),
        ("float", {"max_amount_minor": 49.9}, "max_amount", "invalid_amount"),
        ("both amounts", {"fixed_amount_minor": 4_990}, "max_amount", "invalid_amount"),
        (
            "fixed not price",
            {"max_amount_minor": None, "fixed_amount_minor": 5_000},
            "fixed_amount",
            "fixed_amount_mismatch",
        ),
        (
            "unknown periodicity",
            {"periodicity": "fortnightly"},
            "periodicity",
            "invalid_periodicity",
        ),
        ("other periodicity", {"periodicity": "annual"}, "periodicity", "periodicity_mismatch"),
        ("bad journey", {"journey": "1"}, "journey", "invalid_journey"),
        ("bad tax id", {"payer_tax_id": "111.111.111-11"}, "payer_tax_id", "invalid_tax_id"),
        ("bad ispb", {"payer_psp_ispb": "12ab"}, "payer_psp_ispb", "invalid_ispb"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(
    _case: str, kw: dict[str, object], param: str, code: str
) -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w)
        with pytest.raises(ValidationFailed) as caught:
            _mandate(w, sub, **kw)
        assert (caught.value.param, caught.value.code) == (param, code)
        assert not PixMandate.objects.exists()
        assert not Event.objects.filter(type__startswith="pix_mandate.").exists()


def test_another_tenants_subscription_is_not_found() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w)
    with world(NOW, slug="globex", time_zone=TZ) as other:
        with pytest.raises(NotFound) as caught:
            pix_mandate_create(
                tenant=other.tenant,
                subscription_id=sub.pk,
                journey="2",
                periodicity="monthly",
                max_amount_minor=5_990,
                actor=ACTOR,
                now=other.now,
            )
        assert caught.value.param == "subscription"
        assert not PixMandate.objects.exists()
    with tenant_context(w.tenant):
        assert not PixMandate.objects.exists()


def test_a_reauthorisation_the_psp_does_not_answer_is_asked_again_next_time() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w, amount=5_000)
        mandate = _authorised(w, sub, max_amount_minor=5_200)

        # The payer's PSP goes quiet (the sandbox's unreachable payer), then answers again.
        PixMandate.objects.filter(pk=mandate.pk).update(payer_tax_id=UNREACHABLE_PAYER_TAX_ID)
        mandate.refresh_from_db()
        unanswered = pix_mandate_reauthorise(
            tenant=w.tenant, mandate=mandate, amount_minor=5_500, now=w.now
        )
        [rejected] = PixMandate.objects.filter(replaces=mandate)
        PixMandate.objects.filter(pk=mandate.pk).update(payer_tax_id="52998224725")
        mandate.refresh_from_db()
        asked = pix_mandate_reauthorise(
            tenant=w.tenant, mandate=mandate, amount_minor=5_500, now=w.now
        )

        assert unanswered is None
        assert (rejected.status, rejected.reason, rejected.payload) == (
            "rejected",
            "The PSP did not answer.",
            "",
        )
        assert asked is not None
        assert (asked.status, asked.max_amount_minor, asked.replaces_id) == (
            "pending",
            5_500,
            mandate.pk,
        )
        assert asked.payload
        mandate.refresh_from_db()
        assert mandate.status == "active"  # charged under it until the new one is authorised
        assert [
            e.type
            for e in Event.objects.filter(type__startswith="pix_mandate.").order_by("id")
            if e.type != "pix_mandate.activated"
        ][-3:] == [
            "pix_mandate.rejected",
            "pix_mandate.created",
            "pix_mandate.reauthorization_required",
        ]


def test_journey_2_authorises_only_and_the_first_cycle_is_instructed() -> None:
    with world(NOW, time_zone=TZ) as w:
        plan = w.plan("trial", amount=4_990, trial_days=14)
        sub = w.subscribe(plan, _customer(w))
        mandate = _authorised(w, sub, journey="2", max_amount_minor=4_990)

        w.advance(utc(2026, 6, 15, 16))

        attempt = PaymentAttempt.objects.get(invoice__subscription=sub)
        [ins] = PixInstruction.objects.filter(mandate=mandate)
        assert parse_recurrence_br_code(mandate.payload).amount_minor is None
        assert ins.due_date == date(2026, 6, 15)
        assert 2 <= (ins.due_date - local_date(ins.sent_at, TZ)).days <= 10
        assert (attempt.status, attempt.amount_minor) == ("pending", 4_990)


def test_a_failed_debit_opens_the_pix_automatico_regua_and_the_merchant_may_retry() -> None:
    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w)
        mandate = _authorised(w, sub)
        w.advance(utc(2026, 7, 1, 16))
        attempt = _cycle_attempt(sub, date(2026, 7, 1))
        ref = _instruction_ref(attempt)
        # The PSP reports on the due date itself (webhooks are read at the wall
        # clock's time, so the wall clock is put on the due date's evening).
        with time_machine.travel(utc(2026, 7, 1, 23), tick=False):
            _deliver(*PSP.simulate_failure(instruction_ref=ref))  # morning
            _deliver(*PSP.simulate_failure(instruction_ref=ref))  # evening

        attempt.refresh_from_db()
        policy = DunningPolicy.objects.get(payment_method_kind="pix_automatico")
        assert (attempt.status, attempt.failure_code) == ("failed", "insufficient_funds")
        assert [(s.offset_days, s.action) for s in policy.live_steps()] == [
            (0, "remind"),
            (1, "retry"),
            (3, "retry"),
            (6, "retry"),
            (10, "suspend"),
            (30, "cancel"),
        ]

        w.advance(utc(2026, 7, 2, 16))  # D+1: the régua orders the first retry
        retry = (
            PaymentAttempt.objects.filter(invoice_id=attempt.invoice_id).order_by("-number").first()
        )
        assert retry is not None
        assert retry.number == 2
        assert retry.status == "pending"
        _deliver(*PSP.simulate_payment(instruction_ref=_instruction_ref(retry)))
        retry.refresh_from_db()
        assert retry.status == "succeeded"
        assert Invoice.objects.get(pk=attempt.invoice_id).status == "paid"
        assert mandate.retry_policy == "3r_7d"


def test_a_mandate_past_its_end_date_expires_and_billing_falls_back_to_the_regua() -> None:
    from dunning.models import DunningCase

    with world(NOW, time_zone=TZ) as w:
        sub = _subscribed(w)
        mandate = _authorised(w, sub, end_date="2026-07-31")
        method = PaymentMethod.objects.get(pk=mandate.payment_method_id)

        # The last day it covers: still active, July's debit was instructed.
        w.advance(utc(2026, 8, 1, 2))  # 23:00 on 31 July in São Paulo
        mandate.refresh_from_db()
        on_the_last_day = mandate.status
        w.advance(utc(2026, 8, 1, 4))  # 01:00 on 1 August
        mandate.refresh_from_db()
        method.refresh_from_db()
        expired_events = list(Event.objects.filter(tenant=w.tenant, type="pix_mandate.expired"))

        # August's cycle finds nothing to charge: the pix_automatico régua takes it.
        w.advance(utc(2026, 8, 1, 16))
        august = Invoice.objects.get(
            subscription=sub,
            billing_reason="subscription_cycle",
            period_start__date=date(2026, 8, 1),
        )
        case = DunningCase.objects.get(invoice=august)

        assert on_the_last_day == "active"
        assert (mandate.status, mandate.reason) == (
            "expired",
            "The authorisation's end date has passed.",
        )
        assert method.detached_at is not None
        assert w.refresh(sub).payment_method_id is None
        assert [e.data["pix_mandate"] for e in expired_events] == [mandate.public_id]
        assert [i.due_date for i in PixInstruction.objects.filter(mandate=mandate)] == [
            date(2026, 7, 1)
        ]
        assert august.status == "open"
        assert not PaymentAttempt.objects.filter(invoice=august).exists()
        assert (case.payment_method_kind, case.status) == ("pix_automatico", "open")

        # Its steps run; with no method the retries charge nothing, D+30 cancels.
        w.advance(utc(2026, 9, 1, 16))
        assert list(case.runs.order_by("position").values_list("action", "outcome")) == [
            ("remind", "sent"),
            ("retry", "no_payment_method"),
            ("retry", "no_payment_method"),
            ("retry", "no_payment_method"),
            ("suspend", "suspended"),
            ("cancel", "canceled"),
        ]
        assert w.refresh(sub).status == "canceled"


def test_expiry_with_an_explicit_now_is_idempotent_and_leaves_undated_mandates() -> None:
    from billing.pix_automatico import pix_mandates_expire

    with world(NOW, time_zone=TZ) as w:
        plan = w.plan("pix", amount=4_990)
        dated = _authorised(w, w.subscribe(plan, _customer(w)), end_date="2026-06-30")
        undated = _authorised(w, w.subscribe(plan, _customer(w)))

        before = pix_mandates_expire(tenant=w.tenant, now=utc(2026, 7, 1, 2), clock=w.clock)
        first = pix_mandates_expire(tenant=w.tenant, now=utc(2026, 7, 1, 4), clock=w.clock)
        again = pix_mandates_expire(tenant=w.tenant, now=utc(2026, 7, 2, 4), clock=w.clock)
        live = pix_mandates_expire(tenant=w.tenant, now=utc(2026, 7, 2, 4))  # no clock

        dated.refresh_from_db()
        undated.refresh_from_db()
        assert (before, [m.pk for m in first], again, live) == ([], [dated.pk], [], [])
        assert (dated.status, undated.status) == ("expired", "active")
        assert Event.objects.filter(type="pix_mandate.expired").count() == 1


def test_the_hourly_beat_task_expires_live_mandates() -> None:
    from django.conf import settings

    from billing.tasks import pix_instructions_send_task

    with world(NOW, time_zone=TZ) as w:
        customer = Customer.objects.create(
            tenant=w.tenant, name="Live", tax_id="529.982.247-25", test_clock=None
        )
        sub = w.subscribe(w.plan("pix", amount=4_990), customer)
        mandate = _authorised(w, sub, end_date="2026-06-30")

        with time_machine.travel(utc(2026, 7, 1, 2), tick=False):
            pix_instructions_send_task()
        mandate.refresh_from_db()
        on_the_last_day = mandate.status
        with time_machine.travel(utc(2026, 7, 1, 4), tick=False):
            pix_instructions_send_task()
        mandate.refresh_from_db()

        entry = settings.CELERY_BEAT_SCHEDULE["pix-automatico-instructions"]
        assert (entry["task"], entry["schedule"]) == ("billing.pix_instructions_send", 3600.0)
        assert (on_the_last_day, mandate.status) == ("active", "expired")
