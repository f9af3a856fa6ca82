"""The card's data plan and what the usage means for it: remaining, percent used, days left, and the flags.

Pure: ``plan_status(plan, used_bytes, today)`` needs no clock and no database.

The card provider pauses plan renewal from the 26th, 00:00, to the 1st of the next month. So from the 20th a card
whose cycle (or validity) ends this month is told to renew before the 26th, and from the 26th that renewal is paused
until the 1st.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ._cycles import Cycle, cycle_containing, plan_cycle

__all__ = [
    "MIB",
    "RENEWAL_ADVICE_FROM_DAY",
    "RENEWAL_PAUSE_FROM_DAY",
    "Plan",
    "PlanFlag",
    "PlanStatus",
    "RenewalAdvice",
    "plan_status",
]

MIB = 1024 * 1024
RENEWAL_ADVICE_FROM_DAY = 20
RENEWAL_PAUSE_FROM_DAY = 26


@dataclass(frozen=True, slots=True)
class Plan:
    """A data plan. Every field is optional: a plan may say only its size, or only its dates."""

    name: str | None = None
    total_bytes: int | None = None
    cycle_start: date | None = None
    cycle_end: date | None = None
    expiry: date | None = None
    card_type: str | None = None


class PlanFlag(StrEnum):
    DATA_LOW = "data_low"
    DATA_EXHAUSTED = "data_exhausted"
    CYCLE_EXPIRING = "cycle_expiring"
    EXPIRED = "expired"


class RenewalAdvice(StrEnum):
    RENEW_BEFORE_26TH = "renew_before_26th"
    RENEWAL_PAUSED = "renewal_paused"


@dataclass(frozen=True, slots=True)
class PlanStatus:
    """Where the card stands on its plan on ``today``.

    ``days_left`` counts the days left in the cycle with today included (1 on the cycle's last day).
    ``remaining_bytes`` and ``percent_used`` are None when the plan does not say its size; ``percent_used`` may
    exceed 100 when the card used more than its plan. ``data_exhausted`` implies ``data_low``.
    """

    name: str | None
    card_type: str | None
    total_bytes: int | None
    used_bytes: int
    remaining_bytes: int | None
    percent_used: float | None
    cycle: Cycle
    days_left: int
    expiry: date | None
    days_to_expiry: int | None
    flags: tuple[PlanFlag, ...]
    advice: RenewalAdvice | None

    def has(self, flag: PlanFlag) -> bool:
        return flag in self.flags


def _plan_cycle(plan: Plan, today: date, cycle_start_day: int) -> Cycle:
    if plan.cycle_start is not None:
        return plan_cycle(today, plan.cycle_start, plan.cycle_end)
    return cycle_containing(today, cycle_start_day)


def plan_status(
    plan: Plan,
    used_bytes: int,
    today: date,
    *,
    cycle: Cycle | None = None,
    cycle_start_day: int = 1,
    low_data_percent: float = 10.0,
    expiring_days: int = 7,
) -> PlanStatus:
    """The status of ``plan`` after ``used_bytes`` in the cycle that contains ``today`` (a local date).

    ``cycle`` defaults to the plan's own dates, else the monthly cycle starting on ``cycle_start_day``.
    Flags: ``data_low`` when less than ``low_data_percent`` of the plan is left, ``data_exhausted`` when none is,
    ``cycle_expiring`` when the plan's explicit cycle end or the card's expiry is at most ``expiring_days`` away,
    ``expired`` after the expiry date (the expiry date itself is the card's last valid day).
    """
    if used_bytes < 0:
        raise ValueError("used bytes are never negative")
    cycle = cycle if cycle is not None else _plan_cycle(plan, today, cycle_start_day)
    flags: list[PlanFlag] = []
    remaining: int | None = None
    percent: float | None = None
    if plan.total_bytes is not None:
        total = plan.total_bytes
        remaining = max(total - used_bytes, 0)
        percent = round(used_bytes * 100 / total, 1) if total > 0 else 100.0
        if remaining * 100 < total * low_data_percent or remaining == 0:
            flags.append(PlanFlag.DATA_LOW)
        if used_bytes >= total:
            flags.append(PlanFlag.DATA_EXHAUSTED)
    expired = plan.expiry is not None and today > plan.expiry
    # Only ends that need a renewal: an explicit cycle end that is still ahead, and the card's validity.
    ends = [end for end in (plan.cycle_end, plan.expiry) if end is not None and end >= today]
    if not expired and any((end - today).days <= expiring_days for end in ends):
        flags.append(PlanFlag.CYCLE_EXPIRING)
    if expired:
        flags.append(PlanFlag.EXPIRED)
    advice: RenewalAdvice | None = None
    if not expired and any((end.year, end.month) == (today.year, today.month) for end in ends):
        if today.day >= RENEWAL_PAUSE_FROM_DAY:
            advice = RenewalAdvice.RENEWAL_PAUSED
        elif today.day >= RENEWAL_ADVICE_FROM_DAY:
            advice = RenewalAdvice.RENEW_BEFORE_26TH
    return PlanStatus(
        name=plan.name,
        card_type=plan.card_type,
        total_bytes=plan.total_bytes,
        used_bytes=used_bytes,
        remaining_bytes=remaining,
        percent_used=percent,
        cycle=cycle,
        days_left=max((cycle.end - today).days + 1, 0),
        expiry=plan.expiry,
        days_to_expiry=(plan.expiry - today).days if plan.expiry is not None else None,
        flags=tuple(flags),
        advice=advice,
    )
