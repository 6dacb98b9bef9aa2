from tests.support.billing import summary, utc, world


def test_monthly_renewals(db):
    with world(utc(2026, 1, 15, 15)) as w:
        plan = w.plan(amount=9_990)
        sub = w.subscribe(plan)
        w.advance(utc(2026, 4, 20))
        got = [summary(i) for i in w.invoices(sub)]
    assert got == [
        ("2026-01-15", "subscription_create", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
        ("2026-02-15", "subscription_cycle", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
        ("2026-03-15", "subscription_cycle", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
        ("2026-04-15", "subscription_cycle", 9_990, [("recurring", 9_990, 0, 0, 9_990)]),
    ]
