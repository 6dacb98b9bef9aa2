"""Sign-in to one merchant's portal by email: a one-time 6-digit code and a
magic link, both from one *challenge*.

A challenge lives in the cache (Redis) for ``CHALLENGE_TTL`` seconds under a
random id; it holds the customer it was made for (or nobody, when the email is
unknown: the answer and the work look the same, so the form does not tell who
has an account) and the HMACs of its code and link secret, never the secrets.
Using it deletes it, and only the caller whose delete removed it signs in, so a
code or link works once even when two requests race. Wrong codes are counted:
after ``MAX_ATTEMPTS`` the challenge is gone. Requests are limited per email
(at this tenant) and per client address.

The same email at two merchants is two identities: a challenge is keyed by its
tenant and names one customer of that tenant only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache as memoize

from django.conf import settings
from django.core.cache import cache

from core.errors import DomainError
from core.ratelimit import _hit
from customers.models import Customer
from tenants.models import Tenant

CHALLENGE_TTL = 15 * 60
MAX_ATTEMPTS = 5
PER_EMAIL_LIMIT = 5  # sign-in emails per address per window
PER_IP_LIMIT = 20  # sign-in requests per client address per window
RATE_WINDOW = 15 * 60
CODE_DIGITS = 6


class SignInRateLimited(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class Challenge:
    """What the requester gets back: the id (kept in their session) and, for the
    email only, the code and the link secret."""

    id: str
    customer: Customer | None
    code: str
    link_secret: str


def _digest(value: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"portal.signin:{value}".encode(), hashlib.sha256
    ).hexdigest()


def _key(tenant: Tenant, challenge_id: str) -> str:
    return f"portal:signin:{tenant.pk}:{challenge_id}"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_customer(*, tenant: Tenant, email: str) -> Customer | None:
    """The tenant's customer with this email (the newest when several share it)."""
    return (
        Customer.objects.filter(tenant=tenant, email__iexact=normalize_email(email))
        .order_by("-created_at", "-id")
        .first()
    )


def sign_in_request(*, tenant: Tenant, email: str, client_ip: str | None) -> Challenge:
    """Make a challenge for ``email`` at ``tenant``. Raises ``SignInRateLimited``
    when this address or this client asked too often (the same for known and
    unknown emails)."""
    email = normalize_email(email)
    ip_count = _hit(f"portal:signin:ip:{client_ip or '-'}", RATE_WINDOW)
    email_count = _hit(f"portal:signin:email:{tenant.pk}:{_digest(email)}", RATE_WINDOW)
    if (ip_count or 0) > PER_IP_LIMIT or (email_count or 0) > PER_EMAIL_LIMIT:
        raise SignInRateLimited("Too many sign-in requests. Wait a few minutes and try again.")
    customer = find_customer(tenant=tenant, email=email)
    challenge = Challenge(
        id=secrets.token_urlsafe(16),
        customer=customer,
        code=f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}",
        link_secret=secrets.token_urlsafe(24),
    )
    cache.set(
        _key(tenant, challenge.id),
        {
            "customer": customer.public_id if customer else None,
            "code": _digest(challenge.code),
            "link": _digest(challenge.link_secret),
        },
        timeout=CHALLENGE_TTL,
    )
    return challenge


def _consume(tenant: Tenant, challenge_id: str, field: str, secret: str) -> Customer | None:
    key = _key(tenant, challenge_id)
    held = cache.get(key)
    if not held or not held.get("customer"):
        return None
    if not hmac.compare_digest(held[field], _digest(secret)):
        return None
    if not cache.delete(key):  # another request used it first
        return None
    return Customer.objects.filter(tenant=tenant, public_id=held["customer"]).first()


def challenge_customer(*, tenant: Tenant, challenge_id: str) -> Customer | None:
    """Whom a live challenge was made for (for the audit of a wrong code only)."""
    if not challenge_id or len(challenge_id) > 64:
        return None
    held = cache.get(_key(tenant, challenge_id))
    if not held or not held.get("customer"):
        return None
    return Customer.objects.filter(tenant=tenant, public_id=held["customer"]).first()


def sign_in_with_code(*, tenant: Tenant, challenge_id: str, code: str) -> Customer | None:
    """The customer when ``code`` is right (and the challenge then spent); None
    otherwise. Each try counts; the ``MAX_ATTEMPTS``-th wrong one ends the challenge."""
    if not challenge_id or len(challenge_id) > 64:
        return None
    attempts = _hit(f"{_key(tenant, challenge_id)}:attempts", CHALLENGE_TTL)
    if attempts is not None and attempts > MAX_ATTEMPTS:
        cache.delete(_key(tenant, challenge_id))
        return None
    code = "".join(ch for ch in code if not ch.isspace())
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    return _consume(tenant, challenge_id, "code", code)


