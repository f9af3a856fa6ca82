"""The technician's command line, ``iotcard``.

Each subcommand lives in a module of :mod:`agent.commands` that defines ``ORDER`` (its place in ``--help``) and
``register(subparsers)``, which adds its parser with ``handler=`` set; this module finds them, parses the
arguments, runs the handler and turns errors into one clear sentence, a hint and a stable exit code.

Exit codes (stable, for scripts):
  0  done, and all is well
  1  done, and something is wrong (``at``: an error result; ``probe``: a target not reachable)
  2  bad usage: an unknown option, a refused AT command line, an invalid target, a bad config file
  3  the port is unusable (missing, busy, no permission, not a tty); the message says why and what to do
  4  the modem does not answer
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from typing import TextIO

from drivers.errors import ConfigError, IotcardError, ModemRebooted, PortError, ReadTimeout

from . import commands
from ._context import EXIT_PORT, EXIT_UNRESPONSIVE, EXIT_USAGE, Context
from .i18n import detect_language, t

__all__ = ["build_parser", "main"]

log = logging.getLogger("iotcard")

_EPILOG = """\
exit codes: 0 all well, 1 something is wrong (AT error, unreachable target...), 2 bad usage or input,
3 port unusable, 4 modem not answering. Every command takes --json. Output follows LANG (zh_CN.UTF-8: Chinese).

examples:
  iotcard info --port /dev/ttyUSB2
  iotcard info --port /dev/serial/by-id/usb-Quectel_EC25-if02-port0 --json
  iotcard at --port /dev/ttyUSB2 'AT+QENG="servingcell"'
"""


def _command_modules() -> list[object]:
    found = []
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return sorted(found, key=lambda module: getattr(module, "ORDER", 100))


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
    for module in _command_modules():
        module.register(sub)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    ctx_out = stdout or sys.stdout
    ctx_err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    lang = args.lang or detect_language()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=ctx_err,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "handler", None) is None:
        parser.print_help(ctx_out)
        return EXIT_USAGE
    ctx = Context(out=ctx_out, err=ctx_err, lang=lang, json=bool(getattr(args, "json", False)))
    try:
        status: int = args.handler(args, ctx)
        return status
    except PortError as exc:
        log.debug("port error", exc_info=True)
        message = t(exc.code, lang, port=exc.port) if lang == "zh" else exc.message
        hint = t(f"hint:{exc.code}", lang) if lang == "zh" else exc.hint
        return ctx.fail(exc.code, message, hint, EXIT_PORT)
    except (ReadTimeout, ModemRebooted) as exc:
        log.debug("modem not answering", exc_info=True)
        message = t("modem_unresponsive", lang) if lang == "zh" else exc.message
        hint = (
            t("hint:modem_unresponsive", lang)
            if lang == "zh"
            else "check the module's power and the baud rate (--baud); power-cycle the module if it stays silent"
        )
        return ctx.fail("modem_unresponsive", message, hint, EXIT_UNRESPONSIVE)
    except ConfigError as exc:
        log.debug("config error", exc_info=True)
        return ctx.fail(exc.code, exc.message, "run 'iotcard config check PATH' to see every problem", EXIT_USAGE)
    except IotcardError as exc:
        log.debug("error", exc_info=True)
        return ctx.fail(exc.code, exc.message, None, 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
