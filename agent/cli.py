"""The technician's command line: ``iotcard info``, ``iotcard at``.

Exit codes (stable, for scripts):
  0  the modem answered (for ``at``: with OK)
  1  ``at``: the modem answered with an error result code
  2  bad usage (unknown option, a refused AT command line)
  3  the port is unusable (missing, busy, no permission, not a tty); the message says why and what to do
  4  the modem does not answer
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from drivers.at import Command, validate_command_text
from drivers.errors import CommandError, IotcardError, PortError, ProtocolError, ReadTimeout
from drivers.models import ModemSnapshot
from drivers.modem import Modem

from .i18n import detect_language, t
from .schemas import ErrorDetail, ErrorOut, snapshot_out

__all__ = ["EXIT_AT_ERROR", "EXIT_OK", "EXIT_PORT", "EXIT_UNRESPONSIVE", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_AT_ERROR = 1
EXIT_USAGE = 2
EXIT_PORT = 3
EXIT_UNRESPONSIVE = 4

log = logging.getLogger("iotcard")

_EPILOG = """\
exit codes: 0 answered, 1 AT error result, 2 bad usage, 3 port unusable, 4 modem not answering.
The port can also be given as IOTCARD_PORT. Output follows LANG (zh_CN.UTF-8 gives Chinese).

examples:
  iotcard info --port /dev/ttyUSB2
  iotcard info --port /dev/serial/by-id/usb-Quectel_EC25-if02-port0 --json
  iotcard at --port /dev/ttyUSB2 'AT+QENG="servingcell"'
