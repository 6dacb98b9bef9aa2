"""Reads that print only what they read: a read serializer rendered from ``values()`` rows.

A response serializer (DRF) stays the one definition of a resource's shape,
its documentation and its formatting; ``Projection`` derives from its fields
the exact columns to select (``source="customer.public_id"`` is the lookup
``customer__public_id``: a join, not a whole customer row) and renders each
row through those same fields, bound once per process instead of once per
request. Lists of a few dozen rows cost most in building model instances,
related objects and per-request serializer fields, none of which they print.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from rest_framework import serializers


class Projection:
    """The columns ``serializer_class`` prints, and its rendering of a row of them.

    Fields with ``source="*"`` (constants such as ``object``) get the row;
    nested serializers are left to the caller (``nested``), which renders
    them from rows of their own.
    """

    def __init__(self, serializer_class: type[serializers.Serializer[Any]]) -> None:
        self.serializer_class = serializer_class

    @cached_property
    def _plan(self) -> list[tuple[str, Any, str | None]]:
        # Bound once: read-only fields keep no per-request state.
        fields = self.serializer_class().fields
        plan: list[tuple[str, Any, str | None]] = []
        for name, field in fields.items():
            if field.write_only:
                continue
            if isinstance(field, serializers.BaseSerializer):
                plan.append((name, field, None))  # nested: rendered by the caller
            elif field.source == "*":
                plan.append((name, field, "*"))
            else:
                plan.append((name, field, "__".join(field.source_attrs)))
        return plan

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(
            lookup for _n, _f, lookup in self._plan if lookup is not None and lookup != "*"
        )

    def render(
        self, row: Mapping[str, Any], nested: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field, lookup in self._plan:
            if lookup is None:
                out[name] = (nested or {})[name]
            elif lookup == "*":
                out[name] = field.to_representation(row)
            else:
                value = row[lookup]
                out[name] = None if value is None else field.to_representation(value)
        return out

    def render_all(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self.render(row) for row in rows]