def sign_in_with_link(*, tenant: Tenant, challenge_id: str, secret: str) -> Customer | None:
    if not challenge_id or len(challenge_id) > 64 or not secret or len(secret) > 128:
        return None
    return _consume(tenant, challenge_id, "link", secret)


# --- Email and password (when the tenant allows it) -----------------------------

PASSWORD_PER_EMAIL_LIMIT = 10  # password tries per address (at this tenant) per window
PASSWORD_PER_IP_LIMIT = 30  # password tries per client address per window
MAX_PASSWORD_LENGTH = 4096


@memoize
def _dummy_hash() -> str:
    """A real hash of a random password, made once per process with the default
    hasher: checking against it costs what checking a customer's hash costs."""
    from django.contrib.auth.hashers import make_password

    return make_password(secrets.token_urlsafe(32))


def sign_in_with_password(
    *, tenant: Tenant, email: str, password: str, client_ip: str | None
) -> Customer | None:
    """The customer of ``tenant`` with this email and password, or None.

    No account enumeration: exactly one hash check runs whatever the email (an
    unknown one, or one without a password, is checked against a dummy hash),
    and the caller gives one answer for every refusal. Limited per client
    address and per email like code requests (``SignInRateLimited``)."""
    from django.contrib.auth.hashers import check_password

    if not isinstance(email, str) or not isinstance(password, str):
        return None
    email = normalize_email(email)
    ip_count = _hit(f"portal:signin:pw:ip:{client_ip or '-'}", RATE_WINDOW)
    email_count = _hit(f"portal:signin:pw:email:{tenant.pk}:{_digest(email)}", RATE_WINDOW)
    if (ip_count or 0) > PASSWORD_PER_IP_LIMIT or (email_count or 0) > PASSWORD_PER_EMAIL_LIMIT:
        raise SignInRateLimited("Too many sign-in attempts. Wait a few minutes and try again.")
    if not email or not password or len(password) > MAX_PASSWORD_LENGTH or "\x00" in email:
        check_password(secrets.token_urlsafe(8), _dummy_hash())  # the same work as a try
        return None
    customer = find_customer(tenant=tenant, email=email)
    encoded = customer.portal_password if customer is not None else ""
    matches = check_password(password, encoded or _dummy_hash())
    if customer is None or not encoded or not matches:
        return None
    return customer


# --- Email change: a code and a link sent to the NEW address ---------------------


def _email_key(tenant: Tenant, challenge_id: str) -> str:
    return f"portal:emailchange:{tenant.pk}:{challenge_id}"


def email_change_request(*, tenant: Tenant, customer: Customer, new_email: str) -> Challenge:
    """A challenge proving the subscriber reads ``new_email``; the email changes
    only when it is answered. Limited like sign-in requests, per customer."""
    new_email = new_email.strip()
    count = _hit(f"portal:emailchange:rate:{tenant.pk}:{customer.pk}", RATE_WINDOW)
    if (count or 0) > PER_EMAIL_LIMIT:
        raise SignInRateLimited("Too many requests. Wait a few minutes and try again.")
    challenge = Challenge(
        id=secrets.token_urlsafe(16),
        customer=customer,
        code=f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}",
        link_secret=secrets.token_urlsafe(24),
    )
    cache.set(
        _email_key(tenant, challenge.id),
        {
            "customer": customer.public_id,
            "email": new_email,
            "code": _digest(challenge.code),
            "link": _digest(challenge.link_secret),
        },
        timeout=CHALLENGE_TTL,
    )
    return challenge


def email_change_verify(
    *, tenant: Tenant, customer: Customer, challenge_id: str, code: str = "", secret: str = ""
) -> str | None:
    """The verified new email when ``code`` (or the link's ``secret``) answers
    this customer's challenge (then spent); None otherwise."""
    if not challenge_id or len(challenge_id) > 64 or len(secret) > 128:
        return None
    key = _email_key(tenant, challenge_id)
    attempts = _hit(f"{key}:attempts", CHALLENGE_TTL)
    if attempts is not None and attempts > MAX_ATTEMPTS:
        cache.delete(key)
        return None
    held = cache.get(key)
    if not held or held.get("customer") != customer.public_id:
        return None
    field, value = ("link", secret) if secret else ("code", "".join(code.split()))
    if not value or not hmac.compare_digest(held[field], _digest(value)):
        return None
    if not cache.delete(key):
        return None
    return str(held["email"])
