"""REST API resources of this app (issue 6)."""


def register(router) -> None:  # type: ignore[no-untyped-def]
    """Add this app's viewsets to the API router (see config/api.py)."""
