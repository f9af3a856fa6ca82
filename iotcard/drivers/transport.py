"""Byte transports to the modem. Only :class:`SerialTransport` imports pyserial; its errors become PortError here."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import Protocol

import serial

from .errors import PortError

__all__ = ["SerialTransport", "Transport"]

_DIALOUT_HINT = (
    "add the user to the group that owns the port (usually dialout): 'sudo usermod -aG dialout $USER', "
    "then log in again; or run as the iotcard service user"
)
_BUSY_HINT = (
    "another program holds the port: the iotcard daemon (use its control socket, or stop it with "
    "'systemctl stop iotcard-agent'), ModemManager (install the udev rule that sets ID_MM_PORT_IGNORE), or a "
    "terminal program such as minicom"
)
_MISSING_HINT = (
    "check that the module is powered and its USB cable is seated; list ports with 'ls -l /dev/serial/by-id/'; "
    "on Quectel modules the AT port is usually the third interface (ttyUSB2), on SIMCom SIM7600 ttyUSB2, on "
    "Huawei ME909s ttyUSB2 or ttyACM0"
)


class Transport(Protocol):
    """A byte pipe to the modem."""

    def read(self, timeout: float) -> bytes:
        """Return the bytes available within ``timeout`` seconds; ``b''`` when none arrived."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


def _check_path(port: str) -> None:
    try:
        info = os.stat(port)
    except FileNotFoundError:
        raise PortError(
            f"serial port {port} does not exist", port=port, code="port_missing", hint=_MISSING_HINT
        ) from None
    except PermissionError:
        raise PortError(
            f"no permission to look at serial port {port}", port=port, code="port_permission", hint=_DIALOUT_HINT
        ) from None
    if not stat.S_ISCHR(info.st_mode):
        raise PortError(
            f"{port} is not a serial device (not a character device)",
            port=port,
            code="port_not_tty",
            hint="name the modem's AT port, e.g. /dev/ttyUSB2 or a /dev/serial/by-id/... link",
        )


def _translate(port: str, exc: BaseException, action: str) -> PortError:
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.EACCES or code == errno.EPERM or "Permission denied" in text:
        return PortError(
            f"no permission to open serial port {port}", port=port, code="port_permission", hint=_DIALOUT_HINT
        )
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY) or "exclusively lock" in text:
        return PortError(
            f"serial port {port} is in use by another program", port=port, code="port_busy", hint=_BUSY_HINT
        )
    if code == errno.ENOENT or code == errno.ENODEV or code == errno.ENXIO:
        return PortError(f"serial port {port} does not exist", port=port, code="port_missing", hint=_MISSING_HINT)
    if code == errno.ENOTTY or "Inappropriate ioctl" in text:
        return PortError(
            f"{port} is not a serial device",
            port=port,
            code="port_not_tty",
            hint="name the modem's AT port, e.g. /dev/ttyUSB2",
        )
    if action != "open":
        return PortError(
            f"serial port {port} went away while {action} ({text})",
            port=port,
            code="port_vanished",
            hint="the USB modem re-enumerated or lost power; it is retried when it comes back",
        )
    return PortError(f"cannot open serial port {port}: {text}", port=port, code="port_unavailable", hint=_MISSING_HINT)


class SerialTransport:
    """A serial port opened exclusively (flock), so two programs never interleave commands on one modem."""

    def __init__(self, port: str, baud: int = 115200) -> None:
        if baud <= 0:
            raise PortError(f"baud rate must be positive, got {baud}", port=port, code="port_config")
        _check_path(port)
        self.port = port
        self.baud = baud
        try:
            self._serial = serial.Serial(
                port=port, baudrate=baud, timeout=0, write_timeout=2.0, exclusive=True, rtscts=False
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise _translate(port, exc, "open") from exc
        self._timeout: float | None = 0.0
        self.bytes_read = 0
        self.bytes_written = 0

    def read(self, timeout: float) -> bytes:
        try:
            if self._timeout != timeout:
                self._serial.timeout = timeout
                self._timeout = timeout
            first: bytes = self._serial.read(1)
            if not first:
                return b""
            waiting = self._serial.in_waiting
            data = first + (self._serial.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError, TypeError) as exc:
            # pyserial raises TypeError from a closed fd on some versions when the device vanished mid-read.
            raise _translate(self.port, exc, "reading") from exc
        self.bytes_read += len(data)
        return data

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, OSError, TypeError) as exc:
            raise _translate(self.port, exc, "writing") from exc
        self.bytes_written += len(data)

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()
