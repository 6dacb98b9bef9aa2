"""The REST API's router: each app registers its own resources.

An app's ``api.py`` defines ``register(router)``; adding a resource never
touches this file or another app's.
"""

from importlib import import_module

from rest_framework.routers import Route, SimpleRouter

API_APPS = (
    "tenants",
    "customers",
    "subscriptions",
    "billing",
    "dunning",
    "notifications",
    "reports",
    "portal",
    "checkout",
)


class ApiRouter(SimpleRouter):
    """``SimpleRouter`` plus singletons: a viewset with ``show``/``modify`` methods is
    served at ``/<prefix>`` itself (GET and PATCH), with no id: ``/account``."""

    routes = [
        *SimpleRouter.routes,
        Route(
            url=r"^{prefix}{trailing_slash}$",
            mapping={"get": "show", "patch": "modify"},
            name="{basename}",
            detail=False,
            initkwargs={"suffix": "Instance"},
        ),
    ]


def build_router() -> SimpleRouter:
    router = ApiRouter(trailing_slash=False)
    for app in API_APPS:
        module = import_module(f"{app}.api")
        module.register(router)
    return router


router = build_router()
