"""Who acts: a staff user, a subscriber, an API key, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # one of tenants.models.AuditEntry.ActorType
    id: str = ""
    label: str = ""

    @classmethod
    def staff(cls, user: Any) -> Actor:
        return cls("staff", str(user.pk), user.email or str(user))

    @classmethod
    def subscriber(cls, customer: Any) -> Actor:
        return cls("subscriber", str(customer.pk), getattr(customer, "email", "") or str(customer))

    @classmethod
    def api_key(cls, key: Any) -> Actor:
        return cls("api_key", str(key.pk), key.masked)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls("system", "", label)


SYSTEM = Actor.system()
