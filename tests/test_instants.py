"""The agent and the collector at the instants where date arithmetic goes wrong, on machines in any time zone.

Each case runs at one instant of :data:`clocks.DANGEROUS` (just before and after midnight in Shanghai, the first and
last day of a month, the 25th and 26th, New Year) with the machine's own zone set to UTC, Shanghai or Los Angeles.
The device meters bytes on either side of the instant; its days, months and cycle, the plan's renewal advice, the
collector's card record and the CLI must all follow Asia/Shanghai, the zone both are configured with, and never
the machine's.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from clocks import DANGEROUS, SHANGHAI, FixedClock

from iotcard.agent.cli import main as agent_main
from iotcard.agent.usage import MeterSettings, Plan, PlanFlag, UsageMeter, plan_status
from iotcard.agent.usage._plan import RenewalAdvice
from iotcard.collector import Store
from iotcard.simulators.fleet import Fleet

MACHINE_ZONES = ["UTC", "Asia/Shanghai", "America/Los_Angeles"]
INSTANTS = list(DANGEROUS.items())
IDS = [name for name, _ in INSTANTS]


@pytest.fixture(params=MACHINE_ZONES)
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's local time zone (what ``time.localtime`` and naive ``datetime.now()`` follow)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


class Interface:
    """``sys/class/net/wwan0/statistics`` under a temporary root, with counters the test sets."""

    def __init__(self, root: Path) -> None:
        self.sys = root / "sys"
        self.proc = root / "proc"
        self.stats = self.sys / "class" / "net" / "wwan0" / "statistics"
        self.stats.mkdir(parents=True)
        (self.sys / "class" / "net" / "wwan0" / "ifindex").write_text("4\n")
        boot = self.proc / "sys" / "kernel" / "random"
        boot.mkdir(parents=True)
        (boot / "boot_id").write_text("boot-1\n")

    def set(self, rx: int, tx: int) -> None:
        (self.stats / "rx_bytes").write_text(f"{rx}\n")
        (self.stats / "tx_bytes").write_text(f"{tx}\n")


# Bytes counted between the samples: the meter credits what it sees to the hour of the sample that saw it.
STEPS = [(-timedelta(minutes=40), 0, 0), (timedelta(0), 30_000, 10_000), (timedelta(minutes=61), 5_000, 2_000)]


def metered(tmp_path: Path, instant: datetime) -> tuple[UsageMeter, MeterSettings, dict[date, int], FixedClock]:
    """A meter in Shanghai time that sampled around ``instant``; the bytes expected on each local day."""
    interface = Interface(tmp_path / "root")
    settings = MeterSettings(
        interface="wwan0", sysfs_root=interface.sys, proc_root=interface.proc, timezone="Asia/Shanghai"
    )
    clock = FixedClock(instant + STEPS[0][0])
    meter = UsageMeter(tmp_path / "state", settings, clock=clock.epoch)
    expected: dict[date, int] = defaultdict(int)
    rx = tx = 1_000_000
    for offset, more_rx, more_tx in STEPS:
        clock.now = instant + offset
        rx, tx = rx + more_rx, tx + more_tx
        interface.set(rx, tx)
        meter.sample()
        if more_rx or more_tx:
            expected[clock.now.astimezone(SHANGHAI).date()] += more_rx + more_tx
    meter.commit(final=True)
    return meter, settings, dict(expected), clock


@pytest.mark.parametrize(("name", "instant"), INSTANTS, ids=IDS)
def test_the_meter_files_bytes_under_shanghai_days_months_and_cycles(
    tmp_path: Path, machine_zone: str, name: str, instant: datetime
) -> None:
    meter, _, expected, clock = metered(tmp_path, instant)
    today = clock.now.astimezone(SHANGHAI).date()
    with meter:
        summary = meter.summary(days=3)
    assert summary.today == today
    by_day = {date.fromisoformat(b.bucket): b.usage.total_bytes for b in summary.days if b.usage.total_bytes}
    assert by_day == expected, (name, machine_zone)
    assert summary.today_usage.total_bytes == expected.get(today, 0)
    # The cycle is the calendar month of "today" in Shanghai: only that month's bytes count in it.
    assert (summary.cycle.start, summary.cycle.end.month) == (today.replace(day=1), today.month)
    in_cycle = sum(n for day, n in expected.items() if (day.year, day.month) == (today.year, today.month))
    assert summary.cycle_usage.total_bytes == in_cycle
    months = {b.bucket: b.usage.total_bytes for b in summary.months}
    by_month: dict[str, int] = defaultdict(int)
    for day, n in expected.items():
        by_month[f"{day:%Y-%m}"] += n
    assert {m: n for m, n in months.items() if n} == dict(by_month)


@pytest.mark.parametrize(("name", "instant"), INSTANTS, ids=IDS)
def test_the_renewal_advice_follows_the_shanghai_date(name: str, instant: datetime) -> None:
    today = instant.astimezone(SHANGHAI).date()
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    status = plan_status(Plan(name="IoT 1GB", total_bytes=2**30, expiry=month_end), 10 * 2**20, today)
    # The app pauses renewals from the 26th at 00:00 to the 1st; from the 20th the card is told to renew before that.
    expected = (
        RenewalAdvice.RENEWAL_PAUSED
        if today.day >= 26
        else RenewalAdvice.RENEW_BEFORE_26TH
        if today.day >= 20
        else None
    )
    assert status.advice == expected, name
    day_after = plan_status(Plan(name="IoT 1GB", total_bytes=2**30, expiry=month_end), 0, month_end + timedelta(days=1))
    assert day_after.has(PlanFlag.EXPIRED) and day_after.advice is None


@pytest.mark.parametrize(("name", "instant"), INSTANTS, ids=IDS)
def test_the_collector_files_reports_under_shanghai_days_and_months(
    tmp_path: Path, machine_zone: str, name: str, instant: datetime
) -> None:
    fleet = Fleet.build(2, today=instant.astimezone(SHANGHAI).date())
    reports = [instant - timedelta(minutes=40), instant, instant + timedelta(minutes=61)]
    expected: dict[date, int] = defaultdict(int)
    messages = list(fleet.hello(reports[0] - timedelta(minutes=5)))
    for ts in reports:
        for device in fleet.devices:
            messages.append(device.telemetry(ts, add_bytes=4096))
        # The fleet files the bytes in the hour each report ends in; the collector must put that hour on its
        # Shanghai day.
        expected[ts.replace(minute=0, second=0).astimezone(SHANGHAI).date()] += 4096
    read_at = reports[-1] + timedelta(minutes=1)
    today = read_at.astimezone(SHANGHAI).date()
    from iotcard.collector import decode
    from iotcard.collector._ingest import Accepted

    with Store(f"sqlite:///{tmp_path / 'c.sqlite3'}", writer=True, clock=lambda: read_at) as store:
        batch = [decode(m.topic, m.payload, "iotcard/v1") for m in messages]
        store.apply([item for item in batch if isinstance(item, Accepted)])
        assert store.today() == today
        for device in fleet.devices:
            days = store.usage(device.iccid, "day", today=store.today(), periods=3)
            got = {date.fromisoformat(p["period"]): p["total_bytes"] for p in days if p["total_bytes"]}
            assert got == dict(expected), (name, machine_zone)
            months = store.usage(device.iccid, "month", today=store.today(), periods=3)
            by_month: dict[str, int] = defaultdict(int)
            for day, n in expected.items():
                by_month[f"{day:%Y-%m}"] += n
            assert {p["period"]: p["total_bytes"] for p in months if p["total_bytes"]} == dict(by_month)


@pytest.mark.parametrize(("name", "instant"), INSTANTS, ids=IDS)
def test_iotcard_usage_show_says_the_shanghai_day(
    tmp_path: Path, machine_zone: str, name: str, instant: datetime
) -> None:
    _, _, expected, clock = metered(tmp_path, instant)
    out, err = io.StringIO(), io.StringIO()
    with time_machine.travel(clock.now, tick=False):  # the CLI reads its "now" from the system clock
        status = agent_main(
            [
                "--lang", "en", "usage", "show", "--json", "--days", "3", "--timezone", "Asia/Shanghai",
                "--state-dir", str(tmp_path / "state"),
            ],
            stdout=out,
            stderr=err,
        )  # fmt: skip
    assert status == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    today = clock.now.astimezone(SHANGHAI).date()
    assert doc["today"]["total_bytes"] == expected.get(today, 0), (name, machine_zone)
    shown = {d["date"]: d["rx_bytes"] + d["tx_bytes"] for d in doc["days"] if d["rx_bytes"] + d["tx_bytes"]}
    assert shown == {day.isoformat(): n for day, n in expected.items()}
    assert doc["cycle"]["start"] == today.replace(day=1).isoformat()


def test_the_instants_are_the_dangerous_ones() -> None:
    """The table itself: each named instant is what its name says, in Shanghai."""
    local = {name: instant.astimezone(SHANGHAI) for name, instant in DANGEROUS.items()}
    assert (local["23:30 Shanghai"].hour, local["00:30 Shanghai"].hour) == (23, 0)
    assert local["1st of a month, 00:30"].day == 1 and local["1 Jan, 00:30"].timetuple()[:3] == (2027, 1, 1)
    assert (local["last of February, 23:30"] + timedelta(hours=1)).day == 1
    assert (local["25th, 23:30"].day, local["26th, 00:30"].day) == (25, 26)
    assert all(instant.tzinfo is UTC for instant in DANGEROUS.values())
