"""The instants the tests run at. No test reads the wall clock to build its data.

Code under test takes its clock as an argument (``clock=``); where a whole CLI runs in-process, ``time_machine``
pins the instant for every reader at once (``datetime.now``, ``time.time``, ``date.today``). ``time.monotonic`` is
left alone, so timeouts and waits behave as usual.

``DANGEROUS`` lists the instants where date arithmetic used to go wrong: either side of midnight in the collector's
and the agent's zone (Asia/Shanghai, UTC+8, which is 15:30/16:30 UTC the day before), the first and the last day of
a month (31, 30 and 28 days), the 25th and the 26th (renewals pause from the 26th), and New Year's Eve into 1 January.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# An ordinary instant for tests that need just one: a Tuesday, mid-month, 16:00 in Shanghai. IOTCARD_TEST_NOW
# (ISO 8601 with a zone, e.g. 2026-12-31T15:30:00Z) runs the whole suite at another instant instead: that is how
# the suite is shown to pass at any hour (docs/testing.md).
FIXED = datetime.fromisoformat(os.environ.get("IOTCARD_TEST_NOW") or "2026-11-17T08:00:00+00:00").astimezone(UTC)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


DANGEROUS: dict[str, datetime] = {
    "23:30 Shanghai": shanghai(2026, 11, 17, 23, 30),
    "00:30 Shanghai": shanghai(2026, 11, 18, 0, 30),
    "02:00 UTC": datetime(2026, 11, 18, 2, 0, tzinfo=UTC),
    "10:00 UTC": datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
    "18:00 UTC": datetime(2026, 11, 18, 18, 0, tzinfo=UTC),
    "1st of a month, 00:30": shanghai(2026, 12, 1, 0, 30),
    "last of a 30-day month, 23:30": shanghai(2026, 11, 30, 23, 30),
    "last of February, 23:30": shanghai(2027, 2, 28, 23, 30),
    "25th, 23:30": shanghai(2026, 12, 25, 23, 30),
    "26th, 00:30": shanghai(2026, 12, 26, 0, 30),
    "31 Dec, 23:30": shanghai(2026, 12, 31, 23, 30),
    "1 Jan, 00:30": shanghai(2027, 1, 1, 0, 30),
}


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` now and then advances with the monotonic clock (for tests with real waits)."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


class FixedClock:
    """A clock a test moves by hand: ``clock()`` is an aware datetime, ``clock.epoch()`` the same as seconds."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
