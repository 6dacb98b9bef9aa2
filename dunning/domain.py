"""Pure dunning logic: the default régua, step validation, when each step is due
and where a smart retry goes. No ORM, no clock: time is passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from core.errors import ValidationFailed
from core.localtime import to_local

ACTIONS = ("remind", "retry", "suspend", "cancel", "uncollectible")
ACTION_RANK = {name: i for i, name in enumerate(ACTIONS)}
CHANNELS = ("email", "sms")
MIN_OFFSET, MAX_OFFSET = -60, 180
MAX_STEPS = 30
TEMPLATE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")

# Smart retry: the tenant's own card history must hold at least MIN_HISTORY
# settled attempts in the last HISTORY_DAYS, and the chosen (weekday, hour)
# bucket at least MIN_BUCKET of them; otherwise the fixed schedule stands. The
# retry may move within its own local day and the next WINDOW_DAYS - 1 days,
# never before the previous step nor at or after the next one.
HISTORY_DAYS = 180
MIN_HISTORY = 100
MIN_BUCKET = 10
WINDOW_DAYS = 3


@dataclass(frozen=True, slots=True)
class StepSpec:
    offset_days: int
    action: str
    channels: tuple[str, ...] = ()
    template: str = ""

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.offset_days, ACTION_RANK[self.action])


def _reminder_template(offset: int) -> str:
    if offset < 0:
        return "dunning_reminder_before"
    return "dunning_reminder_due" if offset == 0 else "dunning_reminder_overdue"


_CARD = (
    *(StepSpec(d, "retry", ("email",), "dunning_payment_failed") for d in (1, 3, 5, 7)),
    StepSpec(15, "cancel"),
)
_OFFLINE = (
    *(StepSpec(d, "remind", ("email",), _reminder_template(d)) for d in (-5, -1, 0, 1, 3, 7)),
    StepSpec(10, "suspend"),
    StepSpec(30, "cancel"),
)
# Pix Automático: the payer's PSP already retried once the same evening; the
# merchant may order up to three more attempts within seven days of the due date
# when the mandate allows (PERMITE_3R_7D) — D+1, D+3, D+6 — then access is
# suspended and the subscription cancelled like the other Pix.
_PIX_AUTOMATICO = (
    StepSpec(0, "remind", ("email",), "dunning_payment_failed"),
    *(StepSpec(d, "retry", ("email",), "dunning_payment_failed") for d in (1, 3, 6)),
    StepSpec(10, "suspend"),
    StepSpec(30, "cancel"),
)
PIX_AUTOMATICO_RETRY_DAYS = 7
DEFAULT_STEPS: Mapping[str, tuple[StepSpec, ...]] = {
    "card": _CARD,
    "boleto": _OFFLINE,
    "pix": _OFFLINE,
    "pix_automatico": _PIX_AUTOMATICO,
}


def _whole(value: Any, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def validate_run_hour(value: Any) -> int:
    if not _whole(value, 0, 23):
        raise ValidationFailed("run_hour must be a whole number from 0 to 23.", param="run_hour")
    return int(value)


def validate_steps(raw: Any) -> list[StepSpec]:
    """Check a merchant's steps; the result is in running order."""
    if not isinstance(raw, list | tuple):
        raise ValidationFailed("steps must be a list.", param="steps")
    if len(raw) > MAX_STEPS:
        raise ValidationFailed(f"A policy has at most {MAX_STEPS} steps.", param="steps")
    specs: list[StepSpec] = []
    seen: set[tuple[int, str]] = set()
    for i, item in enumerate(raw):
        where = f"steps[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed(f"{where} must be an object.", param=where)
        unknown = set(item) - {"offset_days", "action", "channels", "template"}
        if unknown:
            raise ValidationFailed(
                f"{where}: unknown field {sorted(unknown)[0]}.",
                param=f"{where}.{sorted(unknown)[0]}",
            )
        offset, action = item.get("offset_days"), item.get("action")
        if not _whole(offset, MIN_OFFSET, MAX_OFFSET):
            raise ValidationFailed(
                f"{where}: offset_days must be a whole number from {MIN_OFFSET} to {MAX_OFFSET}.",
                param=f"{where}.offset_days",
            )
        if action not in ACTIONS:
            raise ValidationFailed(
                f"{where}: action must be one of {', '.join(ACTIONS)}.", param=f"{where}.action"
            )
        channels = item.get("channels", [])
        if (
            not isinstance(channels, list | tuple)
            or any(c not in CHANNELS for c in channels)
            or len(set(channels)) != len(channels)
        ):
            raise ValidationFailed(
                f"{where}: channels must be a list of distinct values among email, sms.",
                param=f"{where}.channels",
            )
        template = item.get("template", "")
        if not isinstance(template, str) or len(template) > 64 or set(template) - TEMPLATE_CHARS:
            raise ValidationFailed(
                f"{where}: template must be a key of lowercase letters, digits and _.",
                param=f"{where}.template",
            )
        if action == "remind" and (not channels or not template):
            raise ValidationFailed(
                f"{where}: a reminder needs at least one channel and a template.",
                param=f"{where}.channels" if not channels else f"{where}.template",
            )
        if action not in ("remind", "retry") and (channels or template):
            raise ValidationFailed(
                f"{where}: only reminders and retries send messages.", param=f"{where}.channels"
            )
        if bool(channels) != bool(template):
            raise ValidationFailed(
                f"{where}: a message needs both channels and a template.",
                param=f"{where}.template",
            )
        if (offset, action) in seen:
            raise ValidationFailed(
                f"{where}: the policy already has a {action} step on day {offset:+d}.",
                param=f"{where}.offset_days",
                code="duplicate_step",
            )
        seen.add((offset, action))
        specs.append(StepSpec(offset, action, tuple(channels), template))
    specs.sort(key=lambda s: s.sort_key)
    ends = [s for s in specs if s.action in ("cancel", "uncollectible")]
    if ends and any(s.offset_days > ends[0].offset_days for s in specs if s.action == "suspend"):
        raise ValidationFailed(
            "A suspension after the cancellation or write-off would never run.",
            param="steps",
            code="step_after_end",
        )
    return specs


