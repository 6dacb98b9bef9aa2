"""What `make run` relies on: links follow PORT, SQLite shared by three processes, a quiet beat."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup();"
    "from django.conf import settings; from django.db import connection;"
    "print(settings.SITE_URL);"
    "c = connection.cursor();"
    "print(c.execute('PRAGMA journal_mode').fetchone()[0]);"
    "print(c.execute('PRAGMA busy_timeout').fetchone()[0])"
)


def _probe(tmp_path: Path, **env: str) -> list[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SITE_URL", "PORT", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.split()


def test_site_url_follows_port_and_sqlite_runs_in_wal_with_a_busy_timeout(tmp_path: Path) -> None:
    assert _probe(tmp_path, PORT="8123") == ["http://127.0.0.1:8123", "wal", "20000"]
    assert _probe(tmp_path)[0] == "http://127.0.0.1:8000"
    assert _probe(tmp_path, PORT="8123", SITE_URL="https://pay.example.com")[0] == (
        "https://pay.example.com"
    )


def test_beat_announces_each_due_task_only_at_debug() -> None:
    from config.celery import quiet_beat

    beat = logging.getLogger("celery.beat")
    try:
        quiet_beat(loglevel=logging.INFO)
        assert not beat.isEnabledFor(logging.INFO)
        assert beat.isEnabledFor(logging.WARNING)
        quiet_beat(loglevel="DEBUG")
        assert beat.isEnabledFor(logging.INFO)
    finally:
        beat.setLevel(logging.NOTSET)
