"""Facts of the meter, the probes and the diagnosis mapped into the MQTT contract's models (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from agent.contract import DiagnosisFinding, DirectedTargetResult, HourlyUsage, PlanStatus, UsageReport
from agent.diagnosis import Diagnosis, Severity, render
from agent.directed import ProbeResult
from agent.usage import MIB, UsageSummary

__all__ = ["diagnosis_findings", "directed_results", "plan_flags", "usage_report"]


def plan_flags(summary: UsageSummary) -> tuple[str, ...]:
    return tuple(flag.value for flag in summary.plan.flags) if summary.plan is not None else ()


def usage_report(summary: UsageSummary, since: datetime | None) -> UsageReport:
    """Cycle totals and the hourly deltas (UTC hours) completed or running since ``since``."""
    zone = ZoneInfo(summary.timezone)
    hourly = []
    for bucket in summary.hours:
        local = datetime.strptime(bucket.bucket, "%Y-%m-%dT%H").replace(tzinfo=zone)
        hour = local.astimezone(UTC)
        if since is not None and hour < since.replace(minute=0, second=0, microsecond=0):
            continue
        if bucket.usage.total_bytes:
            hourly.append(HourlyUsage(hour=hour, rx_bytes=bucket.usage.rx_bytes, tx_bytes=bucket.usage.tx_bytes))
    plan = None
    if summary.plan is not None:
        status = summary.plan
        plan = PlanStatus(
            name=status.name,
            total_mb=round(status.total_bytes / MIB, 3) if status.total_bytes is not None else None,
            remaining_mb=round(status.remaining_bytes / MIB, 3) if status.remaining_bytes is not None else None,
            expiry=status.expiry,
            flags=list(plan_flags(summary)),
        )
    cycle = summary.cycle_usage
    return UsageReport(
        cycle_start=summary.cycle.start,
        cycle_end=summary.cycle.end,
        cycle_rx_bytes=cycle.rx_bytes,
        cycle_tx_bytes=cycle.tx_bytes,
        cycle_total_bytes=cycle.total_bytes,
        hourly=hourly,
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
