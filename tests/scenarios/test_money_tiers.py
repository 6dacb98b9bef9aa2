"""Per-seat, graduated and volume pricing over several months. Hand-computed."""

from tests.support.billing import summary, utc, world

TIERS = [
    {"up_to": 5, "unit_amount_minor": 1_000},
    {"up_to": 10, "unit_amount_minor": 800, "flat_amount_minor": 500},
    {"up_to": None, "unit_amount_minor": 500},
]


def test_money_per_seat_with_calendar_proration(db):
    # Given R$ 29.90 per seat, 7 seats, calendar billing from Jan 15 2026 noon local
    with world(utc(2026, 1, 15, 15)) as w:
        plan = w.plan("seat", 2_990, pricing_model="per_seat")
        sub = w.subscribe(plan, quantity=7, calendar_billing=True)
        # When the clock passes Mar 1
        w.advance(utc(2026, 3, 2))
        invoices = w.invoices(sub)
        got = [summary(i) for i in invoices]
        quantities = [[line.quantity for line in i.lines.all()] for i in invoices]
    # Then a full month is 7 * 2990 = 20930; Jan 15 -> Feb 1 is 17 of 31 days:
    # 20930 * 17 / 31 = 11477.74 -> 11478
    full = [("recurring", 20_930, 0, 0, 20_930)]
    assert got == [
        ("2026-01-15", "subscription_create", 11_478, [("recurring", 11_478, 0, 0, 11_478)]),
        ("2026-02-01", "subscription_cycle", 20_930, full),
        ("2026-03-01", "subscription_cycle", 20_930, full),
    ]
    assert quantities == [[7], [7], [7]]


def test_money_graduated_tiers(db):
    # Given graduated tiers: 1-5 at 10.00, 6-10 at 8.00 + 5.00 flat, 11+ at 5.00
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan("grad", 0, pricing_model="graduated", tiers=TIERS)
        twelve = w.subscribe(plan, quantity=12)
        three = w.subscribe(plan, quantity=3)
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        got_twelve = [summary(i) for i in w.invoices(twelve)]
        got_three = [summary(i) for i in w.invoices(three)]
    # Then 12 seats: 5 * 1000 + (5 * 800 + 500) + 2 * 500 = 5000 + 4500 + 1000 = 10500;
    # 3 seats: 3 * 1000 = 3000 (no flat fee from an untouched tier)
    assert got_twelve == [
        ("2026-01-05", "subscription_create", 10_500, [("recurring", 10_500, 0, 0, 10_500)]),
        ("2026-02-05", "subscription_cycle", 10_500, [("recurring", 10_500, 0, 0, 10_500)]),
    ]
    assert got_three == [
        ("2026-01-05", "subscription_create", 3_000, [("recurring", 3_000, 0, 0, 3_000)]),
        ("2026-02-05", "subscription_cycle", 3_000, [("recurring", 3_000, 0, 0, 3_000)]),
    ]


def test_money_volume_tiers_price_every_seat_at_the_reached_tier(db):
    # Given the same tiers as volume pricing
    with world(utc(2026, 1, 5, 15)) as w:
        plan = w.plan("vol", 0, pricing_model="volume", tiers=TIERS)
        subs = [w.subscribe(plan, quantity=q) for q in (5, 10, 12)]
        # When a renewal passes
        w.advance(utc(2026, 2, 6))
        got = [[(i.billing_reason, i.total_minor) for i in w.invoices(s)] for s in subs]
    # Then 5 seats: 5 * 1000 = 5000 (bounds are inclusive); 10 seats: 10 * 800 + 500 = 8500;
    # 12 seats: 12 * 500 = 6000 (more seats, lower bill: that is volume pricing)
    assert got == [
        [("subscription_create", 5_000), ("subscription_cycle", 5_000)],
        [("subscription_create", 8_500), ("subscription_cycle", 8_500)],
        [("subscription_create", 6_000), ("subscription_cycle", 6_000)],
    ]
