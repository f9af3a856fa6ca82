"""The one short loop that moves bytes between a transport and the AT engine, with deadlines from an injected clock."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .at import (
    NEED_DATA,
    AtEngine,
    Command,
    Discarded,
    Echo,
    ErrorKind,
    FinalError,
    FinalOk,
    InfoLine,
    StrayLine,
    Urc,
    cme_meaning,
)
from .errors import CmeError, CmsError, CommandError, ModemRebooted, ReadTimeout
from .transport import Transport

__all__ = ["AtSession", "Clock", "Response"]

log = logging.getLogger("iotcard.at")

Clock = Callable[[], float]

# Reads are sliced so that a long command (AT+COPS=? up to 180 s) still notices URCs and a vanished port promptly.
_READ_SLICE = 0.2
# After a command timed out its late answer may still arrive; swallow input until the line is quiet this long.
_QUIET = 0.05
_RESYNC_LIMIT = 0.5
# Commands that answer with a "> " text prompt and wait for the text (27.005 §3.5.1 +CMGS, +CMGW; vendors' socket
# sends). Left waiting, the module swallows every later command as text: ESC cancels the prompt (27.005 §3.5.1).
_PROMPT_COMMANDS = ("+CMGS", "+CMGW", "+CMGC", "+QISEND", "+CIPSEND", "+USOST", "+QSSLSEND")
_CANCEL_PROMPT = b"\x1b"


@dataclass(frozen=True, slots=True)
class Response:
    command: Command
    lines: tuple[str, ...]
    final: str = "OK"


class AtSession:
    """Runs one command at a time over a transport. The session is the only user of the transport it holds.

    ``on_urc`` receives every unsolicited result code (in the caller's thread, during :meth:`execute`); the last
    ones are also kept in :attr:`recent_urcs` for diagnosis.
    """

    def __init__(
        self,
        transport: Transport,
        engine: AtEngine | None = None,
        *,
        clock: Clock = time.monotonic,
        on_urc: Callable[[Urc], None] | None = None,
        boot_prefixes: Iterable[str] = (),
    ) -> None:
        self.transport = transport
        self.engine = engine or AtEngine()
        self._clock = clock
        self._on_urc = on_urc
        self.recent_urcs: deque[Urc] = deque(maxlen=64)
        self.stray_lines: deque[str] = deque(maxlen=64)
        self.commands_sent = 0
        self.discarded_bytes = 0
        self._needs_resync = False
        self._boot_prefixes = frozenset(prefix.upper() for prefix in boot_prefixes)
        self._boot_seen: Urc | None = None
        self.reboots_seen = 0

    def add_urc_prefixes(self, prefixes: Iterable[str]) -> None:
        self.engine.with_urc_prefixes(prefixes)

    def execute(self, command: Command) -> Response:
        """Send ``command`` and return its answer lines; raise CommandError/CmeError/CmsError or ReadTimeout."""
        if self._needs_resync:
            self._resync()
        self.transport.write(self.engine.send(command))
        self.commands_sent += 1
        log.debug("-> %s", command.text)
        deadline = self._clock() + command.timeout
        lines: list[str] = []
        while True:
            event = self.engine.next_event()
            if event is NEED_DATA:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    self.engine.abandon()
                    self._needs_resync = True
                    if any(name in command.text.upper() for name in _PROMPT_COMMANDS):
                        self.transport.write(_CANCEL_PROMPT)
                    raise ReadTimeout(
                        f"the modem did not answer {command.text} within {command.timeout:g} s",
                        command=command.text,
                        timeout=command.timeout,
                        partial=tuple(lines),
                    )
                data = self.transport.read(min(remaining, _READ_SLICE))
                if data:
                    self.engine.receive_data(data)
                continue
            log.debug("<- %r", event)
            if isinstance(event, InfoLine):
                lines.append(event.text)
            elif isinstance(event, FinalOk):
                return Response(command, tuple(lines), event.text)
            elif isinstance(event, FinalError):
                raise _command_error(command, event, tuple(lines))
            else:
                self._note(event)
                if self._boot_seen is not None:
                    urc, self._boot_seen = self._boot_seen, None
                    self.engine.abandon()
                    self._needs_resync = True
                    raise ModemRebooted(
                        f"the modem restarted ({urc.text}) while {command.text} was in flight",
                        command=command.text,
                        urc=urc.text,
                    )

    def _note(self, event: object) -> None:
        if isinstance(event, Urc):
            if event.prefix in self._boot_prefixes:
                self._boot_seen = event
                self.reboots_seen += 1
            self.recent_urcs.append(event)
            if self._on_urc is not None:
                self._on_urc(event)
        elif isinstance(event, StrayLine):
            self.stray_lines.append(event.text)
        elif isinstance(event, Discarded):
            self.discarded_bytes += event.byte_count
        elif isinstance(event, Echo):
            pass

    def _resync(self) -> None:
        """Swallow a late answer to an abandoned command so it cannot be taken for the next command's."""
        self._needs_resync = False
        limit = self._clock() + _RESYNC_LIMIT
        while self._clock() < limit:
            data = self.transport.read(_QUIET)
            if not data:
                break
            self.engine.receive_data(data)
            while (event := self.engine.next_event()) is not NEED_DATA:
                self._note(event)

    def pump(self, duration: float) -> None:
        """Read for ``duration`` seconds with no command in flight, dispatching URCs.

        A boot URC seen here concerns no command, so it does not fail the next one.
        """
        limit = self._clock() + duration
        while (remaining := limit - self._clock()) > 0:
            data = self.transport.read(min(remaining, _READ_SLICE))
            if data:
                self.engine.receive_data(data)
                while (event := self.engine.next_event()) is not NEED_DATA:
                    self._note(event)
        self._boot_seen = None


def _command_error(command: Command, final: FinalError, lines: tuple[str, ...]) -> CommandError:
    if final.kind is ErrorKind.CME:
        meaning = cme_meaning(final.code, final.text.partition(":")[2])
        return CmeError(
            f"{command.text} failed: {meaning}",
            command=command.text,
            kind="cme",
            error_code=final.code,
            error_text=final.text,
            partial=lines,
        )
    if final.kind is ErrorKind.CMS:
        return CmsError(
            f"{command.text} failed: {final.text}",
            command=command.text,
            kind="cms",
            error_code=final.code,
            error_text=final.text,
            partial=lines,
        )
    return CommandError(
        f"{command.text} failed: {final.text}",
        command=command.text,
        kind=final.kind.value,
        error_code=final.code,
        error_text=final.text,
        partial=lines,
    )
