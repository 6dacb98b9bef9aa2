"""Bulk writes for the billing run's hot path.

On PostgreSQL a whole batch is one statement: ``INSERT … SELECT FROM unnest``
of one array per column, and ``UPDATE … FROM unnest``. (COPY would be faster
still, but PostgreSQL refuses ``COPY FROM`` on tables under row-level security.)
Django's ``bulk_update`` builds a ``CASE WHEN`` per field over every row, which
costs more to build and plan than the work itself at these sizes. Elsewhere
(SQLite) the same calls fall back to plain multi-row statements.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.db import connection, models


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    """The named columns (``get_field`` is typed to return a relation's reverse side too)."""
    return [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in names]


def _array_type(field: models.Field[Any, Any]) -> str:
    db_type = field.db_type(connection) or "text"
    return {"bigserial": "bigint", "serial": "integer"}.get(db_type, db_type)


def _execute_binary(sql: str, params: Sequence[Any], *, fetch: bool = False) -> list[int]:
    """Send the arrays in binary (``%b``), server-side bound: no text escaping of
    thousands of elements (Django's own cursors bind client-side, in text)."""
    import psycopg

    # Opened through Django first: the backend brings the session (the tenant
    # row-level security reads) up to date before handing out any cursor.
    with connection.cursor(), psycopg.Cursor(connection.connection) as raw:
        raw.execute(sql, params)
        return [row[0] for row in raw.fetchall()] if fetch else []


def _column(field: models.Field[Any, Any], values: Sequence[Any]) -> list[Any]:
    """One column's values for PostgreSQL. psycopg adapts int, str, bool, Decimal
    and aware datetimes itself (Django's per-value preparation costs more than
    the INSERT); JSON is the one type serialised here."""
    if isinstance(field, models.JSONField):
        return [None if v is None else json.dumps(v) for v in values]
    return list(values)


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
    *,
    returning: bool = False,
) -> list[int]:
    """Insert ``rows`` (dicts of field name → value), one statement for the lot.

    With ``returning``, the new ids come back in the rows' order (the rows are
    inserted in that order and PostgreSQL returns them as inserted, which is
    what Django's own ``bulk_create`` relies on too).
    """
    if not rows:
        return []
    meta = model._meta
    qn = connection.ops.quote_name
    columns = _fields(model, fields)
    if connection.vendor != "postgresql":
        objs = model._base_manager.bulk_create(
            [model(**{f.attname: row[f.name] for f in columns}) for row in rows]
        )
        return [obj.pk for obj in objs] if returning else []
    # A column with one value for the whole batch (the tenant, the currency, a
    # status) is sent once, not once a row.
    selects: list[str] = []
    params: list[Any] = []
    unnest_casts: list[str] = []
    unnest_params: list[list[Any]] = []
    for f in columns:
        values = _column(f, [row[f.name] for row in rows])
        pg_type = "text" if isinstance(f, models.JSONField) else _array_type(f)
        suffix = "::jsonb" if isinstance(f, models.JSONField) else ""
        first = values[0]
        constant = all(v == first and type(v) is type(first) for v in values)
        if len(rows) > 1 and constant and (unnest_casts or f is not columns[-1]):
            selects.append(f"%b::{pg_type}{suffix}")
            params.append(first)
        else:
            selects.append(f"t.v{len(unnest_casts)}{suffix}")
            unnest_casts.append(f"%b::{pg_type}[]")
            unnest_params.append(values)
    aliases = ", ".join(f"v{i}" for i in range(len(unnest_casts)))
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in columns)}) "  # noqa: S608
        f"SELECT {', '.join(selects)} "
        f"FROM unnest({', '.join(unnest_casts)}) WITH ORDINALITY AS t({aliases}, n) ORDER BY n"
    )
    if returning:
        sql += f" RETURNING {qn(meta.pk.column)}"
    # Parameters in the order their placeholders appear: the scalars sit in the
    # SELECT list, before the arrays of the FROM clause.
    return _execute_binary(sql, params + unnest_params, fetch=returning)


def bulk_set(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """Write ``fields`` of ``objs`` back, one statement for the lot."""
    if not objs:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = _fields(model, fields)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            assignments = ", ".join(f"{qn(f.column)} = %s" for f in columns)
            cursor.executemany(
                f"UPDATE {qn(meta.db_table)} SET {assignments} "  # noqa: S608
                f"WHERE {qn(meta.pk.column)} = %s",
                [
                    [f.get_db_prep_save(getattr(o, f.attname), connection) for f in columns]
                    + [o.pk]
                    for o in objs
                ],
            )
            return
        arrays = [[o.pk for o in objs]] + [
            _column(f, [getattr(o, f.attname) for o in objs]) for f in columns
        ]
        casts = [f"%b::{_array_type(meta.pk)}[]"] + [f"%b::{_array_type(f)}[]" for f in columns]
        aliases = [f"v{i}" for i in range(len(arrays))]
        sets = ", ".join(f"{qn(f.column)} = t.v{i + 1}" for i, f in enumerate(columns))
        _execute_binary(
            f"UPDATE {qn(meta.db_table)} AS m SET {sets} "  # noqa: S608
            f"FROM unnest({', '.join(casts)}) AS t({', '.join(aliases)}) "
            f"WHERE m.{qn(meta.pk.column)} = t.v0",
            arrays,
        )
