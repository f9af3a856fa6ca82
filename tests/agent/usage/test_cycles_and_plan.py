"""Billing cycles for start days 1, 15 and 31 across February (leap and not), time-zone edges, plan status."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from iotcard.agent.usage import (
    MIB,
    Cycle,
    Plan,
    PlanFlag,
    RenewalAdvice,
    cycle_containing,
    local_date,
    plan_cycle,
    plan_status,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("day", "start_day", "start", "end"),
    [
        # start day 1: calendar months
        ("2025-02-01", 1, "2025-02-01", "2025-02-28"),
        ("2025-02-28", 1, "2025-02-01", "2025-02-28"),
        ("2024-02-29", 1, "2024-02-01", "2024-02-29"),
        ("2025-03-01", 1, "2025-03-01", "2025-03-31"),
        ("2025-12-31", 1, "2025-12-01", "2025-12-31"),
        # start day 15
        ("2025-02-14", 15, "2025-01-15", "2025-02-14"),
        ("2025-02-15", 15, "2025-02-15", "2025-03-14"),
        ("2024-02-15", 15, "2024-02-15", "2024-03-14"),
        ("2025-01-10", 15, "2024-12-15", "2025-01-14"),
        # start day 31: the month's last day where the month is shorter
        ("2025-01-31", 31, "2025-01-31", "2025-02-27"),
        ("2025-02-27", 31, "2025-01-31", "2025-02-27"),
        ("2025-02-28", 31, "2025-02-28", "2025-03-30"),
        ("2024-02-28", 31, "2024-01-31", "2024-02-28"),
        ("2024-02-29", 31, "2024-02-29", "2024-03-30"),
        ("2025-03-31", 31, "2025-03-31", "2025-04-29"),
        ("2025-04-30", 31, "2025-04-30", "2025-05-30"),
        ("2025-12-31", 31, "2025-12-31", "2026-01-30"),
        # start day 29 and 30 in February
        ("2025-02-28", 29, "2025-02-28", "2025-03-28"),
        ("2025-03-29", 30, "2025-02-28", "2025-03-29"),
    ],
)
def test_cycle_containing(day: str, start_day: int, start: str, end: str) -> None:
    assert cycle_containing(D(day), start_day) == Cycle(D(start), D(end))


@pytest.mark.parametrize("start_day", range(1, 32))
def test_cycles_tile_the_calendar_without_gap_or_overlap(start_day: int) -> None:
    cycle = cycle_containing(D("2023-11-20"), start_day)
    for _ in range(30):  # through the leap February of 2024 and on
        following = cycle_containing(date.fromordinal(cycle.end.toordinal() + 1), start_day)
        assert following.start.toordinal() == cycle.end.toordinal() + 1
        assert 28 <= cycle.days <= 31
        cycle = following


def test_start_day_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        cycle_containing(D("2025-01-01"), 32)


def test_plan_dates_win_inside_them_and_roll_monthly_outside() -> None:
    assert plan_cycle(D("2025-03-10"), D("2025-03-05"), D("2025-04-04")) == Cycle(D("2025-03-05"), D("2025-04-04"))
    assert plan_cycle(D("2025-04-10"), D("2025-03-05"), D("2025-04-04")) == Cycle(D("2025-04-05"), D("2025-05-04"))


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("local", "zone", "day"),
    [
        ("2025-02-28T23:59:59", "Asia/Shanghai", "2025-02-28"),
        ("2025-03-01T00:00:00", "Asia/Shanghai", "2025-03-01"),
        ("2025-02-28T23:59:59", "UTC", "2025-02-28"),
        ("2025-03-01T00:00:00", "UTC", "2025-03-01"),
    ],
)
def test_local_date_at_midnight_edges(local: str, zone: str, day: str) -> None:
    timestamp = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp()
    assert local_date(timestamp, ZoneInfo(zone)) == D(day)


def test_the_same_instant_is_a_different_cycle_in_shanghai_and_utc() -> None:
    # 2025-02-28 16:30 UTC is 2025-03-01 00:30 in Shanghai: a new cycle there, still February in UTC.
    instant = datetime(2025, 2, 28, 16, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert cycle_containing(local_date(instant, SHANGHAI), 1).start == D("2025-03-01")
    assert cycle_containing(local_date(instant, ZoneInfo("UTC")), 1).start == D("2025-02-01")


GB = 1024 * MIB
PLAN_1000_MB = 1000 * MIB


@pytest.mark.parametrize(
    ("used", "flags", "remaining", "percent"),
    [
        (0, (), PLAN_1000_MB, 0.0),
        (500 * MIB, (), 500 * MIB, 50.0),
        (900 * MIB, (), 100 * MIB, 90.0),  # exactly 10 % left is not yet low
        (900 * MIB + 1, (PlanFlag.DATA_LOW,), 100 * MIB - 1, 90.0),
        # Exhausted is not also "low": the app's two quick filters list different cards (iotcard.contract.card_state).
        (PLAN_1000_MB, (PlanFlag.DATA_EXHAUSTED,), 0, 100.0),
        (1005 * MIB, (PlanFlag.DATA_EXHAUSTED,), 0, 100.5),
    ],
)
def test_data_flags(used: int, flags: tuple[PlanFlag, ...], remaining: int, percent: float) -> None:
    status = plan_status(Plan(total_bytes=PLAN_1000_MB), used, D("2025-03-10"))
    assert status.flags == flags
    assert status.percent_used == percent
    assert status.remaining_bytes == remaining
    assert status.days_left == 22  # 10th..31st, today included
    assert status.cycle == Cycle(D("2025-03-01"), D("2025-03-31"))


@pytest.mark.parametrize(
    ("today", "flags", "advice", "days_to_expiry"),
    [
        ("2025-06-10", (), None, 20),
        ("2025-06-19", (), None, 11),
        # Expiring on the 30th: it must be renewed by the 25th (the pause), so the card is flagged from the 20th,
        # not 7 days before the 30th (which would leave two days before the pause).
        ("2025-06-20", (PlanFlag.CYCLE_EXPIRING,), RenewalAdvice.RENEW_BEFORE_26TH, 10),
        ("2025-06-23", (PlanFlag.CYCLE_EXPIRING,), RenewalAdvice.RENEW_BEFORE_26TH, 7),
        ("2025-06-25", (PlanFlag.CYCLE_EXPIRING,), RenewalAdvice.RENEW_BEFORE_26TH, 5),
        ("2025-06-26", (PlanFlag.CYCLE_EXPIRING,), RenewalAdvice.RENEWAL_PAUSED, 4),
        ("2025-06-30", (PlanFlag.CYCLE_EXPIRING,), RenewalAdvice.RENEWAL_PAUSED, 0),
        ("2025-07-01", (PlanFlag.EXPIRED,), None, -1),
    ],
)
def test_expiry_and_the_renewal_pause(
    today: str, flags: tuple[PlanFlag, ...], advice: RenewalAdvice | None, days_to_expiry: int
) -> None:
    status = plan_status(Plan(name="IoT 1G", expiry=D("2025-06-30")), 0, D(today))
    assert status.flags == flags
    assert status.advice is advice
    assert status.days_to_expiry == days_to_expiry


def test_explicit_cycle_end_this_month_advises_renewal_from_the_20th() -> None:
    plan = Plan(total_bytes=GB, cycle_start=D("2025-05-31"), cycle_end=D("2025-06-30"), expiry=D("2026-12-31"))
    status = plan_status(plan, 100, D("2025-06-21"))
    assert status.advice is RenewalAdvice.RENEW_BEFORE_26TH
    assert status.cycle == Cycle(D("2025-05-31"), D("2025-06-30"))
    assert status.days_left == 10
    assert status.flags == (PlanFlag.CYCLE_EXPIRING,)  # 9 days before the end, but 4 before the renewal pause


def test_a_cycle_ending_next_month_gets_no_advice() -> None:
    plan = Plan(cycle_start=D("2025-06-15"), cycle_end=D("2025-07-14"))
    assert plan_status(plan, 0, D("2025-06-22")).advice is None


def test_rolling_monthly_cycle_without_dates_is_never_expiring() -> None:
    status = plan_status(Plan(total_bytes=GB), 0, D("2025-06-29"), cycle_start_day=1)
    assert status.flags == () and status.advice is None and status.days_left == 2


def test_thresholds_are_configurable() -> None:
    plan = Plan(total_bytes=1000, expiry=D("2025-06-30"))
    status = plan_status(plan, 700, D("2025-06-10"), low_data_percent=40, expiring_days=30)
    assert status.flags == (PlanFlag.DATA_LOW, PlanFlag.CYCLE_EXPIRING)