def step_moment(due_at: datetime, offset_days: int, run_hour: int, tz: str) -> datetime:
    """The moment a step is due: the due date's local day + offset, at the
    policy's local hour."""
    day = to_local(due_at, tz).date() + timedelta(days=offset_days)
    return _at(day, run_hour, tz)


def _at(day: date, hour: int, tz: str) -> datetime:
    """``hour`` o'clock on ``day`` on the tenant's wall clock, in UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(tz)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Attempted:
    """One settled charge of the tenant's history."""

    at: datetime
    succeeded: bool


def success_buckets(
    history: Sequence[Attempted], tz: str
) -> dict[tuple[int, int], tuple[int, int]]:
    """(local weekday, local hour) → (successes, attempts)."""
    buckets: dict[tuple[int, int], tuple[int, int]] = {}
    for item in history:
        local = to_local(item.at, tz)
        key = (local.weekday(), local.hour)
        won, total = buckets.get(key, (0, 0))
        buckets[key] = (won + int(item.succeeded), total + 1)
    return buckets


def smart_slot(
    *,
    fixed: datetime,
    history: Sequence[Attempted],
    tz: str,
    after: datetime,
    before: datetime | None,
) -> datetime | None:
    """The best hour for a retry whose fixed moment is ``fixed``: the slot of its
    window whose (weekday, hour) has the highest success rate in ``history``
    (ties: the earliest). None when the history is too thin to say."""
    if len(history) < MIN_HISTORY:
        return None
    buckets = success_buckets(history, tz)
    first_day: date = to_local(fixed, tz).date()
    best: tuple[Fraction, datetime] | None = None
    for day_offset in range(WINDOW_DAYS):
        day = first_day + timedelta(days=day_offset)
        for hour in range(24):
            moment = _at(day, hour, tz)
            if moment <= after or (before is not None and moment >= before):
                continue
            won, total = buckets.get((day.weekday(), hour), (0, 0))
            if total < MIN_BUCKET:
                continue
            rate = Fraction(won, total)
            if best is None or rate > best[0]:
                best = (rate, moment)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class PlannedRun:
    index: int  # position of the step in the policy's running order
    scheduled_at: datetime
    smart: bool


def plan_schedule(
    *,
    steps: Sequence[StepSpec],
    due_at: datetime,
    run_hour: int,
    tz: str,
    opened_at: datetime,
    smart_retry: bool = False,
    history: Sequence[Attempted] = (),
) -> list[PlannedRun]:
    """When each step runs. Fixed moments never go backwards; a smart retry moves
    within its window, strictly between its neighbours."""
    fixed = [step_moment(due_at, s.offset_days, run_hour, tz) for s in steps]
    planned: list[PlannedRun] = []
    previous = opened_at
    for i, (spec, moment) in enumerate(zip(steps, fixed, strict=True)):
        chosen, smart = moment, False
        if smart_retry and spec.action == "retry":
            later = [m for m in fixed[i + 1 :] if m > moment]
            slot = smart_slot(
                fixed=moment,
                history=history,
                tz=tz,
                after=max(previous, opened_at),
                before=later[0] if later else None,
            )
            if slot is not None:
                chosen, smart = slot, True
        planned.append(PlannedRun(i, chosen, smart))
        previous = max(previous, chosen)
    return planned
