"""The diagnosis's view of the meter's plan status and of probe results: one mapping for the CLI and the daemon."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from iotcard.agent.usage import PlanFlag, PlanStatus, RenewalAdvice

from ._engine import DirectedFact, PlanFact

if TYPE_CHECKING:
    from iotcard.agent.directed import ProbeResult

__all__ = ["directed_facts", "plan_fact"]

_RENEW_ADVICE = {
    "en": {
        RenewalAdvice.RENEW_BEFORE_26TH: (
            "The cycle ends this month: renew before the 26th; the card provider pauses renewals from the 26th to "
            "the 1st."
        ),
        RenewalAdvice.RENEWAL_PAUSED: (
            "Renewals are paused until the 1st (26th–1st): renew on the 1st, or the card may be suspended meanwhile."
        ),
    },
    "zh": {
        RenewalAdvice.RENEW_BEFORE_26TH: "本周期在本月结束：请在 26 日前续费，卡商每月 26 日至次月 1 日暂停续费。",
        RenewalAdvice.RENEWAL_PAUSED: "26 日至次月 1 日暂停续费：请在 1 日续费，期间卡可能被停机。",
    },
}


def plan_fact(status: PlanStatus, lang: str = "en") -> PlanFact:
    """The plan as the diagnosis reads it: the end that comes first (cycle or card expiry), the renewal advice."""
    advice = None
    if status.advice is not None:
        advice = _RENEW_ADVICE.get(lang, _RENEW_ADVICE["en"])[status.advice]
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
        renew_advice=advice,
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
