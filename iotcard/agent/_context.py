"""What every CLI handler gets: where to write, in which language, and how to fail with a stable code."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from iotcard.drivers.at import Command
from iotcard.drivers.models import ModemSnapshot
from iotcard.drivers.modem import Modem

from .schemas import ErrorDetail, ErrorOut

__all__ = [
    "EXIT_FAIL",
    "EXIT_OK",
    "EXIT_PORT",
    "EXIT_UNRESPONSIVE",
    "EXIT_USAGE",
    "Context",
    "ModemAccess",
    "ModemOpener",
    "open_local_modem",
]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_PORT = 3
EXIT_UNRESPONSIVE = 4


class ModemAccess(Protocol):
    """What a command may ask of the modem: the port itself, or the daemon's worker that owns it."""

    def read_snapshot(self) -> ModemSnapshot: ...

    def execute(self, command: Command) -> tuple[str, ...]: ...

    def read_module_counters(self) -> tuple[int, int, str] | None: ...


ModemOpener = Callable[[str, int], AbstractContextManager[ModemAccess]]


def open_local_modem(port: str, baud: int) -> AbstractContextManager[ModemAccess]:
    """Open the port in this process (exclusive: a daemon holding it makes this fail with port_busy)."""
    return Modem(port, baud)


@dataclass
class Context:
    """``open_modem`` is how handlers reach the modem: the port itself from a shell, the daemon's modem worker when
    the command runs inside the daemon (through its control socket)."""

    out: TextIO
    err: TextIO
    lang: str
    json: bool = False
    open_modem: ModemOpener = field(default=open_local_modem)
    # Set inside the daemon: its live state for `iotcard status` (None when the command runs on its own).
    agent_status: Callable[[], dict[str, object]] | None = None
    # Set from a shell: how a daemon started here runs the commands the CLI forwards to it
    # (an iotcard.agent.control.Dispatch; typed loosely, as the control module builds on this one).
    dispatch: Callable[..., tuple[int, str, str]] | None = None

    def fail(self, code: str, message: str, hint: str | None, status: int) -> int:
        """Report an error as one sentence and a hint (stderr), or as ``{"error": ...}`` JSON (stdout)."""
        if self.json:
            detail = ErrorDetail(code=code, message=message, hint=hint or None)
            self.out.write(ErrorOut(error=detail).to_json() + "\n")
        else:
            label = "错误" if self.lang == "zh" else "error"
            self.err.write(f"iotcard: {label}: {message}\n")
            if hint:
                self.err.write(f"  → {hint}\n")
        return status
