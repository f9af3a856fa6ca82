"""The sans-IO AT engine: commands in, bytes out; bytes in, events out.

It never reads a clock or a port. A driver loop writes what :meth:`AtEngine.send` returns, feeds what it reads to
:meth:`AtEngine.receive_data`, pulls events with :meth:`AtEngine.next_event` until it gets ``NEED_DATA``, and calls
:meth:`AtEngine.abandon` when its own deadline for the pending command has passed.

Lines are classified by their text, never by timing: a line is a final result code, the echo of the pending
command, an answer to the pending command (its expected prefix), a URC (a registry of prefixes), or a stray line.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from ..errors import ProtocolError
from ._command import Command
from ._events import (
    NEED_DATA,
    Discarded,
    Echo,
    Event,
    FinalError,
    FinalOk,
    InfoLine,
    NeedData,
    StrayLine,
    Urc,
)
from ._finals import classify_final

__all__ = ["BASE_URC_PREFIXES", "AtEngine", "EngineState"]

# URCs any 27.007/27.005 modem may send (27.007 §7.2 +CREG, §10.1.19 +CGEV, §10.1.20 +CGREG, §10.1.22 +CEREG,
# §10.1.x +C5GREG, §8.10 +CIEV, §7.6 +CLIP, §6.2 RING/+CRING, 27.005 §3.4.1 +CMTI/+CMT/+CDS, 27.007 §7.27 +CTZV).
BASE_URC_PREFIXES: tuple[str, ...] = (
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+C5GREG:",
    "+CGEV:",
    "+CIEV:",
    "+CRING:",
    "RING",
    "+CLIP:",
    "+CCWA:",
    "+CUSD:",
    "+CMTI:",
    "+CMT:",
    "+CDS:",
    "+CBM:",
    "+CTZV:",
    "+CTZE:",
    "+CPIN:",
    "+CFUN:",
    "+PACSP",
)

MAX_LINE = 4096
MAX_BUFFER = 65536


class EngineState(enum.Enum):
    IDLE = "idle"
    AWAITING = "awaiting"


class _Trigger(enum.Enum):
    SEND = "send"
    FINAL = "final"
    ABANDON = "abandon"


# Every transition of the engine, in one table. A missing entry is a misuse of the engine.
_TRANSITIONS: dict[tuple[EngineState, _Trigger], EngineState] = {
    (EngineState.IDLE, _Trigger.SEND): EngineState.AWAITING,
    (EngineState.AWAITING, _Trigger.FINAL): EngineState.IDLE,
    (EngineState.AWAITING, _Trigger.ABANDON): EngineState.IDLE,
    (EngineState.IDLE, _Trigger.ABANDON): EngineState.IDLE,
}


class AtEngine:
    """One AT conversation: at most one command in flight.

    ``urc_prefixes`` is the registry of unsolicited prefixes (the base set plus a dialect's); ``extra_finals`` maps
    a dialect's own final lines to events.
    """

    def __init__(
        self,
        urc_prefixes: Iterable[str] = BASE_URC_PREFIXES,
        extra_finals: dict[str, FinalOk | FinalError] | None = None,
        *,
        max_line: int = MAX_LINE,
        max_buffer: int = MAX_BUFFER,
    ) -> None:
        # Longest first, so "+CGREG:" is not shadowed by a shorter prefix of it.
        self._urc_prefixes = tuple(sorted({p.upper() for p in urc_prefixes}, key=len, reverse=True))
        self._extra_finals = dict(extra_finals or {})
        self._max_line = max_line
        self._max_buffer = max_buffer
        self._buffer = bytearray()
        self._state = EngineState.IDLE
        self._pending: Command | None = None
        self._answered = False
        self._echo_seen = False

    # -- state -----------------------------------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def pending(self) -> Command | None:
        return self._pending

    def _transition(self, trigger: _Trigger) -> None:
        try:
            self._state = _TRANSITIONS[(self._state, trigger)]
        except KeyError:
            raise ProtocolError(f"AT engine cannot {trigger.value} while {self._state.value}") from None

    def with_urc_prefixes(self, prefixes: Iterable[str]) -> None:
        """Extend the URC registry (a dialect was detected after the engine started)."""
        merged = set(self._urc_prefixes) | {p.upper() for p in prefixes}
        self._urc_prefixes = tuple(sorted(merged, key=len, reverse=True))

    # -- commands --------------------------------------------------------------------------------------------------

    def send(self, command: Command) -> bytes:
        """Start ``command``; return the bytes to write to the port."""
        self._transition(_Trigger.SEND)
        self._pending = command
        self._answered = False
        self._echo_seen = False
        return command.encode()

    def abandon(self) -> Command | None:
        """Give up on the pending command (its deadline passed); return it. Late lines become stray lines."""
        command = self._pending
        self._transition(_Trigger.ABANDON)
        self._pending = None
        return command

    # -- bytes in, events out --------------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the port, split anywhere."""
        if len(self._buffer) + len(data) > self._max_buffer:
            raise ProtocolError(
                f"AT engine buffer would exceed {self._max_buffer} bytes; call next_event() to drain it"
            )
        self._buffer += data

    def next_event(self) -> Event | NeedData:
        """Return the next event, or ``NEED_DATA`` when the buffer holds no complete line."""
        while True:
            line = self._take_line()
            if line is None:
                if len(self._buffer) > self._max_line:
                    dropped = len(self._buffer)
                    self._buffer.clear()
                    return Discarded(dropped)
                return NEED_DATA
            if isinstance(line, Discarded):
                return line
            if not line.strip():
                continue
            return self._classify(line)

    def _take_line(self) -> str | Discarded | None:
        buf = self._buffer
        cr = buf.find(b"\r")
        lf = buf.find(b"\n")
        ends = [i for i in (cr, lf) if i >= 0]
        if not ends:
            return None
        end = min(ends)
        raw = bytes(buf[:end])
        del buf[: end + 1]
        if len(raw) > self._max_line:
            return Discarded(len(raw))
        text = raw.replace(b"\x00", b"").decode("utf-8", errors="replace")
        # Control characters other than tab, and bytes that are not UTF-8, are line noise (a modem waking up, a
        # baud mismatch, a glitch on the UART); valid UTF-8 text such as an operator name is kept.
        return "".join(c for c in text if (c >= " " or c == "\t") and c != "\ufffd")

    def _match_urc(self, text: str) -> str | None:
        upper = text.upper()
        for prefix in self._urc_prefixes:
            # "RING" must not swallow "RINGBACK..."-like words: a prefix without ':' must be the whole word.
            if upper.startswith(prefix) and (
                prefix.endswith(":") or len(upper) == len(prefix) or not upper[len(prefix)].isalnum()
            ):
                return prefix
        return None

    def _classify(self, line: str) -> Event:
        text = line.strip()
        command = self._pending
        final = classify_final(line, self._extra_finals)
        if command is None:
            if (prefix := self._match_urc(text)) is not None:
                return Urc(prefix, text)
            return StrayLine(text)

        # Noise glued in front of the echo (a glitch while the line was idle) still leaves an echo.
        if not self._echo_seen and not self._answered and text.upper().endswith(command.text.upper()):
            self._echo_seen = True
            return Echo(text)
        if final is not None:
            self._transition(_Trigger.FINAL)
            self._pending = None
            return final

        expect = command.expect_prefix
        urc_prefix = self._match_urc(text)
        upper = text.upper()
        if command.also_prefixes and any(upper.startswith(p.upper()) for p in command.also_prefixes):
            self._answered = True
            return InfoLine(text)
        if expect is not None and upper.startswith(expect.upper()):
            if command.answer_pattern is not None and not re.match(command.answer_pattern, text):
                return Urc(urc_prefix, text) if urc_prefix is not None else StrayLine(text)
            if command.multiline or not self._answered or urc_prefix is None:
                self._answered = True
                return InfoLine(text)
            return Urc(urc_prefix, text)
        if urc_prefix is not None:
            return Urc(urc_prefix, text)
        if expect is None and not command.multiline and _looks_prefixed(text) and not _is_own_answer(command, text):
            # A bare answer never looks like '+XYZ: ...' unless XYZ is the command itself ('+CGMI: Quectel');
            # anything else of that shape is an unsolicited code we do not know yet.
            return StrayLine(text)
        if expect is None or (command.multiline and self._answered):
            self._answered = True
            return InfoLine(text)
        return StrayLine(text)


_PREFIXED = re.compile(r"^[+^$%*#!][A-Za-z0-9_]+:")


def _looks_prefixed(text: str) -> bool:
    return _PREFIXED.match(text) is not None


def _is_own_answer(command: Command, text: str) -> bool:
    name = re.split(r"[=?]", command.text[2:], maxsplit=1)[0].upper()
    return text.upper().startswith(name + ":")
