"""The usage meter: samples the interface's counters, accounts the bytes per hour/day/month, commits in batches.

One owner: a meter is used by one thread (the daemon's scheduler job, or one CLI run). Between commits the bytes
live in memory; the database holds the counters they were computed from, so a ``kill -9`` between commits loses
nothing: the next sample counts those bytes again from the committed counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ._counters import CounterEvent, advance
from ._cycles import Cycle, cycle_containing, local_date, plan_cycle
from ._plan import Plan, plan_status
from ._store import DB_NAME, Batch, BucketRow, InterfaceState, ModuleCounters, UsageStore
from ._summary import BucketUsage, SampleResult, Totals, UsageSummary
from ._sysfs import CounterReading, read_boot_id, read_counters

__all__ = ["MeterSettings", "UsageMeter", "open_summary"]

log = logging.getLogger("iotcard.usage")

HOURLY_DAYS = 7
DAILY_DAYS = 400
MONTHLY_MONTHS = 36


@dataclass(frozen=True, slots=True)
class MeterSettings:
    """How the meter runs; the defaults are the config file's defaults."""

    interface: str = "wwan0"
    sysfs_root: Path = Path("/sys")
    proc_root: Path = Path("/proc")
    timezone: str = "Asia/Shanghai"
    cycle_start_day: int = 1
    sample_interval: float = 60.0
    commit_interval: float = 300.0
    max_rate_mbps: float = 1000.0
    low_data_percent: float = 10.0
    expiring_days: int = 7

    @property
    def max_bytes_per_second(self) -> float:
        return self.max_rate_mbps * 1_000_000 / 8


def _keys(at: float, zone: ZoneInfo) -> tuple[tuple[str, str], ...]:
    moment = datetime.fromtimestamp(at, zone)
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return (("hourly", f"{day}T{moment.hour:02d}"), ("daily", day), ("monthly", day[:7]))


def _shift_months(day: date, months: int) -> str:
    index = day.year * 12 + day.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _cycle_for(today: date, settings: MeterSettings, plan: Plan | None) -> Cycle:
    if plan is not None and plan.cycle_start is not None:
        return plan_cycle(today, plan.cycle_start, plan.cycle_end)
    return cycle_containing(today, settings.cycle_start_day)


