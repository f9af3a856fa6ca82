"""JSON shapes of ``iotcard usage sample --json`` and ``usage show --json`` (see :mod:`iotcard.agent._json_out`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from iotcard.agent._json_out import JsonOut

from ._plan import PlanFlag, PlanStatus
from ._summary import BucketUsage, SampleResult, Totals, UsageSummary

__all__ = ["SampleOut", "UsageShowOut", "sample_out", "summary_out"]


@dataclass(frozen=True, kw_only=True)
class TotalsOut(JsonOut):
    rx_bytes: int
    tx_bytes: int
    total_bytes: int


@dataclass(frozen=True, kw_only=True)
class CycleOut(TotalsOut):
    start: date
    end: date


@dataclass(frozen=True, kw_only=True)
class TodayOut(TotalsOut):
    date: date


@dataclass(frozen=True, kw_only=True)
class DayOut(TotalsOut):
    date: date
    agent_rx_bytes: int
    agent_tx_bytes: int


@dataclass(frozen=True, kw_only=True)
class MonthOut(TotalsOut):
    month: str
    agent_rx_bytes: int
    agent_tx_bytes: int


@dataclass(frozen=True, kw_only=True)
class HourOut(TotalsOut):
    hour: str
    agent_rx_bytes: int
    agent_tx_bytes: int


@dataclass(frozen=True, kw_only=True)
class AgentOut(JsonOut):
    cycle: TotalsOut
    today: TotalsOut


@dataclass(frozen=True, kw_only=True)
class PlanOut(JsonOut):
    name: str | None
    card_type: str | None
    total_bytes: int | None
    used_bytes: int
    remaining_bytes: int | None
    percent_used: float | None
    cycle_start: date
    cycle_end: date
    days_left: int
    expiry: date | None
    days_to_expiry: int | None
    flags: list[str]
    data_low: bool
    data_exhausted: bool
    cycle_expiring: bool
    expired: bool
    advice: str | None


@dataclass(frozen=True, kw_only=True)
class ModuleCountersOut(JsonOut):
    rx_bytes: int
    tx_bytes: int
    at: datetime
    source: str


@dataclass(frozen=True, kw_only=True)
class UsageShowOut(JsonOut):
    interface: str
    timezone: str
    interface_present: bool | None
    interface_problem: str | None
    last_sample_at: datetime | None
    last_counted_at: datetime | None
    cycle: CycleOut
    today: TodayOut
    days: list[DayOut]
    months: list[MonthOut]
    hours: list[HourOut]
    agent: AgentOut
    plan: PlanOut | None
    module_counters: ModuleCountersOut | None
    store_bytes_written: int


@dataclass(frozen=True, kw_only=True)
class CountersOut(JsonOut):
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True, kw_only=True)
class SampleOut(JsonOut):
    interface: str
    present: bool
    at: datetime
    event: str | None
    rx_bytes: int
    tx_bytes: int
    counters: CountersOut | None
    problem: str | None
    committed: bool


def _totals(totals: Totals) -> TotalsOut:
    return TotalsOut(rx_bytes=totals.rx_bytes, tx_bytes=totals.tx_bytes, total_bytes=totals.total_bytes)


def _bucket_fields(row: BucketUsage) -> dict[str, int]:
    return {
        "rx_bytes": row.usage.rx_bytes,
        "tx_bytes": row.usage.tx_bytes,
        "total_bytes": row.usage.total_bytes,
        "agent_rx_bytes": row.agent.rx_bytes,
        "agent_tx_bytes": row.agent.tx_bytes,
    }


def _plan(status: PlanStatus) -> PlanOut:
    return PlanOut(
        name=status.name,
        card_type=status.card_type,
        total_bytes=status.total_bytes,
        used_bytes=status.used_bytes,
        remaining_bytes=status.remaining_bytes,
        percent_used=status.percent_used,
        cycle_start=status.cycle.start,
        cycle_end=status.cycle.end,
        days_left=status.days_left,
        expiry=status.expiry,
        days_to_expiry=status.days_to_expiry,
        flags=[flag.value for flag in status.flags],
        data_low=status.has(PlanFlag.DATA_LOW),
        data_exhausted=status.has(PlanFlag.DATA_EXHAUSTED),
        cycle_expiring=status.has(PlanFlag.CYCLE_EXPIRING),
        expired=status.has(PlanFlag.EXPIRED),
        advice=status.advice.value if status.advice else None,
    )


def summary_out(summary: UsageSummary) -> UsageShowOut:
    module = summary.module_counters
    cycle = summary.cycle_usage
    today = summary.today_usage
    return UsageShowOut(
        interface=summary.interface,
        timezone=summary.timezone,
        interface_present=summary.interface_present,
        interface_problem=summary.interface_problem,
        last_sample_at=summary.last_sample_at,
        last_counted_at=summary.last_counted_at,
        cycle=CycleOut(
            start=summary.cycle.start,
            end=summary.cycle.end,
            rx_bytes=cycle.rx_bytes,
            tx_bytes=cycle.tx_bytes,
            total_bytes=cycle.total_bytes,
        ),
        today=TodayOut(
            date=summary.today, rx_bytes=today.rx_bytes, tx_bytes=today.tx_bytes, total_bytes=today.total_bytes
        ),
        days=[DayOut(date=date.fromisoformat(row.bucket), **_bucket_fields(row)) for row in summary.days],
        months=[MonthOut(month=row.bucket, **_bucket_fields(row)) for row in summary.months],
        hours=[HourOut(hour=row.bucket, **_bucket_fields(row)) for row in summary.hours],
        agent=AgentOut(cycle=_totals(summary.agent_cycle), today=_totals(summary.agent_today)),
        plan=_plan(summary.plan) if summary.plan is not None else None,
        module_counters=(
            ModuleCountersOut(
                rx_bytes=module.rx_bytes,
                tx_bytes=module.tx_bytes,
                at=datetime.fromtimestamp(module.at, ZoneInfo(summary.timezone)),
                source=module.source,
            )
            if module is not None
            else None
        ),
        store_bytes_written=summary.store_bytes_written,
    )


def sample_out(result: SampleResult, at: datetime) -> SampleOut:
    counters = None
    if result.counters_rx is not None and result.counters_tx is not None:
        counters = CountersOut(rx_bytes=result.counters_rx, tx_bytes=result.counters_tx)
    return SampleOut(
        interface=result.interface,
        present=result.present,
        at=at,
        event=result.event.value if result.event else None,
        rx_bytes=result.rx_bytes,
        tx_bytes=result.tx_bytes,
        counters=counters,
        problem=result.problem,
        committed=result.committed,
    )