"""


def _add_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        default=os.environ.get("IOTCARD_PORT"),
        help="the modem's AT port, e.g. /dev/ttyUSB2 or /dev/serial/by-id/... (default: $IOTCARD_PORT)",
    )
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (USB modems ignore it; default 115200)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iotcard",
        description="Read the truth about this device's IoT SIM card and cellular module.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr (AT traffic, tracebacks)")
    parser.add_argument("--lang", choices=("en", "zh"), help="output language (default: from LANG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser(
        "info",
        help="module, SIM, network and signal in one screen",
        description="Read identity (IMEI, ICCID, IMSI), SIM state, registration, operator, attach, APN/IP and "
        "signal from the module, with the vendor's own commands where they say more.",
        epilog="JSON fields are null where the module does not say. exit: 0 answered, 3 port unusable, "
        "4 modem not answering.",
    )
    _add_port(info)

    at = sub.add_parser(
        "at",
        help="send one raw AT command and print the answer",
        description="Send one AT command line and print the module's answer. The line must be printable ASCII "
        "starting with AT; CR, LF and control characters are refused, so one command is sent, never two.",
        epilog="exit: 0 OK, 1 the module answered ERROR/+CME ERROR, 2 refused command line, 3 port unusable, "
        "4 no answer within --timeout. Quote the command for the shell: iotcard at 'AT+CPIN?'",
    )
    _add_port(at)
    at.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        help="seconds to wait for the final result (default 5; AT+COPS=? can take 180)",
    )
    at.add_argument("line", metavar="AT_COMMAND", help="e.g. 'AT+CSQ'")
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    lang = args.lang or detect_language()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=err,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help(out)
        return EXIT_USAGE
    if not args.port:
        return _fail(
            args,
            out,
            err,
            lang,
            "port_required",
            "no modem port given",
            "pass --port /dev/ttyUSB2 or set IOTCARD_PORT",
            EXIT_USAGE,
        )
    try:
        if args.command == "info":
            return _info(args, out, lang)
        if args.command == "at":
            return _at(args, out, err, lang)
    except PortError as exc:
        log.debug("port error", exc_info=True)
        message = t(exc.code, lang, port=exc.port) if lang == "zh" else exc.message
        hint = t(f"hint:{exc.code}", lang) if lang == "zh" else exc.hint
        return _fail(args, out, err, lang, exc.code, message, hint, EXIT_PORT)
    except ReadTimeout as exc:
        log.debug("timeout", exc_info=True)
        message = t("modem_unresponsive", lang) if lang == "zh" else exc.message
        hint = (
            t("hint:modem_unresponsive", lang)
            if lang == "zh"
            else ("check the module's power and the baud rate (--baud); power-cycle the module if it stays silent")
        )
        return _fail(args, out, err, lang, "modem_unresponsive", message, hint, EXIT_UNRESPONSIVE)
    except IotcardError as exc:
        log.debug("error", exc_info=True)
        return _fail(args, out, err, lang, exc.code, exc.message, None, EXIT_UNRESPONSIVE)
    parser.print_help(err)
    return EXIT_USAGE


def _fail(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    lang: str,
    code: str,
    message: str,
    hint: str | None,
    status: int,
) -> int:
    if getattr(args, "json", False):
        out.write(ErrorOut(error=ErrorDetail(code=code, message=message, hint=hint or None)).model_dump_json() + "\n")
    else:
        label = "错误" if lang == "zh" else "error"
        err.write(f"iotcard: {label}: {message}\n")
        if hint:
            err.write(f"  → {hint}\n")
    return status


def _info(args: argparse.Namespace, out: TextIO, lang: str) -> int:
    started = time.monotonic()
    with Modem(args.port, args.baud) as modem:
        snapshot = modem.read_snapshot()
    duration_ms = round((time.monotonic() - started) * 1000)
    if args.json:
        out.write(snapshot_out(snapshot, duration_ms).model_dump_json(indent=2) + "\n")
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
            ],
        ),
        (
            "SIM",
            [
                ("State", t(sim.state.value, lang)),
                ("ICCID", sim.iccid),
                ("IMSI", sim.imsi),
                ("Carrier", sim.carrier.value if sim.carrier else None),
            ],
        ),
        (
            "Network",
            [
                ("Registration", registration),
                ("Technology", net.access_technology.value if net.access_technology else None),
                ("Operator", operator),
                ("LAC/TAC", f"{area:X} ({area})" if area is not None else None),
                ("Cell ID", f"{net.cell_id:X} ({net.cell_id})" if net.cell_id is not None else None),
                ("Attached", net.attached),
                ("APN", net.apn),
                ("IP address", net.ip_address),
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
    width = max(_display_width(t(label, lang)) for _, rows in sections for label, _ in rows) + 2
    lines: list[str] = []
    for title, rows in sections:
        lines.append(t(title, lang))
        for label, value in rows:
            text = t(label, lang)
            pad = " " * (width - _display_width(text))
            lines.append(f"  {text}{pad}{_value(value, lang)}")
    lines.append(
        f"{t('Dialect', lang)}: {snapshot.dialect}  {t('Commands', lang)}: {snapshot.commands_sent}  {duration_ms} ms"
    )
    for problem in snapshot.problems:
        lines.append(f"  ! {problem}")
    return "\n".join(lines) + "\n"


def _display_width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _at(args: argparse.Namespace, out: TextIO, err: TextIO, lang: str) -> int:
    line = args.line.strip(" ")
    try:
        validate_command_text(line)
        command = Command(line, timeout=args.timeout, multiline=True)
    except ProtocolError as exc:
        return _fail(
            args,
            out,
            err,
            lang,
            "invalid_command",
            exc.message,
            "send one printable command starting with AT, e.g. 'AT+CSQ'",
            EXIT_USAGE,
        )
    with Modem(args.port, args.baud) as modem:
        try:
            lines = modem.execute(command)
        except CommandError as exc:
            if args.json:
                out.write(
                    json.dumps(
                        {
                            "command": line,
                            "lines": list(exc.partial),
                            "final": exc.error_text,
                            "ok": False,
                            "error_code": exc.error_code,
                        }
                    )
                    + "\n"
                )
            else:
                for text in exc.partial:
                    out.write(text + "\n")
                out.write(exc.error_text + "\n")
            return EXIT_AT_ERROR
    if args.json:
        out.write(json.dumps({"command": line, "lines": list(lines), "final": "OK", "ok": True}) + "\n")
    else:
        for text in lines:
            out.write(text + "\n")
        out.write("OK\n")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
