import logging
import os

from celery import Celery
from celery.signals import after_setup_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ciclo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
def quiet_beat(loglevel: int | str | None = None, **_: object) -> None:
    """Beat logs "Sending due task" for every due task (the outbox every 2 s): debug detail
    that drowns the console, so it shows only when beat runs at DEBUG."""
    debug = loglevel in (logging.DEBUG, "DEBUG")
    logging.getLogger("celery.beat").setLevel(logging.DEBUG if debug else logging.WARNING)
