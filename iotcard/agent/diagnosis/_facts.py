"""The diagnosis's view of the meter's plan status and of probe results: one mapping for the CLI and the daemon."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from iotcard.agent.usage import PlanFlag, PlanStatus

from ._engine import DirectedFact, PlanFact

if TYPE_CHECKING:
    from iotcard.agent.directed import ProbeResult

__all__ = ["directed_facts", "plan_fact"]


def plan_fact(status: PlanStatus) -> PlanFact:
    """The plan as the diagnosis reads it: the end that comes first (cycle or card expiry), the renewal advice as a
    code and its deadline."""
    return PlanFact(
        used_bytes=status.used_bytes,
        total_bytes=status.total_bytes,
        remaining_bytes=status.remaining_bytes,
        percent_left=(100.0 - status.percent_used) if status.percent_used is not None else None,
        cycle_end=status.expiry if status.expiry and status.expiry < status.cycle.end else status.cycle.end,
        days_left=status.days_to_expiry if status.has(PlanFlag.EXPIRED) else status.days_left,
        data_low=status.has(PlanFlag.DATA_LOW),
        data_exhausted=status.has(PlanFlag.DATA_EXHAUSTED),
        cycle_expiring=status.has(PlanFlag.CYCLE_EXPIRING),
        expired=status.has(PlanFlag.EXPIRED),
        renew_advice=status.advice.value if status.advice is not None else None,
        renew_by=status.state.renew_by if status.advice is not None else None,
    )


def directed_facts(results: Sequence[ProbeResult]) -> list[DirectedFact]:
    return [
        DirectedFact(
            target=result.text,
            verdict=result.verdict.value,
            dns_status=result.dns.status.value if result.dns is not None else None,
        )
        for result in results
    ]
