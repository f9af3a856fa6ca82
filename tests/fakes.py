"""A scripted fake transport and a fake clock: unit tests of the session and reader run without ports or sleeps.

The transport answers each command line from a script; it can split answers, inject bytes, stay silent or
vanish, like pymodbus's null modem with a manipulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from iotcard.drivers.errors import PortError

Reply = bytes | Callable[[str], bytes] | None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ScriptedTransport:
    """Answers command lines from ``script`` (exact text → bytes, or a function of the text, or None = silence).

    Unknown commands get ``ERROR``. ``chunk`` > 0 delivers replies that many bytes per read. ``vanish_after``
    makes the n-th command onwards raise PortError, as a USB modem that re-enumerated.
    """

    script: dict[str, Reply]
    clock: FakeClock = field(default_factory=FakeClock)
    chunk: int = 0
    echo: bool = False
    inject: bytes = b""
    vanish_after: int | None = None
    sent: list[str] = field(default_factory=list)
    closed: bool = False
    _pending: bytearray = field(default_factory=bytearray)
    _partial: bytearray = field(default_factory=bytearray)

    def write(self, data: bytes) -> None:
        if self.vanish_after is not None and len(self.sent) >= self.vanish_after:
            raise PortError("gone", port="/dev/fake", code="port_vanished")
        self._partial += data
        while b"\r" in self._partial:
            line, _, rest = bytes(self._partial).partition(b"\r")
            self._partial = bytearray(rest)
            text = line.decode()
            self.sent.append(text)
            if self.echo:
                self._pending += line + b"\r"
            reply = self.script.get(text, b"\r\nERROR\r\n")
            if callable(reply):
                reply = reply(text)
            if reply is None:
                continue
            if self.inject:
                cut = reply.find(b"\n", 2) + 1
                reply = reply[:cut] + self.inject + reply[cut:]
            self._pending += reply

    def read(self, timeout: float) -> bytes:
        if self.vanish_after is not None and len(self.sent) >= self.vanish_after and not self._pending:
            raise PortError("gone", port="/dev/fake", code="port_vanished")
        if not self._pending:
            self.clock.now += timeout
            return b""
        size = self.chunk or len(self._pending)
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def close(self) -> None:
        self.closed = True


def ok(*lines: str) -> bytes:
    body = "".join(f"\r\n{line}\r\n" for line in lines)
    return (body + "\r\nOK\r\n").encode()


def cme(code: int) -> bytes:
    return f"\r\n+CME ERROR: {code}\r\n".encode()
