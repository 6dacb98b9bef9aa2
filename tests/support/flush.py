"""A faster flush between transactional tests on PostgreSQL.

After each transactional test (on-commit hooks, the live server, real Celery
workers: about 700 tests) Django's ``flush`` TRUNCATEs every table. That gives
each of the ~80 tables and ~460 indexes a new file, about half a second a test:
some eight minutes of the suite. This flush deletes the rows of the tables that
have any instead, which takes milliseconds and ends in the same state: every
table empty, sequences left as they are (Django's flush with
``reset_sequences=False`` does not reset them either).

Written by hand: no maintained library replaces Django's flush for PostgreSQL
with row-level security. It is test-only and installed by ``tests/conftest.py``.

- The rows are deleted under platform access (``ciclo.platform``, local to the
  flush's transaction): the application role, which the tests connect as, would
  otherwise see only the current tenant's rows and delete nothing.
- Django's foreign keys are ``DEFERRABLE INITIALLY DEFERRED``, so the order of
  the deletions does not matter inside the one transaction ``execute_sql_flush``
  opens. ``install`` checks that no foreign key is checked immediately, and
  keeps Django's flush when one is.
- Content types and permissions are kept: ``flush`` would delete them and its
  ``post_migrate`` would create the very same rows again.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.postgresql.operations import DatabaseOperations

from tenants.context import PLATFORM_SETTING

KEPT = frozenset({"django_content_type", "auth_permission"})

_django_sql_flush = DatabaseOperations.sql_flush


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_flush(
    self: DatabaseOperations,
    style: Any,
    tables: list[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    if reset_sequences:
        return _django_sql_flush(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    names = [t for t in tables if t not in KEPT]
    if not names:
        return []
    array = "ARRAY[" + ", ".join(_literal(t) for t in names) + "]::text[]"
    return [
        "DO $flush$ DECLARE t text; has_rows boolean; BEGIN "
        f"PERFORM set_config({_literal(PLATFORM_SETTING)}, 'on', true); "
        f"FOREACH t IN ARRAY {array} LOOP "
        "EXECUTE format('SELECT EXISTS (SELECT FROM %I)', t) INTO has_rows; "
        "IF has_rows THEN EXECUTE format('DELETE FROM %I', t); END IF; "
        "END LOOP; END $flush$"
    ]


def install() -> bool:
    """Replace Django's flush for this test run; False (and Django's flush kept)
    when a foreign key would be checked before the flush's transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT condeferred")
        (immediate,) = cursor.fetchone()
    if immediate:
        return False
    DatabaseOperations.sql_flush = _sql_flush  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    DatabaseOperations.sql_flush = _django_sql_flush  # type: ignore[method-assign]
