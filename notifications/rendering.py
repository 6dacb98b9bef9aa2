"""Rendering messages: Ciclo's default templates, or the tenant's own wording.

Defaults are project templates (``notifications/{email,sms}/<key>…``), written
with ``{% translate %}`` / ``{% blocktranslate %}`` and rendered under the
message's language. A tenant's ``MessageTemplate`` is rendered by a sandboxed
engine: no loaders (no ``include``/``extends``), no ``load``, no ``debug``,
only the tags and filters registered below, and a context of plain strings, so
it can reach nothing but the values it is given. Both produce plain text; the
email's HTML part is that text escaped, in paragraphs, inside the tenant's
branded layout.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings
from django.template import defaultfilters, defaulttags
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe

from notifications import catalog
from tenants.models import Tenant

# --- the sandbox: the tags and filters a merchant's template may use ------------

register = template.Library()
_TAGS = ("if", "for", "with", "firstof", "comment", "spaceless")
_FILTERS = (
    "add",
    "capfirst",
    "center",
    "cut",
    "default",
    "default_if_none",
    "first",
    "join",
    "last",
    "length",
    "ljust",
    "lower",
    "pluralize",
    "rjust",
    "slice",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "wordcount",
    "wordwrap",
    "yesno",
)
for _name in _TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name in _FILTERS:
    register.filters[_name] = defaultfilters.register.filters[_name]


class _SandboxEngine(template.Engine):
    # Replaces Django's builtins (which include include/extends/load/debug).
    default_builtins = ["notifications.rendering"]


_sandbox: _SandboxEngine | None = None


def sandbox() -> _SandboxEngine:
    global _sandbox  # built once, lazily (the apps must be ready)
    if _sandbox is None:
        _sandbox = _SandboxEngine(dirs=[], app_dirs=False, loaders=[], autoescape=False)
    return _sandbox


class TemplateError(ValueError):
    """A merchant's template that does not compile; the message says where."""


def compile_tenant_template(source: str) -> template.Template:
    try:
        return sandbox().from_string(source)
    except template.TemplateSyntaxError as exc:
        raise TemplateError(str(exc)) from exc


def _plain(context: Mapping[str, Any]) -> dict[str, str]:
    """Only strings and numbers reach a template, whatever the caller passed."""
    return {
        str(k): v if isinstance(v, str | int) and not isinstance(v, bool) else ""
        for k, v in context.items()
    }


# --- rendering ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str = ""


def _one_line(value: str, limit: int = 200) -> str:
    return re.sub(r"[ \t\r\n]+", " ", value).strip(" ")[:limit]


def _tidy(text: str) -> str:
    # Templates leave blank lines around tags; keep paragraphs, drop the rest.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _render_default(name: str, values: Mapping[str, str]) -> str:
    """A default text template, unescaped: it is plain text, not HTML."""
    from django.template.loader import get_template

    compiled = get_template(name).template  # type: ignore[attr-defined]
    return compiled.render(template.Context(values, autoescape=False))


def tenant_override(*, tenant: Tenant, key: str, channel: str, language: str) -> Any:
    from notifications.models import MessageTemplate

    return MessageTemplate.objects.filter(
        tenant=tenant, key=key, channel=channel, language=language
    ).first()


def render_text(
    *,
    key: str,
    channel: str,
    language: str,
    context: Mapping[str, Any],
    override: Any = None,
) -> tuple[str, str]:
    """(subject, text) of one message, from the tenant's override or the default."""
    values = _plain(context)
    with translation.override(language):
        base = f"notifications/{channel}/{key}"
        subject = ""
        if override is not None:
            text = compile_tenant_template(override.body).render(
                template.Context(values, autoescape=False)
            )
            if override.subject:
                subject = compile_tenant_template(override.subject).render(
                    template.Context(values, autoescape=False)
                )
        else:
            text = _render_default(f"{base}.txt", values)
        if not subject and channel == catalog.EMAIL:
            subject = _render_default(f"{base}_subject.txt", values)
    return _one_line(subject), _tidy(text)


def _paragraphs(text: str) -> str:
    """Escaped text as HTML paragraphs, with links made clickable."""
    from django.utils.html import urlize

    return linebreaks(urlize(text, autoescape=True), autoescape=False)


def _logo_url(tenant: Tenant) -> str:
    if not tenant.logo:
        return ""
    url = tenant.logo.url
    return url if url.startswith("http") else f"{settings.SITE_URL.rstrip('/')}{url}"


def render_email_html(
    *,
    tenant: Tenant,
    key: str,
    language: str,
    subject: str,
    text: str,
    context: Mapping[str, Any],
) -> str:
    kind = catalog.get(key)
    values = _plain(context)
    action = None
    if kind is not None and kind.action is not None and values.get(kind.action[1]):
        url = values[kind.action[1]]
        # Only web links become buttons (a template value is never a javascript: URL).
        if url.startswith(("https://", "http://")):
            action = {"label": kind.action[0], "url": url}
    with translation.override(language):
        return render_to_string(
            "notifications/email/layout.html",
            {
                "language": language,
                "subject": subject,
                "body": mark_safe(_paragraphs(text)),  # noqa: S308 - escaped by _paragraphs
                "action": action,
                "brand": {
                    "name": tenant.name,
                    "color": tenant.primary_color,
                    "logo": _logo_url(tenant),
                    "support_email": tenant.support_email,
                },
                "unsubscribe_url": values.get("unsubscribe_url", ""),
            },
        )


def render_message(
    *,
    tenant: Tenant,
    key: str,
    channel: str,
    language: str,
    context: Mapping[str, Any],
    override: Any = None,
    use_override: bool = True,
) -> Rendered:
    """The whole message; the tenant's override for (key, channel, language)
    is looked up unless one is given (the preview passes an unsaved one)."""
    if override is None and use_override:
        override = tenant_override(tenant=tenant, key=key, channel=channel, language=language)
    subject, text = render_text(
        key=key, channel=channel, language=language, context=context, override=override
    )
    html = ""
    if channel == catalog.EMAIL:
        html = render_email_html(
            tenant=tenant, key=key, language=language, subject=subject, text=text, context=context
        )
    return Rendered(subject=subject, text=text, html=html)