class UsageMeter:
    """Meter the bytes of ``settings.interface`` into ``state_dir/usage.sqlite3``.

    ``clock`` gives epoch seconds (buckets follow it in ``settings.timezone``); ``read`` and ``boot_id`` replace
    the sysfs/proc reads in tests. ``sample()`` commits by itself once ``commit_interval`` has passed since the last
    commit (and right away for a new baseline); ``commit()`` writes now; ``close()`` commits and checkpoints.
    """

    def __init__(
        self,
        state_dir: Path | str,
        settings: MeterSettings | None = None,
        *,
        plan: Plan | None = None,
        clock: Callable[[], float] = time.time,
        read: Callable[[], CounterReading] | None = None,
        boot_id: Callable[[], str | None] | None = None,
    ) -> None:
        self.settings = settings = settings or MeterSettings()
        self.plan = plan
        self.zone = ZoneInfo(settings.timezone)
        self._clock = clock
        self._read = read or (lambda: read_counters(settings.interface, settings.sysfs_root))
        self._boot_id = boot_id or (lambda: read_boot_id(settings.proc_root))
        self.store = UsageStore(Path(state_dir) / DB_NAME)
        self._state: InterfaceState | None = self.store.interface_state(settings.interface)
        self._module: ModuleCounters | None = self.store.module_counters()
        self._batch = Batch()
        self._last_commit = clock()

    # -- sampling ------------------------------------------------------------------------------------------------

    def sample(self) -> SampleResult:
        """Read the counters once and account for them; commits when a commit is due."""
        now = self._clock()
        reading = self._read()
        name = self.settings.interface
        previous = self._state
        if not reading.present:
            if previous is None or previous.present:
                log.warning("usage: interface %s is absent (%s); not counting", name, reading.problem)
            counters = previous.counters if previous is not None else None
            self._state = InterfaceState(counters, False, now, reading.problem)
            self._batch.states[name] = self._state
            committed = self._commit_if_due(now)
            return SampleResult(name, False, now, 0, 0, None, None, None, reading.problem, committed)
        if previous is not None and not previous.present:
            log.info("usage: interface %s is back", name)
        assert reading.rx_bytes is not None and reading.tx_bytes is not None
        step = advance(
            previous.counters if previous is not None else None,
            reading.rx_bytes,
            reading.tx_bytes,
            boot_id=self._boot_id(),
            ifindex=reading.ifindex,
            at=now,
            max_bytes_per_second=self.settings.max_bytes_per_second,
        )
        if step.event is CounterEvent.REJECTED_JUMP:
            log.warning(
                "usage: %s jumped to rx=%d tx=%d, faster than %g Mbit/s; rejected, counting from here",
                name,
                reading.rx_bytes,
                reading.tx_bytes,
                self.settings.max_rate_mbps,
            )
        elif step.event in (CounterEvent.RESET, CounterEvent.REBOOT):
            log.info(
                "usage: %s counters restarted (%s); counting rx=%d tx=%d",
                name,
                step.event,
                step.rx_bytes,
                step.tx_bytes,
            )
        if step.rx_bytes or step.tx_bytes:
            self._batch.add(_keys(now, self.zone), step.rx_bytes, step.tx_bytes)
        self._state = InterfaceState(step.state, True, now)
        self._batch.states[name] = self._state
        committed = self._commit_if_due(now, force=step.event is CounterEvent.BASELINE)
        return SampleResult(
            name,
            True,
            now,
            step.rx_bytes,
            step.tx_bytes,
            reading.rx_bytes,
            reading.tx_bytes,
            step.event,
            None,
            committed,
        )

    def record_agent_traffic(self, rx_bytes: int, tx_bytes: int) -> None:
        """Account bytes the agent itself moved (MQTT...). They are part of the interface's bytes, shown apart."""
        if rx_bytes < 0 or tx_bytes < 0:
            raise ValueError("traffic is never negative")
        if rx_bytes or tx_bytes:
            self._batch.add(_keys(self._clock(), self.zone), 0, 0, rx_bytes, tx_bytes)

    def record_module_counters(self, rx_bytes: int, tx_bytes: int, source: str) -> None:
        """Keep the module's own counters (e.g. ``AT+QGDCNT?``) as a second opinion beside the kernel's."""
        self._module = ModuleCounters(rx_bytes, tx_bytes, self._clock(), source)
        self._batch.module = self._module

    # -- committing ----------------------------------------------------------------------------------------------

    def _commit_if_due(self, now: float, *, force: bool = False) -> bool:
        if force or now - self._last_commit >= self.settings.commit_interval:
            self.commit()
            return True
        return False

    def commit(self, *, final: bool = False) -> int:
        """Write the pending batch in one transaction (and prune old rows); the bytes written to disk."""
        now = self._clock()
        self._last_commit = now
        if self._batch.empty:
            return 0
        today = local_date(now, self.zone)
        prune = {
            "hourly": (today - timedelta(days=HOURLY_DAYS)).isoformat(),
            "daily": (today - timedelta(days=DAILY_DAYS)).isoformat(),
            "monthly": _shift_months(today, MONTHLY_MONTHS),
        }
        written = self.store.commit(self._batch, prune, final=final)
        self._batch = Batch()
        return written

    @property
    def pending(self) -> bool:
        return not self._batch.empty

    def close(self) -> None:
        """Commit what is pending and checkpoint, so the WAL is folded into the database."""
        try:
            if self.pending:
                # Checkpoint first so the final commit can store a count that includes it.
                self.store.bytes_written_total += self.store.checkpoint()
                self.commit(final=True)
        finally:
            self.store.close()

    def __enter__(self) -> UsageMeter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reporting -----------------------------------------------------------------------------------------------

    def summary(self, *, today: date | None = None, days: int = 14) -> UsageSummary:
        """Usage as of ``today`` (default: the clock's local date), with what is not yet committed."""
        pending = {key: tuple(value) for key, value in self._batch.buckets.items()}
        return _summarize(
            self.store,
            self.settings,
            self.plan,
            today or local_date(self._clock(), self.zone),
            days,
            pending,
            self._state,
            self._module,
        )


