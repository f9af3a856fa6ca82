"""Billing-cycle arithmetic on local dates: pure, no clock.

A cycle is a run of whole local days, ``start`` to ``end`` inclusive. With a start day of 1 to 31 a cycle begins
on that day of every month; in a month too short for it (29, 30, 31 in February, 31 in April...) it begins on the
month's last day instead. A plan may instead give its cycle's first and last day explicitly.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Cycle", "cycle_containing", "local_date", "month_key", "plan_cycle"]


@dataclass(frozen=True, slots=True)
class Cycle:
    """A billing cycle: ``start`` and ``end`` are local dates, both included."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _anchor(year: int, month: int, start_day: int) -> date:
    return date(year, month, min(start_day, calendar.monthrange(year, month)[1]))


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def cycle_containing(day: date, start_day: int) -> Cycle:
    """The cycle that contains local date ``day`` when cycles start on ``start_day`` (1–31) of each month."""
    if not 1 <= start_day <= 31:
        raise ValueError(f"cycle start day must be 1..31, got {start_day}")
    this_month = _anchor(day.year, day.month, start_day)
    start = this_month if day >= this_month else _anchor(*_shift_month(day.year, day.month, -1), start_day)
    next_start = _anchor(*_shift_month(start.year, start.month, 1), start_day)
    return Cycle(start, next_start - timedelta(days=1))


def plan_cycle(day: date, cycle_start: date, cycle_end: date | None) -> Cycle:
    """The cycle for ``day`` under a plan that names its cycle's dates.

    Inside the plan's dates, those dates. Outside them (the plan was not renewed yet, or the cloud has not sent the
    next one) the monthly cycle that starts on the plan's start day, so usage keeps being attributed sensibly.
    """
    end = cycle_end if cycle_end is not None else cycle_containing(cycle_start, cycle_start.day).end
    if cycle_start <= day <= end:
        return Cycle(cycle_start, end)
    return cycle_containing(day, cycle_start.day)


def local_date(timestamp: float, zone: ZoneInfo) -> date:
    """The local date at ``timestamp`` (epoch seconds) in ``zone``."""
    return datetime.fromtimestamp(timestamp, zone).date()


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
