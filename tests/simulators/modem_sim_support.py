"""Talking to the pty modem simulator through pyserial, with deadlines instead of sleeps."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import serial

from iotcard.simulators.modem import ModemSimulator

# A final result code closes an answer (V.250 §5.7.1, 27.007 §9.2); numeric ones end with CR only.
FINAL_RESULT = re.compile(rb"\r\n(OK|ERROR|\+CME ERROR: [^\r\n]*)\r\n")


def read_until(port: serial.Serial, pattern: re.Pattern[bytes], timeout: float = 2.0) -> bytes:
    """Read until ``pattern`` matches what has arrived, or the deadline passes; return everything read."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    while time.monotonic() < deadline:
        chunk = port.read(port.in_waiting or 1)
        data += chunk
        if pattern.search(data):
            return bytes(data)
    raise TimeoutError(f"no match for {pattern.pattern!r} within {timeout} s; got {bytes(data)!r}")


def read_for(port: serial.Serial, seconds: float) -> bytes:
    """Read whatever arrives during ``seconds`` (used only to prove silence)."""
    deadline = time.monotonic() + seconds
    data = bytearray()
    while time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return bytes(data)


def transact(port: serial.Serial, command: str, timeout: float = 2.0) -> bytes:
    """Send one command line and return the raw bytes up to and including its final result code."""
    port.write(command.encode("latin-1") + b"\r")
    return read_until(port, FINAL_RESULT, timeout)


def info_lines(raw: bytes) -> list[str]:
    """The non-empty lines of an answer, without the echo (echo ends with the lone CR) and the final result."""
    text = raw.decode("latin-1")
    if "\r\r\n" in text:
        text = text.split("\r", 1)[1]
    lines = [line for line in text.split("\r\n") if line]
    return lines[:-1]


@contextmanager
def open_modem(
    profile: str = "quectel_ec25", scenario: str = "normal", **options: object
) -> Iterator[tuple[ModemSimulator, serial.Serial]]:
    """A started simulator and a pyserial port opened on it; both closed afterwards."""
    with ModemSimulator(profile=profile, scenario=scenario, **options) as sim:  # type: ignore[arg-type]
        assert sim.path is not None
        port = serial.Serial(sim.path, 115200, timeout=0.05)
        try:
            yield sim, port
        finally:
            port.close()
