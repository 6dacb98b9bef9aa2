"""A plan's list price: what one full period costs for a quantity of seats.

The catalog's arithmetic (flat, per seat, graduated or volume tiers): it reads
nothing but the plan's own price table, so the catalog can check a price before
anything is sold. Everything that moves an amount away from the list price —
proration, coupons, taxes, rounding — is billing's (``billing.domain``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Tier:
    up_to: int | None  # inclusive upper bound of units; None = infinity
    unit_amount_minor: int
    flat_amount_minor: int = 0


class PricingModel(StrEnum):
    FLAT = "flat"
    PER_SEAT = "per_seat"
    GRADUATED = "graduated"
    VOLUME = "volume"


def recurring_amount(
    *, model: str, unit_amount_minor: int, quantity: int, tiers: Sequence[Tier] = ()
) -> int:
    """The price of one full period for ``quantity`` seats."""
    if quantity < 0:
        raise ValueError("Quantity cannot be negative.")
    if model == PricingModel.FLAT:
        return unit_amount_minor
    if model == PricingModel.PER_SEAT:
        return unit_amount_minor * quantity
    if not tiers:
        raise ValueError("Tiered pricing needs tiers.")
    if model == PricingModel.VOLUME:
        for tier in tiers:
            if tier.up_to is None or quantity <= tier.up_to:
                return tier.unit_amount_minor * quantity + tier.flat_amount_minor
        raise ValueError("No tier covers this quantity.")
    if model == PricingModel.GRADUATED:
        total, below = 0, 0
        for tier in tiers:
            top = quantity if tier.up_to is None else min(quantity, tier.up_to)
            units = max(0, top - below)
            if units:
                total += units * tier.unit_amount_minor + tier.flat_amount_minor
            if tier.up_to is None or quantity <= tier.up_to:
                return total
            below = tier.up_to
        raise ValueError("No tier covers this quantity.")
    raise ValueError(f"Unknown pricing model: {model}")


def tiers_of(rows: Iterable[Mapping[str, Any]] | None) -> tuple[Tier, ...]:
    """A plan's stored tier table (``Plan.tiers``) as ``Tier`` values."""
    return tuple(
        Tier(
            up_to=t.get("up_to"),
            unit_amount_minor=int(t.get("unit_amount_minor", 0)),
            flat_amount_minor=int(t.get("flat_amount_minor", 0)),
        )
        for t in rows or []
    )
