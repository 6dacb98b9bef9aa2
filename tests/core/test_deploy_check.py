"""Production defaults are safe: `check --deploy` is clean with DEBUG=0 and a real secret,
and behind a TLS-terminating proxy the app redirects to HTTPS, sends HSTS and marks
its cookies Secure — trusting only the proxy's ``X-Forwarded-Proto: https``."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # the e2e tests set the last
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 10 + "a-real-secret-of-more-than-fifty-characters-1234567890",
    "ALLOWED_HOSTS": "billing.example.com",
}


def test_check_deploy_reports_nothing_in_production_shape() -> None:
    # --fail-level WARNING: any warning at all (not only security.*) fails the command.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# Run inside the production settings: requests as the proxy forwards them.
_PROBE = """
import json
from django.conf import settings
from django.test import Client

c = Client(HTTP_HOST="billing.example.com")
plain = c.get("/healthz")
spoofed = c.get("/healthz", HTTP_X_FORWARDED_PROTO="http")
secure = c.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
login = c.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
csrf = login.cookies.get("csrftoken")
print("PROBE " + json.dumps({
    "plain": [plain.status_code, plain.get("Location"), plain.get("Strict-Transport-Security")],
    "spoofed": [spoofed.status_code, spoofed.get("Location")],
    "secure": [secure.status_code, secure.get("Strict-Transport-Security")],
    "login": login.status_code,
    "csrf_cookie_secure": bool(csrf and csrf["secure"]),
    "settings": {name: getattr(settings, name) for name in (
        "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SILENCED_SYSTEM_CHECKS")},
}))
"""


def test_behind_the_proxy_https_is_enforced_with_hsts_and_secure_cookies() -> None:
    result = _manage("shell", "-c", _PROBE, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("PROBE "))
    probe = json.loads(line[len("PROBE ") :])

    # Plain HTTP (or a client claiming "http") is sent to HTTPS, without HSTS.
    assert probe["plain"] == [301, "https://billing.example.com/healthz", None]
    assert probe["spoofed"] == [301, "https://billing.example.com/healthz"]
    # What the proxy forwarded as HTTPS is served, with a year of HSTS.
    assert probe["secure"][0] != 301
    assert probe["secure"][1] == "max-age=31536000; includeSubDomains; preload"
    assert probe["login"] == 200
    assert probe["csrf_cookie_secure"] is True
    assert probe["settings"] == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SILENCED_SYSTEM_CHECKS": [],
    }


def test_production_refuses_to_start_without_a_secret() -> None:
    result = _manage("check", DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0." in result.stderr
