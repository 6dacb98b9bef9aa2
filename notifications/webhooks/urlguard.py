"""The URL guard (SSRF): an endpoint's URL must name a public address, judged
when it is saved (``validate_url``) and again at connect time, on every address
the name resolves to (``_GuardedBackend``), so a name cannot rebind to an
internal address in between. IPv6 forms that carry an IPv4 address are judged
by the IPv4 address they carry."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import ValidationFailed

MAX_URL_LENGTH = 2048
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


# IPv6 forms that carry an IPv4 address in their last 32 bits and reach it:
# NAT64 (well-known and local-use prefixes) and SIIT's IPv4-translated form.
_NAT64 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
)
_ISATAP_IDS = (b"\x00\x00\x5e\xfe", b"\x02\x00\x5e\xfe")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries (issue 12, finding 3): a
    gateway or the host's own stack may deliver to it, so it is judged as IPv4."""
    found: list[ipaddress.IPv4Address] = []
    last32 = ipaddress.IPv4Address(ip.packed[-4:])
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        found.append(ip.ipv4_mapped)
    if ip.packed[:12] == bytes(12) and int(ip) > 1:  # IPv4-compatible ::a.b.c.d
        found.append(last32)
    if any(ip in net for net in _NAT64):
        found.append(last32)
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48
        found.append(ip.sixtofour)
    if ip.teredo is not None:  # 2001:0::/32: (server, client)
        found.extend(ip.teredo)
    if ip.packed[8:12] in _ISATAP_IDS:  # ISATAP interface id ::5efe:a.b.c.d
        found.append(last32)
    return found


def _address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, local: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)):
        return all(_address_allowed(v4, local=local) for v4 in embedded)
    if ip.is_loopback:
        return local
    return ip.is_global and not ip.is_multicast


def validate_url(url: Any) -> str:
    """An https URL on a public address (http on localhost when local URLs are
    allowed, in development and tests). Names are resolved when they can be;
    the sender checks again at connect time, so a name that later resolves to
    an internal address is refused then."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed(_("Enter the endpoint's URL."), param="url", code="invalid_url")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationFailed(_("This URL is not valid."), param="url", code="invalid_url")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ValidationFailed(
            _("This URL is not valid."), param="url", code="invalid_url"
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationFailed(_("Use an https:// URL."), param="url", code="invalid_url")
    local_allowed = settings.WEBHOOK_ALLOW_LOCAL_URLS
    is_local_name = host in _LOCAL_NAMES or host.endswith(".localhost")
    if parts.scheme != "https" and not (local_allowed and is_local_name):
        raise ValidationFailed(_("Use an https:// URL."), param="url", code="insecure_url")
    unsafe = ValidationFailed(
        _("This URL points to a private or internal address; use a public one."),
        param="url",
        code="url_not_public",
    )
    if is_local_name:
        if not local_allowed:
            raise unsafe
        return url
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not _address_allowed(literal, local=False):
            raise unsafe
        return url
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return url  # not resolvable now: the sender checks (and retries) later
    if any(not _address_allowed(ipaddress.ip_address(i[4][0]), local=False) for i in infos):
        raise unsafe
    return url


class UnsafeAddress(httpcore.ConnectError):
    """The endpoint's name resolved to a private or internal address."""


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to a public address (SSRF),
    to the very address it checked, so a name cannot re-resolve in between."""

    def __init__(self, *, local: bool) -> None:
        self.local = local

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses or any(not _address_allowed(a, local=self.local) for a in addresses):
            raise UnsafeAddress(f"{host} resolves to a private or internal address")
        return super().connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)
