from functools import partial

from django.db import models

from core.ids import new_public_id


def public_id(prefix: str) -> "models.CharField[str, str]":
    """A prefixed public id (``inv_…``), made once at creation."""
    return models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, prefix)
    )
