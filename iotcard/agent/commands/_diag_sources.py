"""Where ``iotcard diag`` gets the facts beyond the modem: directed probes and the usage meter's store."""

from __future__ import annotations

import argparse
import logging
import sqlite3
from pathlib import Path
from typing import Any

from iotcard.drivers.models import ModemSnapshot

from ..config import AgentConfig
from ..diagnosis import DirectedFact, PlanFact, directed_facts, plan_fact
from ..directed import (
    BindingError,
    InvalidOption,
    InvalidTarget,
    ProbeOptions,
    ProbeResult,
    Target,
    dns_for_probes,
    parse_dns_server,
    parse_target,
    probe_out,
    probe_targets,
)
from ..usage import DB_NAME, meter_settings, open_summary, plan_from_config, summary_out

__all__ = ["BadTargets", "dns_for_probes", "probe", "targets", "usage", "usage_line"]

log = logging.getLogger("iotcard.diag")


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
    interface = args.interface or directed.interface
    texts, dns_from = dns_for_probes(list(args.dns or directed.dns), interface, snapshot.network.dns)
    try:
        servers = tuple(parse_dns_server(text) for text in texts)
    except InvalidOption as exc:
        raise BadTargets(exc.message, "e.g. --dns 211.136.17.107") from None
    options = ProbeOptions(
        dns_servers=servers,
        interface=interface,
        timeout=args.timeout,
        tls=directed.tls,
    )
    try:
        results: list[ProbeResult] = probe_targets(chosen, options)
    except BindingError as exc:
        raise BadTargets(exc.message, exc.hint or "check --interface") from None
    facts = directed_facts(results)
    doc = probe_out(results, lang, 0).model_dump(mode="json")
    # Say which resolvers were asked: the operator's (from the module), the configured ones, or the system's.
    doc["dns_servers"] = {"from": dns_from, "servers": texts}
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
    return plan_fact(status, lang), doc


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
