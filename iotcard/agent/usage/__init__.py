"""Data usage metering on the device: per hour, day, month and billing cycle, exact across restarts and resets.

The kernel's counters of the cellular interface are sampled (:mod:`._sysfs`), turned into counted bytes by a pure
rule (:func:`advance`), accounted per local hour/day/month in SQLite (:class:`UsageStore`), and summarized against
the billing cycle (:func:`cycle_containing`) and the plan (:func:`plan_status`) as a :class:`UsageSummary`.
"""

from __future__ import annotations

from ._config import meter_settings, plan_from_config
from ._counters import CounterEvent, CounterState, CounterStep, advance
from ._cycles import Cycle, cycle_containing, local_date, month_key, plan_cycle
from ._meter import MeterSettings, UsageMeter, open_summary
from ._plan import MIB, Plan, PlanFlag, PlanStatus, RenewalAdvice, plan_status
from ._schemas import SampleOut, UsageShowOut, sample_out, summary_out
from ._store import DB_NAME, Batch, BucketRow, InterfaceState, ModuleCounters, UsageStore
from ._summary import BucketUsage, SampleResult, Totals, UsageSummary
from ._sysfs import CounterReading, read_boot_id, read_counters

__all__ = [
    "DB_NAME",
    "MIB",
    "Batch",
    "BucketRow",
    "BucketUsage",
    "CounterEvent",
    "CounterReading",
    "CounterState",
    "CounterStep",
    "Cycle",
    "InterfaceState",
    "MeterSettings",
    "ModuleCounters",
    "Plan",
    "PlanFlag",
    "PlanStatus",
    "RenewalAdvice",
    "SampleOut",
    "SampleResult",
    "Totals",
    "UsageMeter",
    "UsageShowOut",
    "UsageStore",
    "UsageSummary",
    "advance",
    "cycle_containing",
    "local_date",
    "meter_settings",
    "month_key",
    "open_summary",
    "plan_cycle",
    "plan_from_config",
    "plan_status",
    "read_boot_id",
    "read_counters",
    "sample_out",
    "summary_out",
]
