"""The meter's facts as one frozen value: what ``iotcard usage show``, diagnosis and telemetry consume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ._counters import CounterEvent
from ._cycles import Cycle
from ._plan import PlanStatus
from ._store import ModuleCounters

__all__ = ["BucketUsage", "SampleResult", "Totals", "UsageSummary"]


@dataclass(frozen=True, slots=True)
class Totals:
    rx_bytes: int = 0
    tx_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.rx_bytes + self.tx_bytes


@dataclass(frozen=True, slots=True)
class BucketUsage:
    """One hour ('YYYY-MM-DDTHH'), day ('YYYY-MM-DD') or month ('YYYY-MM') in local time.

    ``agent`` is the part of ``usage`` the agent itself moved.
    """

    bucket: str
    usage: Totals
    agent: Totals


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """Usage on the card's interface, as of ``today`` (a local date in ``timezone``).

    ``interface_present`` is None before the first sample. ``module_counters`` is the module's own count
    (e.g. Quectel ``AT+QGDCNT?``), shown beside the kernel's, never added to it. ``store_bytes_written`` is what
    the meter has written to its database, counted at the file level.
    """

    interface: str
    timezone: str
    today: date
    cycle: Cycle
    cycle_usage: Totals
    today_usage: Totals
    agent_cycle: Totals
    agent_today: Totals
    hours: tuple[BucketUsage, ...]
    days: tuple[BucketUsage, ...]
    months: tuple[BucketUsage, ...]
    plan: PlanStatus | None
    interface_present: bool | None
    interface_problem: str | None
    last_sample_at: datetime | None
    last_counted_at: datetime | None
    module_counters: ModuleCounters | None
    store_bytes_written: int


@dataclass(frozen=True, slots=True)
class SampleResult:
    """One sample: what it added, the raw counters, and what happened (``event`` is None when absent)."""

    interface: str
    present: bool
    at: float
    rx_bytes: int
    tx_bytes: int
    counters_rx: int | None
    counters_tx: int | None
    event: CounterEvent | None
    problem: str | None
    committed: bool
