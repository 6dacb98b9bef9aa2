"""The reasons a subscriber picks from when cancelling (``Tenant.cancel_reasons``).

A merchant keeps an ordered list of ``{"code", "label"}``: codes are stable
slugs (reports and events use them), labels are what subscribers read. An empty
list means the merchant never edited it: the built-in defaults apply, worded in
the language asked for (the tenant's on the dashboard and the API, the page's
in the portal). A cancellation keeps the code and the label it was shown, so a
later rename never rewrites history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from tenants.models import Tenant

MAX_CANCEL_REASONS = 20
MAX_REASON_LABEL = 200
MAX_REASON_CODE = 64
_CODE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")

DEFAULT_CANCEL_REASONS = (
    ("too_expensive", _("It is too expensive")),
    ("not_using", _("I do not use it enough")),
    ("missing_features", _("Features I need are missing")),
    ("switched", _("I am switching to another service")),
    ("quality", _("Quality or support problems")),
    ("temporary", _("I only need a break")),
    ("other", _("Other")),
)


@dataclass(frozen=True, slots=True)
class CancelReason:
    code: str
    label: str


def default_cancel_reasons(language: str) -> list[CancelReason]:
    with translation.override(language):
        return [CancelReason(code, str(label)) for code, label in DEFAULT_CANCEL_REASONS]


def cancel_reasons_of(tenant: Tenant, language: str | None = None) -> list[CancelReason]:
    """The tenant's reasons in order; the defaults (in ``language``, else the
    tenant's) while the merchant has not set its own."""
    stored = tenant.cancel_reasons or []
    if not stored:
        return default_cancel_reasons(language or tenant.locale)
    return [CancelReason(str(r["code"]), str(r["label"])) for r in stored]


def clean_cancel_reasons(value: Any) -> list[dict[str, str]]:
    """``value`` (a list of {code, label}) checked and normalised, or
    ``ValidationError`` naming the first problem. An empty list restores the
    built-in defaults."""
    if not isinstance(value, list):
        raise ValidationError(gettext("Give a list of reasons."), code="invalid")
    if not value:
        return []  # back to the built-in defaults
    if len(value) > MAX_CANCEL_REASONS:
        raise ValidationError(
            gettext("At most %(count)d reasons.") % {"count": MAX_CANCEL_REASONS}, code="invalid"
        )
    seen: set[str] = set()
    cleaned: list[dict[str, str]] = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, dict) or set(item) - {"code", "label"}:
            raise ValidationError(
                gettext("Reason %(n)d: give a code and a label.") % {"n": n}, code="invalid"
            )
        code, label = item.get("code"), item.get("label")
        if not isinstance(code, str) or not isinstance(label, str):
            raise ValidationError(
                gettext("Reason %(n)d: give a code and a label.") % {"n": n}, code="invalid"
            )
        code, label = code.strip(), label.strip()
        if not _CODE.match(code) or len(code) > MAX_REASON_CODE:
            raise ValidationError(
                gettext(
                    "Reason %(n)d: the code must be lowercase letters, digits, - or _ "
                    "(up to %(max)d characters)."
                )
                % {"n": n, "max": MAX_REASON_CODE},
                code="invalid",
            )
        if code in seen:
            raise ValidationError(
                gettext("Reason %(n)d: the code “%(code)s” is used twice.")
                % {"n": n, "code": code},
                code="invalid",
            )
        if not label or "\x00" in label or len(label) > MAX_REASON_LABEL:
            raise ValidationError(
                gettext("Reason %(n)d: the label must be 1 to %(max)d characters of text.")
                % {"n": n, "max": MAX_REASON_LABEL},
                code="invalid",
            )
        seen.add(code)
        cleaned.append({"code": code, "label": label})
    return cleaned


def validate_cancel_reasons(value: Any) -> None:
    clean_cancel_reasons(value)


def parse_cancel_reasons_text(text: str) -> list[dict[str, str]]:
    """The dashboard's textarea: one ``code | label`` per line, in order."""
    rows: list[dict[str, str]] = []
    for n, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        code, sep, label = line.partition("|")
        if not sep:
            raise ValidationError(
                gettext("Line %(n)d: write it as code | label.") % {"n": n}, code="invalid"
            )
        rows.append({"code": code.strip(), "label": label.strip()})
    return clean_cancel_reasons(rows)


def cancel_reasons_text(reasons: list[CancelReason]) -> str:
    return "\n".join(f"{r.code} | {r.label}" for r in reasons)
