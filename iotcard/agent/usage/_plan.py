"""The card's data plan and what the usage means for it: remaining, percent used, days left, and the flags.

Pure: ``plan_status(plan, used_bytes, today)`` needs no clock and no database. The rules themselves (low,
exhausted, expiring, expired, the renewal pause from the 26th) live in :mod:`iotcard.contract.card_state`, which the
cloud
collector imports too, so the device and the card record can never disagree about a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from iotcard.contract.card_state import RENEW_LEAD_DAYS, RENEWAL_PAUSE_FROM_DAY, CardState, card_state

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
RENEWAL_ADVICE_FROM_DAY = RENEWAL_PAUSE_FROM_DAY - 1 - RENEW_LEAD_DAYS


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
    exceed 100 when the card used more than its plan. ``data_low`` and ``data_exhausted`` never hold together.
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
    state: CardState  # the shared definition's figures and flags (what the cloud sees)
    plan_cycle_end: date | None = None  # the plan's explicit end (a package to renew); None for a rolling cycle

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

    ``cycle`` defaults to the plan's own dates, else the monthly cycle starting on ``cycle_start_day``. The flags
    follow :func:`iotcard.contract.card_state.card_state`: ``data_low`` (some left, less than ``low_data_percent``),
    ``data_exhausted``, ``cycle_expiring`` (its ``expiring``: the card's expiry or the plan's explicit cycle end is
    near, or falls in this month's renewal pause), ``expired`` after the expiry date.
    """
    if used_bytes < 0:
        raise ValueError("used bytes are never negative")
    cycle = cycle if cycle is not None else _plan_cycle(plan, today, cycle_start_day)
    state = card_state(
        total_bytes=plan.total_bytes,
        used_bytes=used_bytes,
        expiry=plan.expiry,
        cycle_end=plan.cycle_end,
        today=today,
        low_percent=low_data_percent,
        expiring_days=expiring_days,
    )
    flags = [
        flag
        for flag, on in (
            (PlanFlag.DATA_LOW, state.data_low),
            (PlanFlag.DATA_EXHAUSTED, state.data_exhausted),
            (PlanFlag.CYCLE_EXPIRING, state.expiring),
            (PlanFlag.EXPIRED, state.expired),
        )
        if on
    ]
    advice = (
        RenewalAdvice.RENEWAL_PAUSED
        if state.renewal_paused
        else RenewalAdvice.RENEW_BEFORE_26TH
        if state.renew_before_26th
        else None
    )
    remaining = state.remaining_bytes
    percent = state.used_percent if plan.total_bytes else (100.0 if plan.total_bytes == 0 else None)
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
        state=state,
        plan_cycle_end=plan.cycle_end,
    )
