"""Rendering messages: Ciclo's default templates, or the tenant's own wording.

Defaults are project templates (``notifications/{email,sms}/<key>…``), written
with ``{% translate %}`` / ``{% blocktranslate %}`` and rendered under the
message's language. A tenant's ``MessageTemplate`` is rendered by a sandboxed
engine: no loaders (no ``include``/``extends``), no ``load``, no ``debug``,
only the tags and filters registered below, and a context of plain strings, so
it can reach nothing but the values it is given. It is also bounded (issue 12):
no loop inside a loop, no filter result or output beyond ``MAX_OUTPUT_CHARS``
and no render longer than ``MAX_RENDER_SECONDS``, so a template built to
multiply cannot pin a worker. Both produce plain text; the
email's HTML part is that text escaped, in paragraphs, inside the tenant's
branded layout.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings
from django.template import defaultfilters, defaulttags
from django.template.base import Node, NodeList
from django.template.defaulttags import ForNode, IfNode
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
# The bounds: far beyond any real message (an SMS holds 1,600 characters).
MAX_OUTPUT_CHARS = 100_000
MAX_RENDER_SECONDS = 0.5
MAX_LOOP_DEPTH = 1


class TemplateError(ValueError):
    """A merchant's template that does not compile or render; the message says why."""


class TemplateLimitExceeded(TemplateError):
    """A template that renders too much or for too long (checked while rendering)."""


class _Budget:
    """What one render may still spend: characters and time."""

    def __init__(self) -> None:
        self.chars = 0
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(
                f"The template takes longer than {MAX_RENDER_SECONDS:g} s to render "
                "(a loop over too much text?)."
            )

    def check_size(self, length: int) -> None:
        if length > MAX_OUTPUT_CHARS:
            raise TemplateLimitExceeded(
                f"The template's text would exceed {MAX_OUTPUT_CHARS:,} characters."
            )

    def spend(self, length: int) -> None:
        self.chars += length
        self.check_size(self.chars)
        self.check_time()


_budget: ContextVar[_Budget | None] = ContextVar("tenant_template_budget", default=None)


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, refusing arguments or results that would blow past the bounds."""

    @functools.wraps(func)  # keeps is_safe / needs_autoescape
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget.get() or _Budget()
        budget.check_time()
        if name in ("center", "ljust", "rjust") and args:
            width = 0
            with contextlib.suppress(TypeError, ValueError):  # Django answers a bad width
                width = int(args[0])
            budget.check_size(width)  # before the filter allocates it
        if name == "join" and args:
            size = len(value) if hasattr(value, "__len__") else 0
            budget.check_size(size * (len(str(args[0])) + 1))
        result = func(value, *args, **kwargs)
        if hasattr(result, "__len__"):
            budget.check_size(len(result))
        return result

    return bounded


for _name in _TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name in _FILTERS:
    register.filters[_name] = _bounded_filter(_name, defaultfilters.register.filters[_name])


class _Metered(Node):
    """A plain node (text, variable, firstof) whose output counts against the budget.

    Loops render their body node by node, so the count sits on the nodes."""

    def __init__(self, inner: Node):
        self.inner = inner
        self.token = inner.token
        self.origin = inner.origin

    def render(self, context: template.Context) -> str:
        bit = self.inner.render_annotated(context)
        budget = _budget.get()
        if budget is not None:
            budget.spend(len(bit))
        return bit


def _children(node: Node) -> list[tuple[Any, str | int]]:
    """(holder, attribute or index) of every node list a node renders."""
    if isinstance(node, IfNode):
        return [(node.conditions_nodelists, i) for i in range(len(node.conditions_nodelists))]
    return [(node, name) for name in node.child_nodelists if getattr(node, name, None)]


def _bound(nodelist: NodeList, depth: int = 0) -> NodeList:
    """The compiled tree with every plain node metered; a loop inside a loop refused."""
    bounded = NodeList()
    for node in nodelist:
        inner = depth + 1 if isinstance(node, ForNode) else depth
        if inner > MAX_LOOP_DEPTH:
            raise TemplateError("A loop inside another loop is not allowed in a message template.")
        children = _children(node)
        for holder, key in children:
            if isinstance(holder, list):
                condition, child = holder[key]  # type: ignore[index]
                holder[key] = (condition, _bound(child, inner))  # type: ignore[index]
            else:
                setattr(holder, key, _bound(getattr(holder, key), inner))  # type: ignore[arg-type]
        bounded.append(node if children else _Metered(node))
    bounded.contains_nontext = nodelist.contains_nontext
    return bounded


class _TenantTemplate(template.Template):
    """A merchant's template: compiled bounded, rendered within a budget."""

    def compile_nodelist(self) -> NodeList:
        return _bound(super().compile_nodelist())

    def render(self, context: template.Context) -> str:  # type: ignore[override]
        token = _budget.set(_Budget())
        try:
            return super().render(context)
        finally:
            _budget.reset(token)


class _SandboxEngine(template.Engine):
    # Replaces Django's builtins (which include include/extends/load/debug).
    default_builtins = ["notifications.rendering"]


_sandbox: _SandboxEngine | None = None


def sandbox() -> _SandboxEngine:
    global _sandbox  # built once, lazily (the apps must be ready)
    if _sandbox is None:
        _sandbox = _SandboxEngine(dirs=[], app_dirs=False, loaders=[], autoescape=False)
    return _sandbox


def compile_tenant_template(source: str) -> template.Template:
    try:
        return _TenantTemplate(source, engine=sandbox())
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
