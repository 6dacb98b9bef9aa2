"""The small business the report tests read, played through the real services
on a test clock (São Paulo, UTC-3 all of 2026). Every number the tests expect is
worked out here, once, in the comments.

Plans (BRL): basic R$100,00 a month (10_000), pro R$250,00 a month (25_000),
annual R$1.200,00 a year (MRR 120_000 / 12 = 10_000), pausable R$100,00 a month
(one pause of one cycle). USD: starter US$50.00 a month (5_000).

- Ana: basic Jan 5; upgraded to pro now on Feb 15.
  new +10_000 (Jan), expansion +15_000 (Feb).
- Bruno: pro Jan 5; downgraded to basic now on Mar 2.
  new +25_000 (Jan), contraction −15_000 (Mar).
- Carla: pausable Jan 5; a pause of 1 cycle asked Jan 20: paused Feb 5, resumes Mar 5.
  new +10_000 (Jan), contraction −10_000 (Feb), expansion +10_000 (Mar).
- Davi: basic Jan 5; cancelled now Feb 10; basic again Apr 2.
  new +10_000 (Jan), churn −10_000 (Feb), reactivation +10_000 (Apr).
- Eva: annual Jan 5. new +10_000 (Jan).
- Fábio: basic with a 14-day trial Jan 5; converts Jan 19. new +10_000 (Jan).
- Gil: basic with a 14-day trial Jan 5; cancelled Jan 10: no movement (trial not converted).
- Hana: USD starter Jan 5. new +5_000 USD (Jan).

BRL per month:
- Jan: new 10_000+25_000+10_000+10_000+10_000+10_000 = 75_000 → MRR 75_000; 6 customers.
- Feb: expansion +15_000, contraction −10_000, churn −10_000 → net −5_000 → MRR 70_000;
  5 customers (Davi lost; Carla, paused, is still a customer).
- Mar: contraction −15_000, expansion +10_000 → net −5_000 → MRR 65_000.
- Apr: reactivation +10_000 → MRR 75_000; 6 customers.
Trials: 2 started in Jan, both trial ends fall on Jan 19 (Gil's cancelled trial
still ends then), 1 converted → 50 %.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from customers.models import Customer
from subscriptions.models import Subscription
from tests.scenarios.helpers_lifecycle import cancel, change, pause, sp
from tests.support.billing import World, world

INVOICE = {"collection_method": "send_invoice"}


@dataclass
class Business:
    w: World
    subs: dict[str, Subscription] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)


@contextmanager
def business(*, until_april: bool = True) -> Iterator[Business]:
    with world(sp(2026, 1, 5, 12)) as w:
        b = Business(w)
        basic = w.plan("basic", 10_000)
        pro = w.plan("pro", 25_000)
        annual = w.plan("annual", 120_000, interval="year")
        pausable = w.plan("pausable", 10_000, max_pauses=1, max_pause_cycles=1)
        starter = w.plan("starter", 5_000, currency="USD")
        for name, plan, kw in [
            ("Ana", basic, {}),
            ("Bruno", pro, {}),
            ("Carla", pausable, {}),
            ("Davi", basic, {}),
            ("Eva", annual, {}),
            ("Fábio", basic, {"trial_days": 14}),
            ("Gil", basic, {"trial_days": 14}),
            ("Hana", starter, {}),
        ]:
            customer = w.customer(name)
            b.customers[name] = customer
            b.subs[name] = w.subscribe(plan, customer, **INVOICE, **kw)
        w.advance(sp(2026, 1, 10, 12))
        cancel(w, b.subs["Gil"])
        w.advance(sp(2026, 1, 20, 12))
        pause(w, b.subs["Carla"], cycles=1)
        w.advance(sp(2026, 2, 10, 12))
        cancel(w, b.subs["Davi"])
        w.advance(sp(2026, 2, 15, 12))
        change(w, b.subs["Ana"], plan=pro)
        w.advance(sp(2026, 3, 2, 12))
        change(w, b.subs["Bruno"], plan=basic)
        if until_april:
            w.advance(sp(2026, 4, 2, 12))
            b.subs["Davi again"] = w.subscribe(basic, b.customers["Davi"], **INVOICE)
            w.advance(sp(2026, 4, 30, 12))
        yield b
