"""The meter on a fake sysfs tree with a fake clock: every counter sequence, buckets, retention, plan, readers."""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from usage_support import FakeClock, FakeSysfs

from iotcard.agent.usage import (
    DB_NAME,
    MIB,
    CounterEvent,
    MeterSettings,
    Plan,
    PlanFlag,
    UsageMeter,
    open_summary,
    read_counters,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(local: str, zone: str = "Asia/Shanghai") -> float:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp()


@pytest.fixture
def tree(tmp_path: Path) -> FakeSysfs:
    return FakeSysfs(tmp_path / "root")


def settings_for(tree: FakeSysfs, **changes: object) -> MeterSettings:
    values: dict[str, object] = {"sysfs_root": tree.sys, "proc_root": tree.proc, "max_rate_mbps": 100.0}
    values.update(changes)
    return MeterSettings(**values)  # type: ignore[arg-type]


def meter_for(tree: FakeSysfs, tmp_path: Path, clock: FakeClock, **changes: object) -> UsageMeter:
    return UsageMeter(tmp_path / "state", settings_for(tree, **changes), clock=clock)


def test_reading_the_fake_tree(tree: FakeSysfs) -> None:
    tree.set(123, 45, ifindex=9)
    reading = read_counters("wwan0", tree.sys)
    assert (reading.present, reading.rx_bytes, reading.tx_bytes, reading.ifindex) == (True, 123, 45, 9)
    absent = read_counters("ppp0", tree.sys)
    assert not absent.present and absent.rx_bytes is None and "ppp0" in (absent.problem or "")
    assert not read_counters("../wwan0", tree.sys).present


def test_garbage_counter_is_absent_not_an_exception(tree: FakeSysfs) -> None:
    tree.set(1, 1)
    (tree.sys / "class/net/wwan0/statistics/rx_bytes").write_text("not a number\n")
    assert not read_counters("wwan0", tree.sys).present


def test_every_sequence_in_one_process(tree: FakeSysfs, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(at("2025-03-10T12:00:00"))
    tree.set(10_000, 2_000)
    meter = meter_for(tree, tmp_path, clock)
    events: list[CounterEvent | None] = []

    def sample(seconds: float = 60) -> None:
        clock.advance(seconds)
        events.append(meter.sample().event)

    sample()  # baseline: the 10 000 / 2 000 already on the counters are not ours
    tree.set(15_000, 2_500)
    sample()  # +5 000 / +500
    tree.set(1_000, 100)
    sample()  # interface re-created: +1 000 / +100
    tree.set(3_000, 200, ifindex=5)
    sample()  # new ifindex: +3 000 / +200
    tree.set_boot("boot-2")
    tree.set(700, 70, ifindex=5)
    sample()  # reboot: +700 / +70
    tree.set(700 + 10**12, 70, ifindex=5)
    sample()  # absurd: rejected, new baseline
    tree.set(800 + 10**12, 80, ifindex=5)
    sample()  # +100 / +10
    tree.remove()
    with caplog.at_level(logging.WARNING, logger="iotcard.usage"):
        for _ in range(50):
            sample()  # absent: not counted, warned once
    tree.set(900 + 10**12, 90, ifindex=5)
    sample()  # back, same interface: +100 / +10
    assert events[:7] == [
        CounterEvent.BASELINE,
        CounterEvent.GROWTH,
        CounterEvent.RESET,
        CounterEvent.RESET,
        CounterEvent.REBOOT,
        CounterEvent.REJECTED_JUMP,
        CounterEvent.GROWTH,
    ]
    assert events[7:57] == [None] * 50
    assert events[57] is CounterEvent.GROWTH
    assert len([r for r in caplog.records if "absent" in r.getMessage()]) == 1
    summary = meter.summary()
    assert summary.today_usage.rx_bytes == 5_000 + 1_000 + 3_000 + 700 + 100 + 100
    assert summary.today_usage.tx_bytes == 500 + 100 + 200 + 70 + 10 + 10
    assert summary.interface_present is True
    meter.close()
    # Everything survived the close, and a new meter continues from the stored counters.
    again = meter_for(tree, tmp_path, clock)
    tree.set(1_900 + 10**12, 90, ifindex=5)
    clock.advance(60)
    assert again.sample().rx_bytes == 1_000
    assert again.summary().cycle_usage.rx_bytes == 9_900 + 1_000
    again.close()


def test_absent_at_install_then_present_is_a_baseline(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock()
    meter = meter_for(tree, tmp_path, clock, interface="ppp0")
    result = meter.sample()
    assert not result.present and meter.summary().interface_present is False
    tree_ppp = FakeSysfs(tree.root, interface="ppp0")
    tree_ppp.set(4_000, 400)
    clock.advance(60)
    assert meter.sample().event is CounterEvent.BASELINE
    meter.close()


def test_buckets_split_at_local_midnight_and_month_end(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-02-28T23:58:00"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock)
    meter.sample()
    clock.now = at("2025-02-28T23:59:59")
    tree.set(1_000, 10)
    meter.sample()
    clock.now = at("2025-03-01T00:00:00")
    tree.set(1_500, 20)
    meter.sample()
    meter.close()
    summary = open_summary(tmp_path / "state", settings_for(tree), today=date(2025, 3, 1), days=2)
    assert [(d.bucket, d.usage.rx_bytes, d.usage.tx_bytes) for d in summary.days] == [
        ("2025-02-28", 1_000, 10),
        ("2025-03-01", 500, 10),
    ]
    assert [(m.bucket, m.usage.total_bytes) for m in summary.months] == [("2025-02", 1_010), ("2025-03", 510)]
    assert summary.cycle.start == date(2025, 3, 1) and summary.cycle_usage.total_bytes == 510
    assert [(h.bucket, h.usage.rx_bytes) for h in summary.hours] == [("2025-03-01T00", 500)]


def test_a_utc_device_buckets_by_utc(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-02-28T23:00:00", "UTC"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock, timezone="UTC", cycle_start_day=31)
    meter.sample()
    clock.now = at("2025-02-28T23:59:59", "UTC")  # already 1 March in Shanghai
    tree.set(300, 0)
    meter.sample()
    summary = meter.summary()
    assert summary.today == date(2025, 2, 28)
    assert (summary.cycle.start, summary.cycle.end) == (date(2025, 2, 28), date(2025, 3, 30))
    assert summary.cycle_usage.rx_bytes == 300
    meter.close()


def test_commit_batches_and_pending_bytes_show_in_the_summary(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-03-10T12:00:00"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock, commit_interval=300)
    assert meter.sample().committed  # the baseline is committed at once
    committed = []
    for minute in range(1, 11):
        tree.set(minute * 100, 0)
        clock.advance(60)
        committed.append(meter.sample().committed)
    assert committed == [False, False, False, False, True, False, False, False, False, True]
    tree.set(1_150, 0)
    clock.advance(60)
    meter.sample()
    assert meter.summary().today_usage.rx_bytes == 1_150  # includes what is not committed yet
    stored = open_summary(tmp_path / "state", settings_for(tree), clock=clock)
    assert stored.today_usage.rx_bytes == 1_000
    meter.close()


def test_agent_traffic_is_shown_apart_and_not_added(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-03-10T12:00:00"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock)
    meter.sample()
    tree.set(10_000, 4_000)
    clock.advance(60)
    meter.sample()
    meter.record_agent_traffic(1_200, 800)
    meter.close()
    summary = open_summary(tmp_path / "state", settings_for(tree), clock=clock)
    assert (summary.cycle_usage.rx_bytes, summary.cycle_usage.tx_bytes) == (10_000, 4_000)
    assert (summary.agent_cycle.rx_bytes, summary.agent_cycle.tx_bytes) == (1_200, 800)
    assert summary.days[-1].agent.total_bytes == 2_000
    with pytest.raises(ValueError):
        UsageMeter(tmp_path / "state", settings_for(tree), clock=clock).record_agent_traffic(-1, 0)


def test_plan_in_the_summary(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-06-21T08:00:00"))
    tree.set(0, 0)
    plan = Plan(name="1 GB", total_bytes=1024 * MIB, cycle_start=date(2025, 6, 1), cycle_end=date(2025, 6, 30))
    meter = UsageMeter(tmp_path / "state", settings_for(tree, max_rate_mbps=10_000), plan=plan, clock=clock)
    meter.sample()
    tree.set(950 * MIB, 20 * MIB)
    clock.advance(3600)
    meter.sample()
    status = meter.summary().plan
    assert status is not None
    assert status.used_bytes == 970 * MIB and status.remaining_bytes == 54 * MIB
    assert status.flags == (PlanFlag.DATA_LOW, PlanFlag.CYCLE_EXPIRING)  # the cycle ends in the renewal pause
    assert status.advice is not None and status.advice.value == "renew_before_26th"
    assert status.days_left == 10
    meter.close()


def test_module_counters_are_a_second_opinion(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock()
    tree.set(0, 0)
    with meter_for(tree, tmp_path, clock) as meter:
        meter.sample()
        meter.record_module_counters(5_000_000, 1_000_000, "AT+QGDCNT?")
    summary = open_summary(tmp_path / "state", settings_for(tree), clock=clock)
    assert summary.module_counters is not None
    assert (summary.module_counters.rx_bytes, summary.module_counters.source) == (5_000_000, "AT+QGDCNT?")
    assert summary.cycle_usage.total_bytes == 0


def test_retention_keeps_the_store_small(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2022-01-01T00:30:00"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock)
    meter.sample()
    total = 0
    for hour in range(1, 4 * 365 * 24, 13):  # four years, a sample (and a commit) every 13 hours
        total += 1_000
        tree.set(total, 0)
        clock.now = at("2022-01-01T00:30:00") + hour * 3600
        assert meter.sample().committed
    meter.close()
    db = sqlite3.connect(tmp_path / "state" / DB_NAME)
    hours = [row[0] for row in db.execute("SELECT bucket FROM hourly ORDER BY bucket")]
    days = db.execute("SELECT count(*) FROM daily").fetchone()[0]
    months = db.execute("SELECT count(*) FROM monthly").fetchone()[0]
    db.close()
    today = datetime.fromtimestamp(clock.now, SHANGHAI).date()
    assert hours[0] >= (date.fromordinal(today.toordinal() - 7)).isoformat()
    assert days <= 401 and months <= 37
    assert days >= 399 and months >= 36


def test_reader_works_while_a_writer_holds_a_transaction(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-03-10T12:00:00"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock)
    meter.sample()
    tree.set(7_000, 0)
    clock.advance(60)
    meter.sample()
    meter.commit()
    writer = sqlite3.connect(tmp_path / "state" / DB_NAME, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE daily SET rx = rx + 1")  # uncommitted
    summary = open_summary(tmp_path / "state", settings_for(tree), clock=clock)
    assert summary.today_usage.rx_bytes == 7_000
    writer.execute("ROLLBACK")
    writer.close()
    meter.close()


def test_summary_of_a_missing_database_is_empty_and_creates_nothing(tree: FakeSysfs, tmp_path: Path) -> None:
    summary = open_summary(tmp_path / "nothing", settings_for(tree), today=date(2025, 3, 3), days=3)
    assert summary.cycle_usage.total_bytes == 0 and len(summary.days) == 3 and summary.interface_present is None
    assert not (tmp_path / "nothing").exists()


def test_the_store_counts_what_it_writes(tree: FakeSysfs, tmp_path: Path) -> None:
    clock = FakeClock(at("2025-03-10T12:00:00"))
    tree.set(0, 0)
    meter = meter_for(tree, tmp_path, clock)
    meter.sample()
    for minute in range(1, 61):
        tree.set(minute * 1_000, minute)
        clock.advance(60)
        meter.sample()
    meter.close()
    written = open_summary(tmp_path / "state", settings_for(tree), clock=clock).store_bytes_written
    # 14 commits of a few one-KiB pages each, plus their checkpoints: tens of KiB, not nothing, not megabytes.
    assert 14 * 2 * 1024 <= written <= 200 * 1024
