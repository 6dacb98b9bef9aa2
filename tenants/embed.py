"""The origins a merchant lets frame its checkout (``Tenant.embed_domains``).

An origin is ``https://shop.example.com`` or ``http://localhost:8080``: a
scheme, a host and maybe a port; no path, query, wildcard or credentials. They
go into the ``frame-ancestors`` directive of the checkout pages and are the
only targets of the page's ``postMessage``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_EMBED_DOMAINS = 20
_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def embed_origin(value: Any) -> str:
    """``value`` as a normalized origin, or ``ValidationError`` saying why not."""
    if not isinstance(value, str):
        raise ValidationError(_("Each domain must be text."), code="invalid")
    raw = value.strip()
    shown = "".join(c for c in raw[:100] if c.isprintable())
    bad = _("“%(value)s” is not an origin like https://shop.example.com.") % {"value": shown}
    if not raw or len(raw) > 300 or any(ord(c) < 33 or c in "*\"'<>;\\" for c in raw):
        raise ValidationError(bad, code="invalid")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValidationError(bad, code="invalid") from None
    host = parts.hostname or ""
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.match(host)
        or parts.username
        or parts.password
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or raw.endswith(("#", "?"))
    ):
        raise ValidationError(bad, code="invalid")
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def embed_origins(value: Any) -> list[str]:
    """A list of origins (or one per line of text), normalized, deduplicated."""
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        raise ValidationError(_("Give a list of origins."), code="invalid")
    if len(value) > MAX_EMBED_DOMAINS:
        raise ValidationError(
            _("At most %(count)d domains.") % {"count": MAX_EMBED_DOMAINS}, code="invalid"
        )
    origins: list[str] = []
    for item in value:
        origin = embed_origin(item)
        if origin not in origins:
            origins.append(origin)
    return origins


def validate_embed_domains(value: Any) -> None:
    embed_origins(value)
