"""``iotcard diag``: one screen that says what is wrong with the card and what to do (卡诊断)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from iotcard.agent.errors import ConfigError
from iotcard.drivers.models import ModemSnapshot

from .._context import EXIT_FAIL, EXIT_OK, EXIT_PORT, EXIT_UNRESPONSIVE, EXIT_USAGE, Context
from ..config import AgentConfig, load_config
from ..diagnosis import Diagnosis, Severity, Verdict, diagnose, gather, render
from ..i18n import t
from ..messages import display_width
from ..messages import render as say
from ..schemas import snapshot_out
from ..state import remember_identity
from . import _diag_sources as sources
from .modem import add_port_arguments

ORDER = 15

log = logging.getLogger("iotcard.diag")

_COLOUR = {Verdict.OK: "\033[32m", Verdict.DEGRADED: "\033[33m", Verdict.FAIL: "\033[31m"}
_SEVERITY_COLOUR = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[32m"}
_RESET = "\033[0m"


def register(sub: Any) -> None:
    diag = sub.add_parser(
        "diag",
        help="card diagnosis: what is wrong and what to do next",
        description="Check, in order, the port, the module, the SIM, signal, registration, data attach, the IP "
        "address, DNS and the directed targets over the cellular link, and the plan's data and dates; print the "
        "verdict, the findings most severe first with what to do, and the key facts.",
        epilog="Without a config file and without --targets, no directed target is probed. exit: 0 verdict ok, "
        "1 degraded or fail, 2 bad input, 3 port unusable, 4 modem not answering (findings are printed in every "
        "case). Output follows LANG (zh_CN.UTF-8 gives Chinese).",
    )
    add_port_arguments(diag)
    diag.add_argument("--config", type=Path, help="agent config (TOML): port, directed targets, plan, state dir")
    diag.add_argument("--targets", nargs="+", metavar="TARGET", help="directed targets to probe (host[:port], IP, URL)")
    diag.add_argument("--dns", action="append", metavar="IP[:PORT]", help="DNS server to use (repeatable)")
    diag.add_argument("--interface", metavar="IF", help="send probes over this interface (the cellular one)")
    diag.add_argument("--timeout", type=float, default=3.0, help="seconds per probe step (default 3)")
    diag.add_argument("--state-dir", type=Path, help="where the last-seen identity and the usage database live")
    diag.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    diag.set_defaults(handler=run_diag)


def _config(args: argparse.Namespace) -> AgentConfig:
    if args.config is not None:
        return load_config(args.config)
    return AgentConfig()


def run_diag(args: argparse.Namespace, ctx: Context) -> int:
    started = time.monotonic()
    try:
        config = _config(args)
    except ConfigError as exc:
        return ctx.fail(exc.code, exc.message, say("cli.diag.config_hint", ctx.lang), EXIT_USAGE)
    port = args.port or config.modem.port
    state_dir: Path = args.state_dir or config.paths.state_dir
    if not port:
        message, hint = say("cli.port_required", ctx.lang), say("cli.port_required.hint", ctx.lang)
        return ctx.fail("port_required", message, hint, EXIT_USAGE)

    try:
        cli_sources = sources.CliSources(args, ctx, config, port, state_dir)
        facts = gather(cli_sources.diagnosis_sources())
    except sources.BadTargets as exc:
        message, hint = exc.texts(ctx.lang)
        return ctx.fail("invalid_target", message, hint, EXIT_USAGE)
    snapshot, probes_doc, usage_doc = facts.snapshot, cli_sources.probes_doc, cli_sources.usage_doc
    result = diagnose(facts)
    if snapshot is not None:
        remember_identity(state_dir, snapshot.sim.iccid, snapshot.identity.imei)
    duration_ms = round((time.monotonic() - started) * 1000)

    if ctx.json:
        doc = {
            "verdict": result.verdict.value,
            "findings": [_finding_doc(f, ctx.lang) for f in result.findings],
            "checks": [
                {"check": o.check, "passed": o.passed, "skipped": o.skipped, "reason": o.skip_reason}
                for o in result.checks
            ],
            "snapshot": json.loads(snapshot_out(snapshot, duration_ms).to_json()) if snapshot else None,
            "probes": probes_doc,
            "usage": usage_doc,
            "duration_ms": duration_ms,
        }
        ctx.out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        ctx.out.write(render_diagnosis(result, snapshot, usage_doc, ctx.lang, _colour(ctx)))
    if facts.port_error is not None:
        return EXIT_PORT
    if facts.modem_unresponsive:
        return EXIT_UNRESPONSIVE
    return EXIT_OK if result.verdict is Verdict.OK else EXIT_FAIL


def _finding_doc(finding: Any, lang: str) -> dict[str, Any]:
    message, hint = render(finding, lang)
    return {
        "code": finding.code,
        "severity": finding.severity.label,
        "message": message,
        "hint": hint,
        "params": dict(finding.params),
    }


def _colour(ctx: Context) -> bool:
    isatty = getattr(ctx.out, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"


def render_diagnosis(
    result: Diagnosis, snapshot: ModemSnapshot | None, usage_doc: dict[str, Any] | None, lang: str, colour: bool
) -> str:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    verdict = say(f"verdict.{result.verdict.value}", lang)
    first_message = render(result.first, lang)[0]
    label = say("label.diagnosis", lang)
    lines = [f"{label}: {paint(verdict, _COLOUR[result.verdict])} — {first_message}", ""]
    if result.verdict is not Verdict.OK:
        for finding in result.findings:
            message, hint = render(finding, lang)
            severity = paint(f"[{say(f'severity.{finding.severity.label}', lang)}]", _SEVERITY_COLOUR[finding.severity])
            lines.append(f"{severity} {message}")
            if hint:
                lines.append(f"    → {hint}")
        lines.append("")
    lines.extend(_facts_block(snapshot, usage_doc, lang))
    return "\n".join(lines) + "\n"


def _facts_block(snapshot: ModemSnapshot | None, usage_doc: dict[str, Any] | None, lang: str) -> list[str]:
    rows: list[tuple[str, str]] = []
    if snapshot is not None:
        sim, net, sig, ident = snapshot.sim, snapshot.network, snapshot.signal, snapshot.identity
        signal = " ".join(
            part
            for part in (
                f"RSRP {sig.rsrp_dbm:g} dBm" if sig.rsrp_dbm is not None else "",
                f"RSSI {sig.rssi_dbm:g} dBm" if sig.rssi_dbm is not None else "",
                f"({sig.bars}/5)",
            )
            if part
        )
        registration = t(net.registration.value, lang) if net.registration else "-"  # a state, or "unknown"
        technology = net.access_technology.value if net.access_technology else ""
        rows += [
            (say("label.port", lang), snapshot.port or "-"),
            ("ICCID", sim.iccid or "-"),
            ("IMEI", ident.imei or "-"),
            (say("label.carrier", lang), sim.carrier.value if sim.carrier else "-"),
            (say("label.registration", lang), f"{registration} {technology}".strip()),
            (say("label.signal", lang), signal),
            (say("label.ip_address", lang), net.ip_address or "-"),
        ]
    if usage_doc is not None:
        rows.append((say("label.usage_this_cycle", lang), sources.usage_line(usage_doc, lang)))
    if not rows:
        return []
    width = max(display_width(label) for label, _ in rows) + 2
    return [f"  {label}{' ' * (width - display_width(label))}{value}" for label, value in rows]
