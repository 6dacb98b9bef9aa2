"""The one seam through which application code reads the wall clock.

Only entry points (a request, a task, a command) call ``now()``, once, and pass
the value down; services and domain functions take ``now`` as an argument.
"""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
