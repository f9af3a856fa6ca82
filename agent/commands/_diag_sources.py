"""Where ``iotcard diag`` gets the facts beyond the modem: directed probes and the usage meter's store."""

from __future__ import annotations

import argparse
import logging
import sqlite3
from pathlib import Path
from typing import Any

from drivers.models import ModemSnapshot

from ..config import AgentConfig
from ..diagnosis import DirectedFact, PlanFact
from ..directed import (
    BindingError,
    InvalidOption,
    InvalidTarget,
    ProbeOptions,
    ProbeResult,
    Target,
    parse_dns_server,
    parse_target,
    probe_out,
    probe_targets,
)
from ..usage import DB_NAME, PlanFlag, RenewalAdvice, meter_settings, open_summary, plan_from_config, summary_out

__all__ = ["BadTargets", "probe", "targets", "usage", "usage_line"]

log = logging.getLogger("iotcard.diag")

_RENEW_ADVICE = {
    RenewalAdvice.RENEW_BEFORE_26TH: (
        "The cycle ends this month: renew before the 26th; the card provider pauses renewals from the 26th to the 1st."
    ),
    RenewalAdvice.RENEWAL_PAUSED: (
        "Renewals are paused until the 1st (26th–1st): renew on the 1st, or the card may be suspended meanwhile."
    ),
}
_RENEW_ADVICE_ZH = {
    RenewalAdvice.RENEW_BEFORE_26TH: "本周期在本月结束：请在 26 日前续费，卡商每月 26 日至次月 1 日暂停续费。",
    RenewalAdvice.RENEWAL_PAUSED: "26 日至次月 1 日暂停续费：请在 1 日续费，期间卡可能被停机。",
}


class BadTargets(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def targets(args: argparse.Namespace, config: AgentConfig) -> list[Target]:
    """The directed targets to probe: ``--targets`` or the config's; none without either."""
    default_port = config.directed.port
    entries = [(text, None) for text in args.targets] if args.targets else config.directed.probe_entries()
    parsed = []
    for text, own_port in entries:
        try:
            parsed.append(parse_target(text, own_port or default_port))
        except InvalidTarget as exc:
            raise BadTargets(exc.message, "e.g. --targets ecloud.haiwell.com 203.0.113.7:8883") from None
    return parsed


def probe(
    chosen: list[Target], args: argparse.Namespace, config: AgentConfig, snapshot: ModemSnapshot, lang: str
) -> tuple[list[DirectedFact], dict[str, Any]]:
    directed = config.directed
    try:
        servers = tuple(parse_dns_server(text) for text in (args.dns or directed.dns))
    except InvalidOption as exc:
        raise BadTargets(exc.message, "e.g. --dns 211.136.17.107") from None
    options = ProbeOptions(
        dns_servers=servers,
        interface=args.interface or directed.interface,
        timeout=args.timeout,
        tls=directed.tls,
    )
    try:
        results: list[ProbeResult] = probe_targets(chosen, options)
    except BindingError as exc:
        raise BadTargets(exc.message, exc.hint or "check --interface") from None
    facts = [
        DirectedFact(
            target=result.text,
            verdict=result.verdict.value,
            dns_status=result.dns.status.value if result.dns is not None else None,
        )
        for result in results
    ]
    doc = probe_out(results, lang, 0).model_dump(mode="json")
    return facts, doc


def usage(state_dir: Path, config: AgentConfig, lang: str = "en") -> tuple[PlanFact | None, dict[str, Any] | None]:
    """The meter's summary when this device keeps one (a usage database in the state dir), and the plan facts."""
    if not (state_dir / DB_NAME).exists():
        return None, None
    try:
        summary = open_summary(state_dir, meter_settings(config.usage), plan=plan_from_config(config.plan))
    except (OSError, sqlite3.Error) as exc:
        log.warning("cannot read the usage database in %s: %s", state_dir, exc)
        return None, None
    doc = summary_out(summary).model_dump(mode="json")
    status = summary.plan
    if status is None:
        return None, doc
    advice = None
    if status.advice is not None:
        advice = (_RENEW_ADVICE_ZH if lang == "zh" else _RENEW_ADVICE)[status.advice]
    total = status.total_bytes
    fact = PlanFact(
        used_bytes=status.used_bytes,
        total_bytes=total,
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
    return fact, doc


def _mb(value: int) -> str:
    return f"{value / (1024 * 1024):.1f} MB"


def usage_line(doc: dict[str, Any]) -> str:
    cycle = doc["cycle"]
    line = f"{_mb(cycle['total_bytes'])} ({cycle['start']} – {cycle['end']})"
    plan = doc.get("plan")
    if plan and plan.get("total_bytes"):
        line += f" of {_mb(plan['total_bytes'])}"
        if plan.get("remaining_bytes") is not None:
            line += f", {_mb(plan['remaining_bytes'])} left"
    return line
