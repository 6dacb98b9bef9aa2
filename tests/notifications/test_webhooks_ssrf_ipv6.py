"""Issue 12, finding 3: IPv6 addresses that carry a private IPv4 address are
refused like that IPv4 address, as literals in the URL and as names that
resolve to them (a local resolver stub), when saved and at connect time, where
every resolved address is judged (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from core.errors import ValidationFailed
from notifications.webhooks import urlguard

# (form, IPv6 address carrying a private or internal IPv4 address)
CARRIERS = [
    ("NAT64 metadata", "64:ff9b::a9fe:a9fe"),
    ("NAT64 loopback", "64:ff9b::7f00:1"),
    ("NAT64 local-use prefix", "64:ff9b:1::a00:1"),
    ("IPv4-compatible metadata", "::a9fe:a9fe"),
    ("IPv4-compatible loopback", "::127.0.0.1"),
    ("IPv4-compatible private", "::10.0.0.1"),
    ("6to4 metadata", "2002:a9fe:a9fe::"),
    ("6to4 private", "2002:c0a8:1::1"),
    ("Teredo, private client", "2001:0:4136:e378:8000:63bf:f5ff:fffe"),  # client 10.0.0.1
    ("Teredo, private server", "2001:0:a00:1::1"),
    ("IPv4-mapped private", "::ffff:10.0.0.1"),
    ("IPv4-mapped metadata", "::ffff:169.254.169.254"),
    ("IPv4-translated (SIIT)", "::ffff:0:a9fe:a9fe"),
    ("ISATAP", "2001:db8::5efe:a9fe:a9fe"),
]
IDS = [form for form, _ in CARRIERS]


class ResolverStub:
    """getaddrinfo answering from a table: names that resolve where we say."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "stub: unknown name")
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port or 443, 0, 0) if ":" in a else (a, port or 443),
            )
            for a in self.table[host]
        ]


@pytest.fixture(autouse=True)
def _no_local_urls(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_LOCAL_URLS = False


@pytest.mark.parametrize(("form", "address"), CARRIERS, ids=IDS)
def test_the_address_is_judged_by_the_ipv4_it_carries(form: str, address: str) -> None:
    assert not urlguard._address_allowed(ipaddress.ip_address(address), local=False)


@pytest.mark.parametrize(("form", "address"), CARRIERS, ids=IDS)
def test_a_url_naming_the_address_is_refused(form: str, address: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        urlguard.validate_url(f"https://[{address}]/hooks")

    assert caught.value.code == "url_not_public"


@pytest.mark.parametrize(("form", "address"), CARRIERS, ids=IDS)
def test_a_name_resolving_to_the_address_is_refused_when_saved_and_at_connect_time(
    monkeypatch: pytest.MonkeyPatch, form: str, address: str
) -> None:
    # Every address is judged: one public answer does not clear a private one.
    monkeypatch.setattr(
        urlguard.socket,
        "getaddrinfo",
        ResolverStub({"hooks.example.com": ["93.184.215.14", address]}),
    )

    with pytest.raises(ValidationFailed) as caught:
        urlguard.validate_url("https://hooks.example.com/x")
    with pytest.raises(urlguard.UnsafeAddress):
        urlguard._GuardedBackend(local=False).connect_tcp("hooks.example.com", 443)

    assert caught.value.code == "url_not_public"


def test_a_name_that_rebinds_after_it_was_saved_is_refused_at_connect_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stub = ResolverStub({"hooks.example.com": ["93.184.215.14"]})
    monkeypatch.setattr(urlguard.socket, "getaddrinfo", stub)
    assert urlguard.validate_url("https://hooks.example.com/x") == "https://hooks.example.com/x"

    stub.table["hooks.example.com"] = ["64:ff9b::a9fe:a9fe"]

    with pytest.raises(urlguard.UnsafeAddress):
        urlguard._GuardedBackend(local=False).connect_tcp("hooks.example.com", 443)


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::808:808", "2002:5db8:d70e::1", "::ffff:93.184.215.14", "2606:4700:4700::1111"],
)
def test_ipv6_forms_carrying_a_public_address_stay_allowed(address: str) -> None:
    assert urlguard._address_allowed(ipaddress.ip_address(address), local=False)
