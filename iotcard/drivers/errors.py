"""The drivers' errors: what can go wrong between iotcard and the cellular module.

They derive from :class:`iotcard.contract.errors.IotcardError`, whose docstring draws every layer's tree::

    IotcardError
    ├── TransportError              the byte pipe to the modem failed
    │   ├── PortError               the port cannot be opened or vanished (missing, busy, permission, not a tty)
    │   ├── ReadTimeout             the modem stopped answering (no final result code in time)
    │   └── ModemRebooted           the modem announced a (re)boot while a command was in flight
    ├── ProtocolError               the AT engine was misused or its buffer overflowed
    ├── ParseError                  a modem answer does not have the expected shape
    └── CommandError                the modem answered with a final error result code
        ├── CmeError                +CME ERROR: <n|text>  (27.007 §9.2)
        └── CmsError                +CMS ERROR: <n|text>  (27.005 §3.2.5)

The fields carry what was wrong (command, code, partial response), not only a message.
"""

from __future__ import annotations

from iotcard.contract.errors import IotcardError

__all__ = [
    "CmeError",
    "CmsError",
    "CommandError",
    "ModemRebooted",
    "ParseError",
    "PortError",
    "ProtocolError",
    "ReadTimeout",
    "TransportError",
]


class TransportError(IotcardError):
    code = "transport_error"


class PortError(TransportError):
    """The serial port cannot be used. ``hint`` says what the user can do about it."""

    code = "port_unavailable"

    def __init__(self, message: str, *, port: str, code: str | None = None, hint: str = "") -> None:
        super().__init__(message, code=code)
        self.port = port
        self.hint = hint


class ReadTimeout(TransportError):
    """No final result code arrived before the command's deadline."""

    code = "modem_unresponsive"

    def __init__(self, message: str, *, command: str, timeout: float, partial: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.command = command
        self.timeout = timeout
        self.partial = partial


class ModemRebooted(TransportError):
    """A boot URC (``RDY``, ``^SYSSTART``...) arrived: the pending command is lost and the modem's settings reset."""

    code = "modem_rebooted"

    def __init__(self, message: str, *, command: str, urc: str) -> None:
        super().__init__(message)
        self.command = command
        self.urc = urc


class ProtocolError(IotcardError):
    code = "protocol_error"


class ParseError(IotcardError):
    """An answer did not have the shape its parser expects; ``text`` is the offending input."""

    code = "parse_error"

    def __init__(self, message: str, *, text: str = "") -> None:
        super().__init__(message)
        self.text = text


class CommandError(IotcardError):
    """The modem ended a command with an error result code."""

    code = "command_failed"

    def __init__(
        self,
        message: str,
        *,
        command: str,
        kind: str = "error",
        error_code: int | None = None,
        error_text: str = "",
        partial: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.command = command
        self.kind = kind
        self.error_code = error_code
        self.error_text = error_text
        self.partial = partial


class CmeError(CommandError):
    code = "cme_error"


class CmsError(CommandError):
    code = "cms_error"
