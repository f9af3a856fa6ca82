"""What ``iotcard at`` may send: one bounded command line, one command unless ``--chain``, and nothing that changes
the module's state (radio off, APN, factory reset, stored profile, SMS, power off, reset) without ``--force``.

The same checks run in the daemon, which parses the forwarded argv itself, so the control socket cannot skip them.
V.250 §5.2: after ``AT`` come basic commands (``E0``, ``&W``, ``Z``), which may follow each other with no separator,
and extended commands (``+CSQ``), separated by ``;``.
"""

from __future__ import annotations

import argparse
import math
import re

__all__ = ["MAX_AT_LINE", "MAX_AT_TIMEOUT", "AtRefusal", "at_timeout", "check_at_line"]

MAX_AT_LINE = 512
MAX_AT_TIMEOUT = 600.0

# Extended commands that change what the module does or stores; "=" means only their set form.
_STATE_CHANGING_EXTENDED = {
    "+CFUN=": "switches the radio (AT+CFUN=0 cuts the device off)",
    "+CGDCONT=": "changes the APN / PDP context",
    "+CGACT=": "activates or drops the data connection",
    "+CGATT=": "attaches or detaches the packet domain",
    "+COPS=": "changes operator selection",
    "+CGAUTH=": "changes the APN credentials",
    "+QICSGP=": "changes the APN",
    "+CMGS": "sends an SMS (costs money, opens a text prompt)",
    "+CMGW": "writes an SMS to storage",
    "+CMSS": "sends a stored SMS",
    "+CPIN=": "enters a PIN (wrong ones lock the SIM)",
    "+CLCK=": "changes a facility lock",
    "+CPWD=": "changes a password",
    "+CSIM": "sends raw commands to the SIM",
    "+CRSM": "sends raw commands to the SIM",
    "+CPOF": "powers the module off",
    "+QPOWD": "powers the module off",
    "+CPWROFF": "powers the module off",
    "+CRESET": "resets the module",
    "+QRST": "resets the module",
    "+CFUN=1,1": "resets the module",
    "+QCFG=": "changes the module's configuration",
    "+IPR=": "changes the serial speed",
}
_STATE_CHANGING_BASIC = {
    "&F": "restores the factory profile",
    "&W": "stores the current settings",
    "Z": "resets to the stored profile",
}
_BASIC = re.compile(r"(&[A-Z]|S\d+|[A-Z])(\d*)(=\d*|\?)?")


class AtRefusal(ValueError):
    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


def at_timeout(text: str) -> float:
    """argparse type for ``--timeout``: a finite number of seconds, more than 0 and at most 600."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_AT_TIMEOUT:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 and at most {MAX_AT_TIMEOUT:g} seconds")
    return value


def _split_outside_quotes(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in body:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part]


def _commands(line: str) -> list[str]:
    """The single commands in one AT line (upper-cased outside quotes is enough for matching names)."""
    body = line[2:]
    commands: list[str] = []
    for part in _split_outside_quotes(body):
        if part[:1].isalpha() or part[:1] == "&":
            # Basic commands run together: ATE0&W is two commands. Stop at the first extended one.
            position = 0
            upper = part.upper()
            while position < len(part) and (upper[position].isalpha() or upper[position] == "&"):
                match = _BASIC.match(upper, position)
                if match is None or match.end() == position:
                    break
                commands.append(upper[match.start() : match.end()])
                position = match.end()
            if position < len(part):
                commands.append(part[position:])
        else:
            commands.append(part)
    return commands


def check_at_line(line: str, *, chain: bool = False, force: bool = False) -> None:
    """Raise :class:`AtRefusal` when ``line`` is too long, holds several commands without ``chain``, or changes
    the module's state without ``force``."""
    if len(line.encode()) > MAX_AT_LINE:
        raise AtRefusal(
            "line_too_long",
            f"the AT line has {len(line.encode())} bytes; at most {MAX_AT_LINE}",
            "send one short command, e.g. 'AT+CSQ'",
        )
    commands = _commands(line)
    if len(commands) > 1 and not chain:
        raise AtRefusal(
            "several_commands",
            f"{line!r} holds {len(commands)} commands; iotcard at sends exactly one",
            "send them one at a time, or pass --chain to send the line as it is",
        )
    for command in commands:
        upper = command.upper()
        reasons = [why for name, why in _STATE_CHANGING_BASIC.items() if re.fullmatch(rf"{name}\d*", upper)]
        reasons += [why for name, why in _STATE_CHANGING_EXTENDED.items() if upper.startswith(name)]
        if reasons and not force:
            raise AtRefusal(
                "state_changing",
                f"AT{command} {reasons[0]}; it is not sent without --force",
                "check the command, then repeat it with --force",
            )
