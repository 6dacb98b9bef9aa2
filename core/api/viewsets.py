"""``ApiViewSet``: lookups by public id, the acting API key, declared list filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from core.actors import Actor
from core.api.fields import api_id
from core.api.filters import CREATED_FILTERS, ListFilter, apply_list_filters
from core.errors import NotFound
from core.projection import Projection

# --- viewsets -----------------------------------------------------------------------


class ApiViewSet(viewsets.GenericViewSet[Any]):
    """Base of the API's viewsets: public-id lookups, the acting key, list filters."""

    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    object_name = "object"
    list_filters: Sequence[ListFilter] = ()

    @property
    def actor(self) -> Actor:
        return Actor.api_key(self.request.auth)

    @property
    def tenant(self) -> Any:
        # core names no app: the apps' viewsets declare ``request: TenantApiRequest``.
        return self.request.tenant  # type: ignore[attr-defined]

    def get_object(self) -> Any:
        value = self.kwargs.get(self.lookup_url_kwarg, "")
        found = None
        if api_id(value):
            found = self.get_queryset().filter(public_id=value).first()
        if found is None:
            raise NotFound(f"No such {self.object_name}: '{value}'", param="id")
        self.check_object_permissions(self.request, found)
        return found

    def get_row(self, projection: Projection) -> dict[str, Any]:
        """``get_object``'s lookup, read and rendered as the one row ``projection`` prints."""
        value = self.kwargs.get(self.lookup_url_kwarg, "")
        row = None
        if api_id(value):
            row = self.get_queryset().filter(public_id=value).values(*projection.columns).first()
        if row is None:
            raise NotFound(f"No such {self.object_name}: '{value}'", param="id")
        return projection.render(row)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if getattr(self, "action", None) == "list":
            return apply_list_filters(
                queryset, self.request.query_params, (*self.list_filters, *CREATED_FILTERS)
            )
        return queryset

    def respond(
        self, serializer_class: type[serializers.Serializer[Any]], instance: Any, **kw: Any
    ) -> Response:
        data = serializer_class(instance, context=self.get_serializer_context()).data
        return Response(data, **kw)


def input_of(
    serializer_class: type[serializers.Serializer[Any]], request: Any, **context: Any
) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