def open_summary(
    state_dir: Path | str,
    settings: MeterSettings | None = None,
    *,
    plan: Plan | None = None,
    today: date | None = None,
    days: int = 14,
    clock: Callable[[], float] = time.time,
) -> UsageSummary:
    """The summary from the database alone, read-only: works while a meter in another process writes."""
    settings = settings or MeterSettings()
    zone = ZoneInfo(settings.timezone)
    today = today or local_date(clock(), zone)
    path = Path(state_dir) / DB_NAME
    if not path.exists():
        return _summarize(None, settings, plan, today, days, {}, None, None)
    store = UsageStore(path, writer=False)
    try:
        state = store.interface_state(settings.interface)
        return _summarize(store, settings, plan, today, days, {}, state, store.module_counters())
    finally:
        store.close()


def _summarize(
    store: UsageStore | None,
    settings: MeterSettings,
    plan: Plan | None,
    today: date,
    days: int,
    pending: dict[tuple[str, str], tuple[int, ...]],
    state: InterfaceState | None,
    module: ModuleCounters | None,
) -> UsageSummary:
    zone = ZoneInfo(settings.timezone)
    cycle = _cycle_for(today, settings, plan)
    first_day = today - timedelta(days=max(days, 1) - 1)
    daily = _merged(store, pending, "daily", min(cycle.start, first_day).isoformat(), max(cycle.end, today).isoformat())
    monthly = _merged(store, pending, "monthly", "0000", "9999")
    hourly = _merged(store, pending, "hourly", today.isoformat(), f"{today.isoformat()}T99")

    def usage_between(first: date, last: date, agent: bool) -> Totals:
        lo, hi = first.isoformat(), last.isoformat()
        offset = 2 if agent else 0
        rows = [row for key, row in daily.items() if lo <= key <= hi]
        return Totals(sum(row[offset] for row in rows), sum(row[offset + 1] for row in rows))

    def bucket(key: str, row: tuple[int, ...]) -> BucketUsage:
        return BucketUsage(key, Totals(row[0], row[1]), Totals(row[2], row[3]))

    zero = (0, 0, 0, 0)
    day_list = tuple(
        bucket(key, daily.get(key, zero))
        for key in ((first_day + timedelta(days=n)).isoformat() for n in range(max(days, 1)))
    )
    cycle_usage = usage_between(cycle.start, cycle.end, agent=False)
    status = None
    if plan is not None:
        status = plan_status(
            plan,
            cycle_usage.total_bytes,
            today,
            cycle=cycle,
            low_data_percent=settings.low_data_percent,
            expiring_days=settings.expiring_days,
        )
    counters = state.counters if state is not None else None
    return UsageSummary(
        interface=settings.interface,
        timezone=settings.timezone,
        today=today,
        cycle=cycle,
        cycle_usage=cycle_usage,
        today_usage=usage_between(today, today, agent=False),
        agent_cycle=usage_between(cycle.start, cycle.end, agent=True),
        agent_today=usage_between(today, today, agent=True),
        hours=tuple(bucket(key, row) for key, row in sorted(hourly.items())),
        days=day_list,
        months=tuple(bucket(key, row) for key, row in sorted(monthly.items())),
        plan=status,
        interface_present=state.present if state is not None else None,
        interface_problem=state.problem if state is not None else None,
        last_sample_at=datetime.fromtimestamp(state.checked_at, zone) if state is not None else None,
        last_counted_at=datetime.fromtimestamp(counters.at, zone) if counters is not None else None,
        module_counters=module,
        store_bytes_written=store.bytes_written_total if store is not None else 0,
    )


def _merged(
    store: UsageStore | None, pending: dict[tuple[str, str], tuple[int, ...]], table: str, first: str, last: str
) -> dict[str, tuple[int, ...]]:
    rows: list[BucketRow] = store.rows(table, first, last) if store is not None else []
    merged: dict[str, tuple[int, ...]] = {
        row.bucket: (row.rx_bytes, row.tx_bytes, row.agent_rx_bytes, row.agent_tx_bytes) for row in rows
    }
    for (kind, key), values in pending.items():
        if kind == table and first <= key <= last:
            old = merged.get(key, (0, 0, 0, 0))
            merged[key] = tuple(a + b for a, b in zip(old, values, strict=True))
    return merged
