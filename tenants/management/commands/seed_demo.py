import logging
import random
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from celery import current_app
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from billing.clocks import clock_advance, clock_create
from billing.coupons import coupon_create
from billing.gateways.sandbox import SandboxBoletoGateway, SandboxGateway, SandboxPixGateway
from billing.models import Installment, PaymentAttempt, SandboxCharge
from billing.payments import (
    invoice_charge,
    payment_method_attach,
    payment_method_attach_offline,
    webhook_receive,
)
from billing.subscriptions import subscription_cancel, subscription_change, subscription_create
from billing.taxes import tax_rate_create
from core import clock
from core.actors import Actor
from core.errors import DomainError, NotFound, StateConflict
from core.localtime import add_months
from customers.models import Customer, PaymentMethod, TestClock
from customers.services import customer_create
from subscriptions.models import Plan, Subscription
from subscriptions.services.catalog import plan_create, product_create
from subscriptions.services.lifecycle import subscription_pause
from tenants.accounts import staff_user_ensure
from tenants.context import tenant_context
from tenants.models import ApiKey, Tenant
from tenants.services import api_key_create, api_key_revoke, tenant_create

DEMO_EMAIL = "owner@demo.ciclo.local"
DEMO_PASSWORD = "ciclo-demo-2026"  # noqa: S105 - a local demo account, printed on purpose
DEMO_SLUG = "demo"
DEMO_KEY_NAME = "Demo key (seed_demo)"
# The demo business hangs off this test clock: its presence means "already seeded".
DEMO_CLOCK_NAME = "Demo business (seed_demo)"
MONTHS = 12
SIGNUP_DAYS = (0, 13)  # days into each month

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000009995"  # insufficient_funds on every charge

FIRST_NAMES = (
    "Ana", "Beatriz", "Bruna", "Camila", "Carla", "Daniela", "Fernanda", "Gabriela", "Helena",
    "Isabela", "Juliana", "Larissa", "Letícia", "Luana", "Mariana", "Natália", "Patrícia",
    "Rafaela", "Renata", "Sofia", "Tatiane", "Vitória", "André", "Bruno", "Carlos", "Daniel",
    "Eduardo", "Felipe", "Gabriel", "Gustavo", "Henrique", "João", "José", "Leonardo", "Lucas",
    "Marcelo", "Mateus", "Paulo", "Pedro", "Rafael", "Rodrigo", "Thiago", "Vinícius",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares",
    "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
    "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos", "Teixeira",
)  # fmt: skip
ASCII = str.maketrans("áàâãéêíóôõúçÁÉÍÓÚÇ", "aaaaeeioooucAEIOUC")


def cpf(rng: random.Random) -> str:
    """A CPF with correct check digits (mod 11, weights 10..2 then 11..2), masked."""
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        if len(set(digits)) > 1:  # one repeated digit is a placeholder, refused
            break
    for weight in (10, 11):
        rest = sum(d * w for d, w in zip(digits, range(weight, 1, -1), strict=False)) % 11
        digits.append(0 if rest < 2 else 11 - rest)
    v = "".join(map(str, digits))
    return f"{v[:3]}.{v[3:6]}.{v[6:9]}-{v[9:]}"


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo tenant, with a year of history on a test clock the "
        "first time, and print how to sign in. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=200, help="How many (default 200).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not 1 <= opts["customers"] <= 5000:
            raise CommandError("--customers must be from 1 to 5000.")
        now = clock.now()
        actor = Actor.system("seed_demo")
        owner = staff_user_ensure(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first() or tenant_create(
            name="Demo Ltda.", slug=DEMO_SLUG, owner=owner, now=now
        )
        with tenant_context(tenant):
            if not TestClock.objects.filter(tenant=tenant, name=DEMO_CLOCK_NAME).exists():
                started = time.monotonic()
                business = DemoBusiness(
                    tenant=tenant,
                    actor=actor,
                    now=now,
                    rng=random.Random(opts["seed"]),  # noqa: S311 - demo data, not secrets
                    customers=opts["customers"],
                    progress=not opts["no_progress"],
                    out=self.stderr._out,
                )
                business.build()
                self.stdout.write(
                    f"Seeded the demo business: {opts['customers']} customers, {MONTHS} months "
                    f"of history in {time.monotonic() - started:.1f} s."
                )
            # Only the hash of a key is kept, so each run issues a fresh demo
            # key and revokes the previous one: one live demo key at a time.
            for old in ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True):
                api_key_revoke(tenant=tenant, key_id=old.pk, actor=actor, now=now)
            issued = api_key_create(tenant=tenant, name=DEMO_KEY_NAME, actor=actor, now=now)
        self.stdout.write(self.style.SUCCESS("Demo tenant ready."))
        self.stdout.write(f"  Sign in:  {DEMO_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Portal:   /t/{tenant.slug}/")
        self.stdout.write(f"  API key:  {issued.raw}")


