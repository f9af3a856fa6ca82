"""``iotcard info`` and ``iotcard at``: what the module and the SIM say."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from iotcard.drivers.at import Command, validate_command_text
from iotcard.drivers.errors import CommandError, ProtocolError
from iotcard.drivers.models import ModemSnapshot, NetworkInfo

from .._context import EXIT_FAIL, EXIT_OK, EXIT_USAGE, Context
from ..i18n import display_width, t
from ..schemas import snapshot_out
from ._at_policy import AtRefusal, at_timeout, check_at_line

ORDER = 10


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        default=os.environ.get("IOTCARD_PORT"),
        help="the modem's AT port, e.g. /dev/ttyUSB2 or /dev/serial/by-id/... (default: $IOTCARD_PORT)",
    )
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (USB modems ignore it; default 115200)")


def register(sub: Any) -> None:
    info = sub.add_parser(
        "info",
        help="module, SIM, network and signal in one screen",
        description="Read identity (IMEI, ICCID, IMSI), SIM state, registration, operator, attach, APN/IP and "
        "signal from the module, with the vendor's own commands where they say more.",
        epilog="JSON fields are null where the module does not say. exit: 0 answered, 3 port unusable, "
        "4 modem not answering.",
    )
    add_port_arguments(info)
    info.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    info.set_defaults(handler=run_info)

    at = sub.add_parser(
        "at",
        help="send one raw AT command and print the answer",
        description="Send one AT command line and print the module's answer. The line must be printable ASCII "
        "starting with AT; CR, LF and control characters are refused, so one command is sent, never two.",
        epilog="exit: 0 OK, 1 the module answered ERROR/+CME ERROR, 2 refused command line, 3 port unusable, "
        "4 no answer within --timeout. Quote the command for the shell: iotcard at 'AT+CPIN?'",
    )
    add_port_arguments(at)
    at.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    at.add_argument(
        "--timeout",
        type=at_timeout,
        default=5.0,
        help="seconds to wait for the final result (default 5, at most 600; AT+COPS=? can take 180)",
    )
    at.add_argument("--chain", action="store_true", help="send a line of several commands (AT+CSQ;+CREG?) as it is")
    at.add_argument(
        "--force", action="store_true", help="send a command that changes the module's state (+CFUN=, &W, +CMGS...)"
    )
    at.add_argument("line", metavar="AT_COMMAND", help="e.g. 'AT+CSQ'")
    at.set_defaults(handler=run_at)


def _need_port(args: argparse.Namespace, ctx: Context) -> int | None:
    if not args.port:
        return ctx.fail(
            "port_required", "no modem port given", "pass --port /dev/ttyUSB2 or set IOTCARD_PORT", EXIT_USAGE
        )
    return None


def run_info(args: argparse.Namespace, ctx: Context) -> int:
    if (status := _need_port(args, ctx)) is not None:
        return status
    out, lang = ctx.out, ctx.lang
    started = time.monotonic()
    with ctx.open_modem(args.port, args.baud) as modem:
        snapshot = modem.read_snapshot()
    duration_ms = round((time.monotonic() - started) * 1000)
    if args.json:
        out.write(snapshot_out(snapshot, duration_ms).to_json(indent=2) + "\n")
    else:
        out.write(render_info(snapshot, lang, duration_ms))
    return EXIT_OK


def _value(value: object, lang: str, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value}{unit}"


def _reject_cause(net: NetworkInfo) -> str | None:
    cause = net.reject_cause
    return f"#{cause.code} {cause.name} ({cause.kind.upper()})" if cause else None


def _band_parts(net: NetworkInfo) -> list[str]:
    parts = [net.band] if net.band else []
    if net.earfcn is not None:
        parts.append(f"EARFCN {net.earfcn}")
    if net.pci is not None:
        parts.append(f"PCI {net.pci}")
    return parts


def render_info(snapshot: ModemSnapshot, lang: str, duration_ms: int) -> str:
    ident, sim, net, sig = snapshot.identity, snapshot.sim, snapshot.network, snapshot.signal
    area = net.tac if net.tac is not None else net.lac
    operator = " / ".join(x for x in (net.operator_name, net.mcc_mnc) if x) or None
    registration = t(net.registration.value, lang) if net.registration else None
    sections: list[tuple[str, list[tuple[str, object]]]] = [
        (
            "Modem",
            [
                ("Manufacturer", ident.manufacturer),
                ("Model", ident.model),
                ("Revision", ident.revision),
                ("IMEI", ident.imei),
                ("Temperature", _value(ident.temperature_c, lang, " °C")),
            ],
        ),
        (
            "SIM",
            [
                ("State", t(sim.state.value, lang)),
                ("ICCID", sim.iccid),
                ("IMSI", sim.imsi),
                ("Carrier", sim.carrier.value if sim.carrier else None),
                ("SIM slot", sim.slot),
            ],
        ),
        (
            "Network",
            [
                ("Radio", f"{t(net.radio, lang)} (CFUN {net.cfun})" if net.radio else None),
                ("Registration", registration),
                ("Reject cause", _reject_cause(net)),
                ("Last error", net.last_error),
                ("Technology", net.access_technology.value if net.access_technology else None),
                ("Operator", operator),
                ("LAC/TAC", f"{area:X} ({area})" if area is not None else None),
                ("Cell ID", f"{net.cell_id:X} ({net.cell_id})" if net.cell_id is not None else None),
                ("Band", " / ".join(_band_parts(net)) or None),
                ("Attached", net.attached),
                ("APN", net.apn),
                ("IP address", net.ip_address),
                ("DNS", ", ".join(net.dns) or None),
                ("Network time", net.time.isoformat(sep=" ") if net.time else None),
            ],
        ),
        (
            "Signal",
            [
                ("RSSI", _value(sig.rssi_dbm, lang, " dBm")),
                ("RSRP", _value(sig.rsrp_dbm, lang, " dBm")),
                ("RSRQ", _value(sig.rsrq_db, lang, " dB")),
                ("SINR", _value(sig.sinr_db, lang, " dB")),
                ("Bars", "▮" * sig.bars + "▯" * (5 - sig.bars) + f" {sig.bars}/5"),
            ],
        ),
    ]
    width = max(display_width(t(label, lang)) for _, rows in sections for label, _ in rows) + 2
    lines: list[str] = []
    for title, rows in sections:
        lines.append(t(title, lang))
        for label, value in rows:
            text = t(label, lang)
            pad = " " * (width - display_width(text))
            lines.append(f"  {text}{pad}{_value(value, lang)}")
    lines.append(
        f"{t('Dialect', lang)}: {snapshot.dialect}  {t('Commands', lang)}: {snapshot.commands_sent}  {duration_ms} ms"
    )
    if snapshot.port:
        lines.append(f"{t('Port', lang)}: {snapshot.port}")
    for problem in snapshot.problems:
        lines.append(f"  ! {problem}")
    return "\n".join(lines) + "\n"


def run_at(args: argparse.Namespace, ctx: Context) -> int:
    if (status := _need_port(args, ctx)) is not None:
        return status
    out = ctx.out
    line = args.line.strip(" ")
    try:
        validate_command_text(line)
        check_at_line(line, chain=args.chain, force=args.force)
        command = Command(line, timeout=args.timeout, multiline=True)
    except AtRefusal as exc:
        return ctx.fail(exc.code, exc.message, exc.hint, EXIT_USAGE)
    except ProtocolError as exc:
        return ctx.fail(
            "invalid_command", exc.message, "send one printable command starting with AT, e.g. 'AT+CSQ'", EXIT_USAGE
        )
    with ctx.open_modem(args.port, args.baud) as modem:
        try:
            lines = modem.execute(command)
        except CommandError as exc:
            if args.json:
                doc = {
                    "command": line,
                    "lines": list(exc.partial),
                    "final": exc.error_text,
                    "ok": False,
                    "error_code": exc.error_code,
                    "port": args.port,
                }
                out.write(json.dumps(doc) + "\n")
            else:
                out.writelines(text + "\n" for text in exc.partial)
                out.write(exc.error_text + "\n")
            return EXIT_FAIL
    if args.json:
        out.write(
            json.dumps({"command": line, "lines": list(lines), "final": "OK", "ok": True, "port": args.port}) + "\n"
        )
    else:
        out.writelines(text + "\n" for text in lines)
        out.write("OK\n")
    return EXIT_OK
