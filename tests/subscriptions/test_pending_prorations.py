"""Prorations added "to the next invoice" are billed on that invoice, and only there."""

from billing.models import InvoiceLine, PendingLine
from billing.subscriptions import subscription_change
from tests.support.billing import ACTOR, utc, world


def test_waiting_prorations_are_billed_exactly_once(db: None) -> None:
    with world(utc(2026, 1, 10, 15)) as w:
        basic, pro = w.plan("basic", amount=10_000), w.plan("pro", amount=20_000)
        sub = w.subscribe(basic)
        w.advance(utc(2026, 1, 20, 15))
        subscription_change(
            tenant=w.tenant,
            subscription_id=sub.pk,
            plan=pro,
            actor=ACTOR,
            now=w.now,
            proration="next_invoice",
        )

        w.advance(utc(2026, 4, 20, 15))

        per_invoice = [
            (str(i.period_start.date()), i.lines.filter(kind=InvoiceLine.Kind.PRORATION).count())
            for i in w.invoices(sub)
        ]
        unbilled = PendingLine.objects.filter(subscription=sub, invoice__isnull=True).count()
    assert per_invoice == [
        ("2026-01-10", 0),
        ("2026-02-10", 2),
        ("2026-03-10", 0),
        ("2026-04-10", 0),
    ]
    assert unbilled == 0