class DemoBusiness:
    """A year of a small SaaS business, played through the real services on a
    test clock: signups each month, renewals, upgrades and downgrades, pauses,
    cancellations, failed cards recovered by dunning, boletos paid late."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        actor: Actor,
        now: datetime,
        rng: random.Random,
        customers: int,
        progress: bool,
        out: Any,
    ) -> None:
        self.tenant, self.actor, self.rng = tenant, actor, rng
        self.total = customers
        self.progress, self.out = progress, out
        # Noon a year ago to an hour before the real "now": the history ends today.
        self.start = add_months(now, -MONTHS).replace(hour=12, minute=0, second=0, microsecond=0)
        self.end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        self.broken: list[tuple[Customer, bool, datetime]] = []
        self.first_customer_id = 0
        self.names: set[str] = set()
        self.clock: TestClock

    # -- the catalog ---------------------------------------------------------------

    def catalog(self) -> None:
        t, a, at = self.tenant, self.actor, self.start
        iss = tax_rate_create(tenant=t, name="ISS", percent=Decimal("5.00"), actor=a, now=at)
        crm = product_create(
            tenant=t, name="Ciclo CRM", actor=a, now=at, description="CRM para pequenas empresas"
        )
        seats = product_create(
            tenant=t, name="Ciclo Equipe", actor=a, now=at, description="Licenças por usuário"
        )
        common: dict[str, Any] = {
            "tenant": t,
            "actor": a,
            "now": at,
            "currency": "BRL",
            "max_pauses": 2,
            "max_pause_cycles": 3,
        }
        self.basic = plan_create(
            product=crm, code="crm-basico", name="CRM Básico", amount_minor=4990, **common
        )
        self.pro = plan_create(
            product=crm,
            code="crm-pro",
            name="CRM Pro",
            amount_minor=9990,
            setup_fee_minor=19900,
            tax_rate=iss,
            entitlements={"contacts": 10000, "automations": True},
            **common,
        )
        self.annual = plan_create(
            product=crm,
            code="crm-pro-anual",
            name="CRM Pro anual",
            amount_minor=99900,
            interval="year",
            max_installments=12,
            tax_rate=iss,
            **common,
        )
        self.team = plan_create(
            product=seats,
            code="equipe-por-usuario",
            name="Equipe (por usuário)",
            amount_minor=1990,
            pricing_model=Plan.PricingModel.PER_SEAT,
            **common,
        )
        coupon_create(
            tenant=t,
            code="BEMVINDO20",
            name="20% nos 3 primeiros meses",
            percent_off=Decimal("20"),
            duration="repeating",
            duration_cycles=3,
            actor=a,
            now=at,
        )

    # -- customers and their signups ------------------------------------------------

    def _name(self) -> str:
        while True:
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            if name not in self.names or len(self.names) > 1000:
                self.names.add(name)
                return name
            name = f"{name} {self.rng.choice(LAST_NAMES)}"
            if name not in self.names:
                self.names.add(name)
                return name

    def signup(self, at: datetime, index: int) -> None:
        rng, t, a = self.rng, self.tenant, self.actor
        name = self._name()
        first, *rest = name.translate(ASCII).lower().split()
        customer = customer_create(
            tenant=t,
            name=name,
            email=f"{first}.{rest[-1]}{index}@exemplo.com.br",
            tax_id=cpf(rng),
            locale="pt-br",
            test_clock=self.clock,
            actor=a,
            now=at,
        )
        # The first customers are a fixed cast (a card on the basic plan, a boleto
        # and a Pix payer), so even a small demo shows every kind of payer.
        roll = (0.5, 0.1, 0.25)[index] if index < 3 else rng.random()
        if roll < 0.2:
            payment_method_attach_offline(
                tenant=t, customer=customer, kind="boleto", actor=a, now=at
            )
        elif roll < 0.3:
            payment_method_attach_offline(tenant=t, customer=customer, kind="pix", actor=a, now=at)
        else:
            self._card(customer, GOOD_CARD, at)
        pick = 0.0 if index == 0 else rng.random()
        if index == 0:
            self.first_customer_id = customer.pk
        kw: dict[str, Any] = {}
        if pick < 0.4:
            plan = self.basic
        elif pick < 0.65:
            plan = self.pro
        elif pick < 0.8:
            plan = self.annual
            if roll >= 0.3 and rng.random() < 0.6:  # a card: up to 12x, as Brazilians do
                kw["installments"] = rng.choice((3, 6, 10, 12))
        else:
            plan = self.team
            kw["quantity"] = rng.randint(2, 15)
        if rng.random() < 0.15:
            kw["coupon"] = "BEMVINDO20"
        subscription_create(tenant=t, customer=customer, plan=plan, actor=a, now=at, **kw)

    def _card(self, customer: Customer, number: str, at: datetime) -> None:
        saved = SandboxGateway().tokenize_card(
            number=number,
            exp_month=self.rng.randint(1, 12),
            exp_year=at.year + self.rng.randint(2, 5),
            cvc="123",
        )
        payment_method_attach(
            tenant=self.tenant, customer=customer, saved=saved, gateway="sandbox", actor=self.actor,
            now=at,
        )  # fmt: skip

    # -- what happens during a month -------------------------------------------------

    def pay_slips(self, at: datetime, share: float) -> None:
        """Payers pay their pending boletos and Pix codes (``share`` of them now,
        the rest later: late), through the sandbox's signed webhooks."""
        gateways = {"sandbox_boleto": SandboxBoletoGateway(), "sandbox_pix": SandboxPixGateway()}
        pending = PaymentAttempt.objects.filter(
            tenant=self.tenant,
            status=PaymentAttempt.Status.PENDING,
            gateway__in=gateways,
            invoice__customer__test_clock=self.clock,
        ).order_by("pk")
        for attempt in list(pending.values_list("gateway", "gateway_ref")):
            gateway_name, ref = attempt
            if self.rng.random() >= share:
                continue
            try:
                body, headers = gateways[gateway_name].simulate_payment(gateway_ref=ref)
            except SandboxCharge.DoesNotExist:  # withdrawn meanwhile (segunda via): skip it
                continue
            webhook_receive(gateway_name=gateway_name, body=body, headers=headers, now=at)

    def charge_installments(self, at: datetime) -> None:
        """Charge the installments that came due, as the hourly live task does
        (``charge_due_installments_task``), which leaves test-clock customers out
        and which no clock sweep replays yet."""
        due = Installment.objects.filter(
            tenant=self.tenant,
            status="scheduled",
            due_at__lte=at,
            invoice__status="open",
            invoice__customer__test_clock=self.clock,
        ).order_by("due_at", "pk")
        for invoice_id, part_id in list(due.values_list("invoice_id", "pk")):
            try:
                invoice_charge(
                    tenant=self.tenant, invoice_id=invoice_id, now=at, installment_id=part_id
                )
            except (StateConflict, NotFound):
                continue

    def break_card(self, sub: Subscription, at: datetime, *, fixed: bool) -> None:
        """The customer's card starts failing (a new default that is declined):
        the next renewal fails and dunning starts retrying."""
        self._card(sub.customer, DECLINED_CARD, at)
        self.broken.append((sub.customer, fixed, at))

    def fix_cards(self, at: datetime) -> None:
        """Customers whose renewal just failed add a good card (most of them), and
        dunning's next retry recovers the invoice; the others are canceled by
        dunning when its retries run out."""
        waiting = []
        for customer, fixed, since in self.broken:
            if not PaymentAttempt.objects.filter(
                invoice__customer=customer,
                status=PaymentAttempt.Status.FAILED,
                created_at__gte=since,
            ).exists():
                waiting.append((customer, fixed, since))  # not renewed since the card broke
            elif fixed:
                self._card(customer, GOOD_CARD, at)
        self.broken = waiting

    def churn_and_changes(self, at: datetime, month: int) -> None:
        rng, t, a = self.rng, self.tenant, self.actor
        subs = list(
            Subscription.objects.filter(
                tenant=t, customer__test_clock=self.clock, status=Subscription.Status.ACTIVE
            )
            .select_related("plan", "customer")
            .order_by("pk")
        )
        cards = set(
            PaymentMethod.objects.filter(
                tenant=t, kind="card", is_default=True, detached_at__isnull=True,
                customer__test_clock=self.clock,
            ).values_list("customer_id", flat=True)
        )  # fmt: skip
        broken = {c.pk for c, _fixed, _since in self.broken}
        for sub in subs:
            # About 3% of card payers a month see their card fail; 4 in 5 fix it.
            if sub.customer_id in cards and sub.customer_id not in broken:
                # (The first customer's, always: every demo shows a recovery.)
                first = month == 1 and sub.customer_id == self.first_customer_id
                if first or rng.random() < 0.03:
                    self.break_card(sub, at, fixed=first or rng.random() < 0.8)
                    broken.add(sub.customer_id)
        if month == MONTHS - 2:
            # Whatever the dice said, the demo shows paused subscriptions at the
            # end (a pause starts at the period end) and a recent cancellation.
            monthly = [s for s in subs if s.plan.interval == "month"]
            paused = 0
            while monthly and paused < 2:
                sub = monthly.pop(0)
                try:
                    subscription_pause(tenant=t, subscription_id=sub.pk, actor=a, now=at, cycles=3)
                    paused += 1
                except DomainError:
                    continue  # its pauses are used up
            if monthly:
                subscription_cancel(tenant=t, subscription_id=monthly.pop(0).pk, actor=a, now=at)
            subs = monthly
        for sub in subs:
            roll = rng.random()
            try:
                if roll < 0.015:
                    subscription_cancel(
                        tenant=t, subscription_id=sub.pk, actor=a, now=at,
                        at_period_end=rng.random() < 0.5,
                    )  # fmt: skip
                elif roll < 0.04 and sub.plan.code == "crm-basico":
                    subscription_change(
                        tenant=t, subscription_id=sub.pk, actor=a, now=at, plan=self.pro
                    )
                elif roll < 0.05 and sub.plan.code == "crm-pro":
                    subscription_change(
                        tenant=t, subscription_id=sub.pk, actor=a, now=at, plan=self.basic,
                        when="period_end",
                    )  # fmt: skip
                elif roll < 0.08 and sub.plan.code == "equipe-por-usuario":
                    seats = max(1, sub.quantity + rng.choice((-2, -1, 1, 2, 3)))
                    subscription_change(
                        tenant=t, subscription_id=sub.pk, actor=a, now=at, quantity=seats
                    )
                elif roll < 0.11 and sub.plan.interval == "month":
                    subscription_pause(
                        tenant=t, subscription_id=sub.pk, actor=a, now=at, cycles=rng.randint(1, 2)
                    )
            except DomainError:
                continue  # not allowed for this one now (pending change, pause limit…)

    # -- the year --------------------------------------------------------------------

    def advance(self, to: datetime) -> None:
        to = min(to, self.end)
        if to > self.clock.frozen_time:
            self.clock = clock_advance(
                tenant=self.tenant, clock_id=self.clock.pk, to=to, actor=self.actor, now=to
            )

    def build(self) -> None:
        app = current_app
        eager = app.conf.task_always_eager
        # The charges an invoice triggers run now, at the clock's time, not later
        # in a worker at the real time (where the rehearsal would be over).
        app.conf.task_always_eager = True
        # A year of info logs (every charge, every dunning sweep) would bury the progress bar.
        logging.disable(logging.INFO)
        try:
            self._build()
        finally:
            logging.disable(logging.NOTSET)
            app.conf.task_always_eager = eager

    def _build(self) -> None:
        self.clock = clock_create(
            tenant=self.tenant, frozen_time=self.start, actor=self.actor, now=self.start,
            name=DEMO_CLOCK_NAME,
        )  # fmt: skip
        self.catalog()
        # A growing business: each month brings a few more signups than the last.
        # (At least one in the first month, so the history spans the whole year.)
        weights = [month + 2 for month in range(MONTHS)]
        per_month = [(self.total - 1) * w // sum(weights) for w in weights]
        per_month[0] += 1 + self.total // 40
        per_month[-1] -= self.total // 40
        for month in range(self.total - sum(per_month)):
            per_month[-1 - month % MONTHS] += 1
        index = 0
        with tqdm(
            total=MONTHS, unit="month", desc="Demo business", disable=not self.progress,
            file=self.out,
        ) as bar:  # fmt: skip
            for month in range(MONTHS):
                base = add_months(self.start, month)
                # Two signup days a month: renewals then fall due together and the
                # engine bills them in batches (what keeps the seed fast). Two days
                # after each, most boletos and Pix are paid on time.
                cohorts = [per_month[month] - per_month[month] // 2, per_month[month] // 2]
                for day, count in zip(SIGNUP_DAYS, cohorts, strict=True):
                    self.advance(base + timedelta(days=day))
                    for _ in range(count):
                        self.signup(self.clock.frozen_time, index)
                        index += 1
                    self.advance(base + timedelta(days=day + 2))
                    self.pay_slips(self.clock.frozen_time, share=0.75)
                    self.fix_cards(self.clock.frozen_time)
                    self.charge_installments(self.clock.frozen_time)
                # Late in the month: the late payers pay, cards get fixed, people
                # upgrade, downgrade, pause and leave.
                self.advance(base + timedelta(days=26))
                self.pay_slips(self.clock.frozen_time, share=0.8)
                self.fix_cards(self.clock.frozen_time)
                self.churn_and_changes(self.clock.frozen_time, month)
                bar.update(1)
        self.advance(self.end)
        self.charge_installments(self.clock.frozen_time)
