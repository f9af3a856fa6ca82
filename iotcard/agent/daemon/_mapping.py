"""Facts of the meter, the probes and the diagnosis mapped into the MQTT contract's models (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from iotcard.agent.diagnosis import Diagnosis, Severity, render
from iotcard.agent.directed import ProbeResult
from iotcard.agent.usage import MIB, UsageSummary
from iotcard.contract.wire import (
    DailyUsage,
    DiagnosisFinding,
    DirectedTargetResult,
    HourlyUsage,
    MonthlyUsage,
    PlanStatus,
    UsageReport,
)

__all__ = ["diagnosis_findings", "directed_results", "plan_flags", "usage_report"]


def plan_flags(summary: UsageSummary) -> tuple[str, ...]:
    return tuple(flag.value for flag in summary.plan.flags) if summary.plan is not None else ()


def usage_report(summary: UsageSummary, since: datetime | None) -> UsageReport:
    """The meter's absolute figures: the cycle, the hours since ``since`` (UTC), the local days from ``since``'s
    day on (today and yesterday when there is no ``since``), and those days' months.

    Every figure is the bucket's total so far, never a delta: the collector keeps the latest per bucket.
    """
    zone = ZoneInfo(summary.timezone)
    hourly = []
    for bucket in summary.hours:
        local = datetime.strptime(bucket.bucket, "%Y-%m-%dT%H").replace(tzinfo=zone)
        hour = local.astimezone(UTC)
        if since is not None and hour < since.replace(minute=0, second=0, microsecond=0):
            continue
        if bucket.usage.total_bytes:
            hourly.append(HourlyUsage(hour=hour, rx_bytes=bucket.usage.rx_bytes, tx_bytes=bucket.usage.tx_bytes))
    first_day = since.astimezone(zone).date() if since is not None else summary.today - timedelta(days=1)
    first_day = min(first_day, summary.today)
    days = [
        DailyUsage(day=date.fromisoformat(b.bucket), rx_bytes=b.usage.rx_bytes, tx_bytes=b.usage.tx_bytes)
        for b in summary.days
        if b.bucket >= first_day.isoformat()
    ]
    if not any(d.day == summary.today for d in days):
        today = summary.today_usage
        days.append(DailyUsage(day=summary.today, rx_bytes=today.rx_bytes, tx_bytes=today.tx_bytes))
    wanted = {f"{d.day:%Y-%m}" for d in days}
    months = [
        MonthlyUsage(month=b.bucket, rx_bytes=b.usage.rx_bytes, tx_bytes=b.usage.tx_bytes)
        for b in summary.months
        if b.bucket in wanted
    ]
    plan = None
    if summary.plan is not None:
        status = summary.plan
        state = status.state
        plan = PlanStatus(
            name=status.name,
            total_mb=round(status.total_bytes / MIB, 3) if status.total_bytes is not None else None,
            remaining_mb=round(state.remaining_bytes / MIB, 3) if state.remaining_bytes is not None else None,
            overage_mb=round(state.overage_bytes / MIB, 3) if state.overage_bytes else None,
            cycle_end=status.plan_cycle_end,
            expiry=status.expiry,
            renew_by=state.renew_by,
            flags=state.flags,
        )
    cycle = summary.cycle_usage
    return UsageReport(
        cycle_start=summary.cycle.start,
        cycle_end=summary.cycle.end,
        cycle_rx_bytes=cycle.rx_bytes,
        cycle_tx_bytes=cycle.tx_bytes,
        cycle_total_bytes=cycle.total_bytes,
        timezone=summary.timezone,
        hourly=hourly,
        days=days,
        months=months,
        plan=plan,
    )


def directed_results(results: Sequence[ProbeResult]) -> list[DirectedTargetResult]:
    out = []
    for result in results:
        elapsed = None
        if result.tcp is not None:
            elapsed = result.tcp.elapsed_ms
        out.append(
            DirectedTargetResult(
                target=result.text,
                verdict=result.verdict.value,
                dns=result.dns.status.value if result.dns is not None else None,
                tcp=result.tcp.status.value if result.tcp is not None else None,
                tls=result.tls.status.value if result.tls is not None else None,
                elapsed_ms=elapsed,
            )
        )
    return out


_SEVERITY: dict[Severity, Literal["info", "warning", "error"]] = {
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.ERROR: "error",
}


def diagnosis_findings(diagnosis: Diagnosis, lang: str = "en") -> list[DiagnosisFinding]:
    findings = []
    for finding in diagnosis.findings:
        message, hint = render(finding, lang)
        findings.append(
            DiagnosisFinding(
                code=finding.code, severity=_SEVERITY[finding.severity], summary=message, detail=hint or None
            )
        )
    return findings
