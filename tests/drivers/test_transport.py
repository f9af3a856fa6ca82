"""The serial transport on real pseudo-terminals: clear errors for every way a port can be unusable."""

from __future__ import annotations

import contextlib
import errno
import os
import tty

import pytest

from iotcard.drivers.errors import PortError
from iotcard.drivers.transport import SerialTransport, _translate


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_round_trip_over_a_real_pty(pty_pair) -> None:
    master, path = pty_pair
    transport = SerialTransport(path, 9600)
    try:
        transport.write(b"AT\r")
        assert os.read(master, 100) == b"AT\r"
        os.write(master, b"\r\nOK\r\n")
        data = b""
        for _ in range(20):
            data += transport.read(0.05)
            if data.endswith(b"OK\r\n"):
                break
        assert data == b"\r\nOK\r\n"
        assert transport.read(0.01) == b""
        assert (transport.bytes_written, transport.bytes_read) == (3, 6)
    finally:
        transport.close()


def test_missing_port_names_the_port_and_how_to_find_it(tmp_path) -> None:
    with pytest.raises(PortError) as info:
        SerialTransport(str(tmp_path / "ttyUSB9"))
    assert info.value.code == "port_missing"
    assert "ttyUSB9" in info.value.message
    assert "/dev/serial/by-id" in info.value.hint


def test_regular_file_is_not_a_tty(tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(PortError) as info:
        SerialTransport(str(path))
    assert info.value.code == "port_not_tty"


def test_dev_null_is_not_a_serial_port() -> None:
    with pytest.raises(PortError) as info:
        SerialTransport("/dev/null")
    assert info.value.code == "port_not_tty"


def test_second_open_is_refused_as_busy(pty_pair) -> None:
    _, path = pty_pair
    first = SerialTransport(path)
    try:
        with pytest.raises(PortError) as info:
            SerialTransport(path)
        assert info.value.code == "port_busy"
        assert "ModemManager" in info.value.hint
    finally:
        first.close()
    SerialTransport(path).close()  # free again once the first owner closed it


def test_vanished_port_is_reported_on_read(pty_pair) -> None:
    master, path = pty_pair
    transport = SerialTransport(path)
    try:
        os.close(master)
        with pytest.raises(PortError) as info:
            for _ in range(5):
                transport.read(0.05)
        assert info.value.code == "port_vanished"
    finally:
        transport.close()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (OSError(errno.EACCES, "Permission denied"), "port_permission"),
        (OSError(errno.EBUSY, "Device or resource busy"), "port_busy"),
        (OSError(errno.ENXIO, "No such device or address"), "port_missing"),
        (OSError(errno.ENOTTY, "Inappropriate ioctl for device"), "port_not_tty"),
    ],
)
def test_os_errors_map_to_named_port_errors(error: OSError, code: str) -> None:
    translated = _translate("/dev/ttyUSB2", error, "open")
    assert translated.code == code
    assert "/dev/ttyUSB2" in translated.message
    if code == "port_permission":
        assert "dialout" in translated.hint


def test_bad_baud_is_refused(pty_pair) -> None:
    _, path = pty_pair
    with pytest.raises(PortError) as info:
        SerialTransport(path, 0)
    assert info.value.code == "port_config"
