"""Every API route, discovered from the router (``config.api.router``).

A route is one URL pattern of one viewset with the HTTP methods it maps to
actions; new resources and actions show up here without touching the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.urls import reverse

from config.api import router
from tenants.models import TenantOwned


@dataclass(frozen=True)
class Route:
    name: str  # the URL name, e.g. "customer-detail"
    viewset: type
    actions: dict[str, str]  # HTTP method -> viewset action
    detail: bool
    kwargs: tuple[str, ...]  # URL parameters, in order

    @property
    def lookup_kwarg(self) -> str:
        return self.viewset.lookup_url_kwarg or self.viewset.lookup_field

    def url(self, values: dict[str, str]) -> str:
        return reverse(self.name, kwargs=values)

    def __str__(self) -> str:
        return self.name


def discover() -> list[Route]:
    routes = []
    for pattern in router.urls:
        callback: Any = pattern.callback
        routes.append(
            Route(
                name=pattern.name,
                viewset=callback.cls,
                actions=dict(callback.actions),
                detail=bool(callback.initkwargs.get("detail")),
                kwargs=tuple(pattern.pattern.regex.groupindex),
            )
        )
    return routes


def registered_prefixes() -> set[str]:
    return {prefix for prefix, _viewset, _basename in router.registry}


def model_of(viewset: type) -> type[models.Model] | None:
    queryset = getattr(viewset, "queryset", None)
    if queryset is not None:
        return queryset.model
    meta = getattr(getattr(viewset, "serializer_class", None), "Meta", None)
    if getattr(meta, "model", None) is not None:
        return meta.model
    # Else what get_queryset() says it returns: ``QuerySet[DunningPolicy]`` (Django's
    # QuerySet[...] keeps no arguments at run time, so read the annotation's text).
    method = viewset.get_queryset
    hint = str(method.__annotations__.get("return", ""))
    match = re.fullmatch(r"(?:\w+\.)*QuerySet\[(\w+)\]", hint.replace(" ", ""))
    found = method.__globals__.get(match[1]) if match else None
    return found if isinstance(found, type) and issubclass(found, models.Model) else None


def model_named(kwarg: str) -> type[models.Model] | None:
    """The tenant-owned model a parent URL parameter names: ``customer_id`` → Customer."""
    from django.apps import apps

    stem = kwarg.removeprefix("parent_lookup_").removesuffix("_id").removesuffix("_pk")
    stem = stem.replace("_", "").lower()
    stem = {"item": "subscriptionitem"}.get(stem, stem)  # /subscriptions/{id}/items/{item_id}
    for model in apps.get_models():
        if issubclass(model, TenantOwned) and model._meta.model_name == stem:
            return model
    return None
