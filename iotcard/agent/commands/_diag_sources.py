"""Where ``iotcard diag`` gets its facts: the port opened here, directed probes run now, the usage meter's store.

:class:`CliSources` hands these readers to :func:`iotcard.agent.diagnosis.gather` (the daemon hands in its own) and
keeps what the JSON document shows beside the findings (the probe results and the usage summary).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
from pathlib import Path
from typing import Any

from iotcard.drivers.models import ModemSnapshot

from .._context import Context
from ..config import AgentConfig
from ..diagnosis import DiagnosisSources
from ..directed import (
    BindingError,
    InvalidOption,
    InvalidTarget,
    ProbeOptions,
    ProbeResult,
    Target,
    TargetProblem,
    dns_for_probes,
    parse_dns_server,
    parse_target,
    probe_out,
    probe_targets,
    problem_message,
)
from ..messages import render
from ..state import last_seen_identity
from ..usage import DB_NAME, PlanStatus, meter_settings, open_summary, plan_from_config, summary_out

__all__ = ["BadTargets", "CliSources", "dns_for_probes", "probe", "targets", "usage", "usage_line"]

log = logging.getLogger("iotcard.diag")


class BadTargets(Exception):
    """A target or probe option that cannot be used: the refused text's problem (its sentence comes from the
    catalogue, ``directed.problem.*``) or the probe layer's message, and the catalogue code of the hint."""

    def __init__(self, message: str, hint_code: str, *, problem: TargetProblem | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.hint_code = hint_code
        self.problem = problem
        self.hint = hint

    def texts(self, lang: str) -> tuple[str, str]:
        message = problem_message(self.problem, lang) if self.problem is not None else str(self)
        return message, self.hint or render(self.hint_code, lang)


def targets(args: argparse.Namespace, config: AgentConfig) -> list[Target]:
    """The directed targets to probe: ``--targets`` or the config's; none without either."""
    default_port = config.directed.port
    entries = [(text, None) for text in args.targets] if args.targets else config.directed.probe_entries()
    parsed = []
    for text, own_port in entries:
        try:
            parsed.append(parse_target(text, own_port or default_port))
        except InvalidTarget as exc:
            raise BadTargets(exc.message, "cli.diag.targets_hint", problem=exc.problem) from None
    return parsed


def probe(
    chosen: list[Target], args: argparse.Namespace, config: AgentConfig, snapshot: ModemSnapshot, lang: str
) -> tuple[list[ProbeResult], dict[str, Any]]:
    directed = config.directed
    interface = args.interface or directed.interface
    texts, dns_from = dns_for_probes(list(args.dns or directed.dns), interface, snapshot.network.dns)
    try:
        servers = tuple(parse_dns_server(text) for text in texts)
    except InvalidOption as exc:
        raise BadTargets(exc.message, "cli.diag.dns_hint", problem=exc.problem) from None
    options = ProbeOptions(
        dns_servers=servers,
        interface=interface,
        timeout=args.timeout,
        tls=directed.tls,
    )
    try:
        results: list[ProbeResult] = probe_targets(chosen, options)
    except BindingError as exc:
        raise BadTargets(exc.message, "cli.diag.interface_hint", hint=exc.hint) from None
    doc = probe_out(results, lang, 0).as_json()
    # Say which resolvers were asked: the operator's (from the module), the configured ones, or the system's.
    doc["dns_servers"] = {"from": dns_from, "servers": texts}
    return results, doc


def usage(state_dir: Path, config: AgentConfig) -> tuple[PlanStatus | None, dict[str, Any] | None]:
    """The meter's summary when this device keeps one (a usage database in the state dir), and its plan status."""
    if not (state_dir / DB_NAME).exists():
        return None, None
    try:
        summary = open_summary(state_dir, meter_settings(config.usage), plan=plan_from_config(config.plan))
    except (OSError, sqlite3.Error) as exc:
        log.warning("cannot read the usage database in %s: %s", state_dir, exc)
        return None, None
    return summary.plan, summary_out(summary).as_json()


class CliSources:
    """The CLI's readers for one ``iotcard diag`` run; what they read is kept for the JSON document."""

    def __init__(self, args: argparse.Namespace, ctx: Context, config: AgentConfig, port: str, state_dir: Path) -> None:
        self.args = args
        self.ctx = ctx
        self.config = config
        self.port = port
        self.state_dir = state_dir
        self.targets = targets(args, config)  # BadTargets before anything is opened
        self.snapshot: ModemSnapshot | None = None
        self.probes_doc: dict[str, Any] | None = None
        self.usage_doc: dict[str, Any] | None = None

    def diagnosis_sources(self) -> DiagnosisSources:
        return DiagnosisSources(
            read_modem=self.read_modem,
            port=self.port,
            previous_identity=lambda: last_seen_identity(self.state_dir),
            plan=self.plan,
            probes=self.probe,
        )

    def read_modem(self) -> ModemSnapshot:
        baud = self.args.baud if self.args.port else self.config.modem.baud
        with self.ctx.open_modem(self.port, baud) as modem:
            self.snapshot = modem.read_snapshot()
        return self.snapshot

    def probe(self, snapshot: ModemSnapshot) -> list[ProbeResult] | None:
        if not self.targets:
            return None
        results, self.probes_doc = probe(self.targets, self.args, self.config, snapshot, self.ctx.lang)
        return results

    def plan(self) -> PlanStatus | None:
        status, self.usage_doc = usage(self.state_dir, self.config)
        return status


def _mb(value: int) -> str:
    return f"{value / (1024 * 1024):.1f} MB"


def usage_line(doc: dict[str, Any], lang: str = "en") -> str:
    cycle = doc["cycle"]
    line = render("facts.usage_cycle", lang, used=_mb(cycle["total_bytes"]), start=cycle["start"], end=cycle["end"])
    plan = doc.get("plan")
    if plan and plan.get("total_bytes"):
        line += render("facts.usage_plan", lang, total=_mb(plan["total_bytes"]))
        if plan.get("remaining_bytes") is not None:
            line += render("facts.usage_left", lang, remaining=_mb(plan["remaining_bytes"]))
    return line
