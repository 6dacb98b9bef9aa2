"""The REST API's router: each app registers its own resources.

An app's ``api.py`` defines ``register(router)``; adding a resource never
touches this file or another app's.
"""

from importlib import import_module

from rest_framework.routers import SimpleRouter

API_APPS = ("customers", "subscriptions", "billing", "dunning", "notifications")


def build_router() -> SimpleRouter:
    router = SimpleRouter(trailing_slash=False)
    for app in API_APPS:
        module = import_module(f"{app}.api")
        module.register(router)
    return router


router = build_router()
