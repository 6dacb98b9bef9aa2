"""Cursor pagination for every list: ``limit`` and ``starting_after`` (a public id).

Lists are ordered newest first by ``(created_at, id)``, which stays stable
under concurrent inserts: a page never repeats or skips an older row.
"""

import re
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


class CursorPagination(BasePagination):
    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        raw_limit = request.query_params.get("limit", str(DEFAULT_LIMIT))
        if not re.fullmatch(r"[0-9]{1,3}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationError(
                {"limit": [f"Must be an integer between 1 and {MAX_LIMIT}."]}, code="invalid"
            )
        limit = int(raw_limit)
        queryset = queryset.order_by("-created_at", "-id")
        after = request.query_params.get("starting_after")
        if after:
            from core.api import api_id

            # A list of rows without public ids (readjustment policies, one per
            # plan) fits one page: no id names a place in it.
            has_public_id = any(f.name == "public_id" for f in queryset.model._meta.fields)
            cursor = (
                queryset.filter(public_id=after).values("created_at", "id").first()
                if has_public_id and api_id(after)
                else None
            )
            if cursor is None:
                raise ValidationError(
                    {"starting_after": [f"No such object: {after}"]}, code="resource_missing"
                )
            queryset = queryset.filter(
                Q(created_at__lt=cursor["created_at"])
                | Q(created_at=cursor["created_at"], id__lt=cursor["id"])
            )
        rows = list(queryset[: limit + 1])
        self.has_more = len(rows) > limit
        self.path = request.path
        return rows[:limit]

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"object": "list", "url": self.path, "has_more": self.has_more, "data": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["object", "url", "has_more", "data"],
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "url": {"type": "string"},
                "has_more": {"type": "boolean"},
                "data": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"How many objects, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": "starting_after",
                "in": "query",
                "required": False,
                "description": "An object id: return the objects listed after it.",
                "schema": {"type": "string"},
            },
        ]
