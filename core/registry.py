"""What apps register in settings by dotted path, as they register beat tasks
(``CELERY_BEAT_SCHEDULE``) and API resources (``config/api.py``).

A lower app calls what higher apps registered (listeners, test-clock sweeps and
deleters) without importing them, so imports keep pointing down (DESIGN.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


def registered(setting: str) -> list[Any]:
    """The objects the list ``settings.<setting>`` names, in its order."""
    return [import_string(path) for path in getattr(settings, setting)]
