"""billing 0027 (credit note subtotal, discount, tax): backwards and forwards again on
real rows. Existing notes are filled from the invoice they credit, in its proportions;
a full credit gets the invoice's own figures. The database is left migrated to every
app's latest migration, with the app role granted again, as the suite expects."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing import services as billing
from billing.models import Invoice
from tenants.context import platform_access
from tests.scenarios.helpers_lifecycle import sp
from tests.scenarios.helpers_money import coupon
from tests.support.billing import ACTOR, world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MINE = ("billing", "0027_credit_note_amounts")


@pytest.fixture
def as_owner() -> Iterator[None]:
    """Migrations run as the tables' owner; afterwards every app is at its leaf again
    and the app role holds its grants (what tests/conftest.py set up)."""
    from tenants.db.postgresql.base import set_owner_mode
    from tenants.rls import ensure_app_role

    set_owner_mode(True)
    try:
        yield
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        ensure_app_role(app_user=settings.DATABASES["default"]["APP_USER"], grant_truncate=True)
        set_owner_mode(False)


def _rows(sql: str) -> list[tuple[object, ...]]:
    with platform_access(), connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _columns(table: str) -> set[str]:
    return {
        str(r[0])
        for r in _rows(
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
        )
    }


def _issue(w, invoice: Invoice, amount: int) -> int:  # type: ignore[no-untyped-def]
    note = billing.credit_note_issue(
        tenant=w.tenant,
        invoice_id=invoice.pk,
        amount_minor=amount,
        reason="Legacy",
        actor=ACTOR,
        now=w.now,
    )
    return note.pk


def test_backwards_and_forwards_fills_existing_credit_notes_exactly(as_owner: None) -> None:
    # Given: R$99.90 with 5% inside and 10% off (8991: discount 999, tax 428), credited
    # in full; R$100 + 10% on top (11000), credited 5500 and then 3333
    with world(sp(2026, 1, 1, 12)) as w:
        inside = w.plan("inside", amount=9_990, tax_rate=w.tax("5", inclusive=True))
        on_top = w.plan("ontop", amount=10_000, tax_rate=w.tax("10"))
        coupon(w, "TEN", percent_off=Decimal(10), duration="forever")
        a = w.subscribe(inside, coupon="TEN", collection_method="send_invoice")
        b = w.subscribe(on_top, collection_method="send_invoice")
        [inv_a], [inv_b] = w.invoices(a), w.invoices(b)
        full = _issue(w, inv_a, 8_991)
        half = _issue(w, inv_b, 5_500)
        odd = _issue(w, inv_b, 3_333)
    executor = MigrationExecutor(connection)
    # Whatever billing migration 0019 follows once the migrations are chained.
    [before] = executor.loader.graph.node_map[MINE].parents

    # When migrated back to before 0027
    executor.migrate([before.key])
    # Then the new columns are gone and a line's amount is its total again
    assert "subtotal_minor" not in _columns("billing_creditnote")
    assert "total_minor" not in _columns("billing_creditnoteline")
    legacy = _rows(
        "SELECT n.id, n.total_minor, l.amount_minor FROM billing_creditnote n "
        "JOIN billing_creditnoteline l ON l.credit_note_id = n.id ORDER BY n.id, l.id"
    )
    assert legacy == [(full, 8_991, 8_991), (half, 5_500, 5_500), (odd, 3_333, 3_333)]

    # When migrated forwards again
    executor = MigrationExecutor(connection)
    executor.migrate([MINE])
    notes = _rows(
        "SELECT id, subtotal_minor, discount_minor, tax_minor, total_minor "
        "FROM billing_creditnote ORDER BY id"
    )
    lines = _rows(
        "SELECT credit_note_id, amount_minor, discount_minor, tax_minor, tax_inclusive, "
        "tax_percent, total_minor FROM billing_creditnoteline ORDER BY credit_note_id, id"
    )
    # Then the full credit is the invoice: 9990 - 999, 428 inside, 8991;
    # 5500 of 11000 is half: tax 500 on top, subtotal 5000;
    # 3333 of 11000: tax 1000 × 0.303 = 303 on top, subtotal 3333 - 303 = 3030
    assert notes == [
        (full, 9_990, 999, 428, 8_991),
        (half, 5_000, 0, 500, 5_500),
        (odd, 3_030, 0, 303, 3_333),
    ]
    assert lines == [
        (full, 9_990, 999, 428, True, Decimal("5.0000"), 8_991),
        (half, 5_000, 0, 500, False, Decimal("10.0000"), 5_500),
        (odd, 3_030, 0, 303, False, Decimal("10.0000"), 3_333),
    ]
    # and subtotal - discount + the tax on top is the total credited, always
    assert all(s - d + (0 if inc else t) == total for _n, s, d, t, inc, _p, total in lines)
