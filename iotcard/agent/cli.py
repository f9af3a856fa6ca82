"""The technician's command line, ``iotcard``.

Each subcommand lives in a module of :mod:`iotcard.agent.commands` that defines ``ORDER`` (its place in ``--help``) and
``register(subparsers)``, which adds its parser with ``handler=`` set; this module finds them, parses the
arguments, runs the handler and turns errors into one clear sentence, a hint and a stable exit code.

From a shell (:func:`main`) a command listed in :data:`iotcard.agent.control.FORWARDED` goes to a running daemon's
control socket; inside the daemon (:func:`run_inside`, the dispatcher ``iotcard run`` hands the daemon) it runs here
with the daemon's modem, status and defaults.

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
import io
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from iotcard.contract.errors import IotcardError
from iotcard.drivers.errors import ModemRebooted, PortError, ReadTimeout

from . import commands
from ._context import EXIT_PORT, EXIT_UNRESPONSIVE, EXIT_USAGE, Context, ModemOpener, open_local_modem
from .control import DEFAULT_SOCKET, FORWARDED, Inside, forward
from .errors import ConfigError, ForwardFailed, OtherPort, OwnerTimeout
from .i18n import detect_language, port_error_text, t

__all__ = ["build_parser", "main", "run_inside"]

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


class _Version(argparse.Action):
    """``--version``: the installed distribution's version (the .deb records it too), read only when asked."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from iotcard import version

        sys.stdout.write(f"iotcard {version()}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iotcard",
        description="Read the truth about this device's IoT SIM card and cellular module.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr (AT traffic, tracebacks)")
    parser.add_argument("--version", action=_Version, help="print the agent's version and exit")
    parser.add_argument("--lang", choices=("en", "zh"), help="output language (default: from LANG)")
    parser.add_argument(
        "--socket",
        default=os.environ.get("IOTCARD_SOCKET", str(DEFAULT_SOCKET)),
        help=f"the running agent's control socket; {', '.join(FORWARDED)} run through it when it answers, since the "
        "agent owns the modem port; a --port naming another modem is opened here "
        "(default: $IOTCARD_SOCKET or %(default)s)",
    )
    parser.add_argument("--direct", action="store_true", help="never use the agent's socket; open the port here")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(sub)  # type: ignore[attr-defined]
    return parser


def _named_modem_port(args: argparse.Namespace) -> str | None:
    """The modem port the command names (--port, or $IOTCARD_PORT through its default), resolved from here."""
    port = getattr(args, "port", None) if FORWARDED[args.command].modem_port else None
    return os.path.realpath(port) if isinstance(port, str) and port else None


def _forward(args: argparse.Namespace, argv: Sequence[str], lang: str, out: TextIO, err: TextIO) -> int | None:
    """Run the command in the daemon when one listens on the control socket; None to run it here.

    A command that names a modem port other than the daemon's runs here: the daemon answers only for its own."""
    path = Path(args.socket)
    if not path.exists():
        return None
    position = next((i for i, token in enumerate(argv) if token == args.command), None)
    if position is None:
        return None
    isatty = getattr(out, "isatty", None)
    try:
        status, text, errors = forward(
            path, argv[position:], lang, bool(isatty and isatty()), port=_named_modem_port(args)
        )
    except OtherPort as exc:
        log.debug("the agent owns %s, not %s: opening the port here", exc.agent_port, args.port)
        return None
    except ForwardFailed:
        return None
    except PermissionError:
        ctx = Context(out=out, err=err, lang=lang, json=bool(getattr(args, "json", False)))
        return ctx.fail(
            "socket_permission",
            f"the iotcard agent is running but its control socket {path} is not open to this user",
            "add the user to the iotcard-cli group ('sudo usermod -aG iotcard-cli $USER', then log in again), "
            "or use sudo",
            EXIT_PORT,
        )
    out.write(text)
    err.write(errors)
    return status


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    open_modem: ModemOpener | None = None,
) -> int:
    """Run one ``iotcard`` command from a shell: a forwarded command goes to a running daemon's control socket when
    there is one; anything else, or with ``--direct``, runs here (``open_modem`` opens the port, tests fake it)."""
    ctx_out = stdout or sys.stdout
    ctx_err = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
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
    if not args.direct and args.command in FORWARDED:
        forwarded = _forward(args, argv, lang, ctx_out, ctx_err)
        if forwarded is not None:
            return forwarded
    ctx = Context(
        out=ctx_out,
        err=ctx_err,
        lang=lang,
        json=bool(getattr(args, "json", False)),
        open_modem=open_modem or open_local_modem,
        dispatch=run_inside,
    )
    return _run(args, ctx)


# A default that stands for "the user left this option out" while the daemon parses a forwarded command.
_LEFT_OUT = object()


def _leave_out(parser: argparse.ArgumentParser, options: Sequence[str]) -> dict[str, object]:
    """Set the defaults of ``options`` (dests) to ``_LEFT_OUT`` in ``parser`` and its subcommands; their own."""
    own: dict[str, object] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                for dest, default in _leave_out(child, options).items():
                    own.setdefault(dest, default)
        elif action.dest in options:
            own.setdefault(action.dest, action.default)
            action.default = _LEFT_OUT
    return own


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)


def run_inside(argv: Sequence[str], lang: str, inside: Inside) -> tuple[int, str, str]:
    """Run a forwarded command in the daemon (its :data:`iotcard.agent.control.Dispatch`): the daemon's modem and
    status, and the daemon's values for the options the user left out (its port, config and state dir, as
    :data:`~iotcard.agent.control.FORWARDED` says). Returns (exit status, stdout, stderr)."""
    spec = FORWARDED[argv[0]]
    parser = build_parser()
    own = _leave_out(_subcommand(parser, spec.name), spec.takes)
    args = parser.parse_args(list(argv))
    given = {option for option in spec.takes if getattr(args, option, _LEFT_OUT) is not _LEFT_OUT}
    values = spec.defaults(given, inside.defaults)
    for option in spec.takes:
        if option not in given:
            setattr(args, option, values.get(option, own.get(option)))
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(
        out=out,
        err=err,
        lang=lang,
        json=bool(getattr(args, "json", False)),
        open_modem=inside.open_modem,
        agent_status=inside.agent_status,
    )
    if getattr(args, "handler", None) is None:
        parser.print_help(out)
        return EXIT_USAGE, out.getvalue(), err.getvalue()
    status = _run(args, ctx)
    return status, out.getvalue(), err.getvalue()


def _run(args: argparse.Namespace, ctx: Context) -> int:
    """Run the handler; an error becomes one sentence, a hint and a stable exit code."""
    lang = ctx.lang
    try:
        status: int = args.handler(args, ctx)
        return status
    except OtherPort:
        raise  # inside the daemon: a modem it does not own; the control socket tells the CLI to open it itself
    except PortError as exc:
        log.debug("port error", exc_info=True)
        message, hint = port_error_text(exc.code, exc.port, exc.message, exc.hint, lang)
        return ctx.fail(exc.code, message, hint, EXIT_PORT)
    except (ReadTimeout, ModemRebooted, OwnerTimeout) as exc:
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
