"""The exception tree of iotcard.

Every error raised on purpose by iotcard derives from :class:`IotcardError`. The name says in which phase it went
wrong; the fields carry what was wrong (command, code, partial response), not only a message::

    IotcardError
    ├── ConfigError                 a config file or option is wrong
    ├── TransportError              the byte pipe to the modem failed
    │   ├── PortError               the port cannot be opened or vanished (missing, busy, permission, not a tty)
    │   ├── ReadTimeout             the modem stopped answering (no final result code in time)
    │   └── ModemRebooted           the modem announced a (re)boot while a command was in flight
    ├── ProtocolError               the AT engine was misused or its buffer overflowed
    ├── ParseError                  a modem answer does not have the expected shape
    ├── CommandError                the modem answered with a final error result code
    │   ├── CmeError                +CME ERROR: <n|text>  (27.007 §9.2)
    │   └── CmsError                +CMS ERROR: <n|text>  (27.005 §3.2.5)
    ├── ProbeError                  a directed-query target or probe failed to run
    └── PublishError                a report could not be queued or sent
"""

from __future__ import annotations

__all__ = [
    "CmeError",
    "CmsError",
    "CommandError",
    "ConfigError",
    "IotcardError",
    "ModemRebooted",
    "ParseError",
    "PortError",
    "ProbeError",
    "ProtocolError",
    "PublishError",
    "ReadTimeout",
    "TransportError",
]


class IotcardError(Exception):
    """Root of every error iotcard raises on purpose.

    ``code`` is a stable machine-readable word (``port_busy``, ``modem_unresponsive``...) that the CLI prints and
    JSON output carries; the message is one sentence for a person.
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(IotcardError):
    code = "config_invalid"


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


class ProbeError(IotcardError):
    code = "probe_failed"


class PublishError(IotcardError):
    code = "publish_failed"
