"""The card's state on a given day: one definition for the agent and the collector (pure, standard library only).

``card_state`` turns a plan (size, the dates it ends) and the bytes used in the current cycle into the figures and
flags the app shows: used, remaining (never negative; past the plan it is ``overage_bytes``), and

==================== ======== ==============================================================================
flag                  app       rule (``today`` is a local date)
==================== ======== ==============================================================================
``data_low``          流量不足  some data left, less than ``low_percent`` of the plan (an exhausted card is not
                                "low": the two quick filters list different cards)
``data_exhausted``    流量耗尽  used ≥ the plan's size
``expired``           卡到期    the expiry date is past (the expiry date itself is the card's last valid day)
``expiring``          卡临期    not expired, and an end (expiry, or a plan's explicit cycle end) is at most
                                ``expiring_days`` away, *or* falls in this month's renewal pause (the 26th to the
                                month's end) with at most ``RENEW_LEAD_DAYS`` left before the pause starts
``renew_before_26th``           an end falls in this month's pause and today is one of the last
                                ``RENEW_LEAD_DAYS`` + 1 days before it (the 20th–25th)
``renewal_paused``              an end falls in this month's pause and the pause has begun (the 26th on)
==================== ======== ==============================================================================

Why the pause matters: carriers take no renewals from the 26th at 00:00 until the 1st. A card that expires on the
26th or later of a month must be renewed by the 25th, so the reminder starts on the 20th, leaving six days (the
20th–25th). A 7-day window alone would first flag a card expiring on 12-31 on 12-24: two days before the pause.
Examples (``expiring_days`` = 7, lead 5):

- expiry 12-31: ``expiring`` and ``renew_before_26th`` from 12-20; from 12-26 ``expiring`` and ``renewal_paused``;
  ``expired`` from 01-01.
- a plan whose cycle ends on the 15th: ``expiring`` from the 8th (7 days); no renewal advice (no pause before it).
- expiry 2027-02-28: ``expiring`` and ``renew_before_26th`` from 02-20, ``renewal_paused`` 02-26..02-28.
- expiry 01-01: ``expiring`` from 12-25 (7 days); the pause ends on the 1st, so no advice.

:func:`expiring_end_ranges` gives the same rule as date ranges for an end, so a database can filter with it and
list exactly the cards :func:`card_state` flags.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "CARD_FLAGS",
    "DEFAULT_EXPIRING_DAYS",
    "DEFAULT_LOW_PERCENT",
    "RENEWAL_PAUSE_FROM_DAY",
    "RENEW_LEAD_DAYS",
    "CardState",
    "card_state",
    "expiring_end_ranges",
    "renewal_deadline",
    "usable_cycles",
]

RENEWAL_PAUSE_FROM_DAY = 26
RENEW_LEAD_DAYS = 5
DEFAULT_LOW_PERCENT = 10.0
DEFAULT_EXPIRING_DAYS = 7
#: The flags in the order they are listed.
CARD_FLAGS = ("data_low", "data_exhausted", "expiring", "expired", "renew_before_26th", "renewal_paused")


@dataclass(frozen=True, slots=True)
class CardState:
    used_bytes: int | None
    total_bytes: int | None
    remaining_bytes: int | None
    overage_bytes: int | None
    used_percent: float | None
    data_low: bool
    data_exhausted: bool
    expiring: bool
    expired: bool
    renew_before_26th: bool
    renewal_paused: bool
    renew_by: date | None  # the last day a renewal keeps the card from lapsing (the earliest end's)

    @property
    def flags(self) -> list[str]:
        return [name for name in CARD_FLAGS if getattr(self, name)]


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def renewal_deadline(end: date) -> date:
    """The last day on which renewing keeps a card that ends on ``end`` (inclusive) from lapsing."""
    if end.day >= RENEWAL_PAUSE_FROM_DAY:
        return end.replace(day=RENEWAL_PAUSE_FROM_DAY - 1)
    return end


def expiring_end_ranges(today: date, expiring_days: int = DEFAULT_EXPIRING_DAYS) -> list[tuple[date, date]]:
    """The inclusive ranges of end dates that make a card ``expiring`` on ``today``.

    An end ``e`` (not yet past) counts when ``e - today <= expiring_days`` or ``renewal_deadline(e) - today <=
    RENEW_LEAD_DAYS``. The second only adds ends in this month's pause, and only from the 20th on.
    """
    ranges = [(today, today + timedelta(days=expiring_days))]
    pause = today.replace(day=RENEWAL_PAUSE_FROM_DAY)
    if (pause - timedelta(days=1) - today).days <= RENEW_LEAD_DAYS:
        ranges.append((max(today, pause), _month_end(today)))
    return ranges


@functools.lru_cache(maxsize=16)
def _end_ranges(today: date, expiring_days: int) -> tuple[tuple[date, date], ...]:
    # card_state runs for every card of a list page, all on the same day: the ranges once, not once per card.
    return tuple(expiring_end_ranges(today, expiring_days))


def _in(day: date, ranges: Iterable[tuple[date, date]]) -> bool:
    return any(low <= day <= high for low, high in ranges)


def card_state(
    *,
    total_bytes: int | None,
    used_bytes: int | None,
    expiry: date | None,
    today: date,
    cycle_end: date | None = None,
    low_percent: float = DEFAULT_LOW_PERCENT,
    expiring_days: int = DEFAULT_EXPIRING_DAYS,
) -> CardState:
    """The card on ``today``. ``used_bytes`` is this cycle's (None: not known for this cycle); ``cycle_end`` is a
    plan's explicit end (a package that must be renewed), not a recurring monthly cycle."""
    if used_bytes is not None and used_bytes < 0:
        raise ValueError("used bytes are never negative")
    remaining = overage = percent = None
    low = exhausted = False
    if total_bytes is not None and used_bytes is not None:
        remaining = max(total_bytes - used_bytes, 0)
        overage = max(used_bytes - total_bytes, 0)
        percent = round(used_bytes * 100 / total_bytes, 1) if total_bytes > 0 else None
        exhausted = total_bytes > 0 and used_bytes >= total_bytes
        low = total_bytes > 0 and not exhausted and remaining * 100 < total_bytes * low_percent
    expired = expiry is not None and expiry < today
    ends = sorted(end for end in (expiry, cycle_end) if end is not None and end >= today)
    expiring = not expired and any(_in(end, _end_ranges(today, expiring_days)) for end in ends)
    in_pause = [
        end for end in ends if (end.year, end.month) == (today.year, today.month) and end.day >= RENEWAL_PAUSE_FROM_DAY
    ]
    paused = not expired and bool(in_pause) and today.day >= RENEWAL_PAUSE_FROM_DAY
    renew_soon = (
        not expired
        and bool(in_pause)
        and not paused
        and (renewal_deadline(in_pause[0]) - today).days <= RENEW_LEAD_DAYS
    )
    return CardState(
        used_bytes=used_bytes,
        total_bytes=total_bytes,
        remaining_bytes=remaining,
        overage_bytes=overage,
        used_percent=percent,
        data_low=low,
        data_exhausted=exhausted,
        expiring=expiring,
        expired=expired,
        renew_before_26th=renew_soon,
        renewal_paused=paused,
        renew_by=renewal_deadline(ends[0]) if ends else None,
    )


def usable_cycles(cycle_start: date | None, cycle_end: date | None, expiry: date | None) -> int | None:
    """可使用周期: how many whole cycles, the current one included, end on or before ``expiry``.

    Cycles repeat with the current one's length in months (a calendar month when it starts on the 1st); None when
    the cycle or the expiry is unknown.
    """
    if cycle_start is None or cycle_end is None or expiry is None:
        return None
    if expiry < cycle_end:
        return 0
    after = cycle_end + timedelta(days=1)
    months = max((after.year - cycle_start.year) * 12 + after.month - cycle_start.month, 1)
    count, start = 0, cycle_start
    while count < 1200:  # a hundred years of monthly cycles: an absurd expiry ends the count
        end = _add_months(start, months) - timedelta(days=1)
        if end > expiry:
            break
        count += 1
        start = end + timedelta(days=1)
    return count


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
