"""The library API (vanish/reappear, URC injection, delays) and the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial
from modem_sim_support import info_lines, open_modem, read_for, transact

from iotcard.simulators.modem import PROFILES, SCENARIOS, ModemSimulator

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_vanish_and_reappear_through_the_link(tmp_path: Path) -> None:
    link = tmp_path / "serial" / "by-id" / "usb-SimTech_SIM7600-if02"
    with open_modem(profile="simcom_sim7600", link=link) as (sim, port):
        transact(port, "ATE0")
        sim.vanish()
        assert not link.is_symlink()
        with pytest.raises(serial.SerialException):
            port.read(1)
        port.close()
        assert sim.reappear() == str(link)
        assert os.readlink(link).startswith("/dev/pts/")
        with serial.Serial(str(link), 115200, timeout=0.05) as again:
            assert transact(again, "AT+CGMM") == b"AT+CGMM\r\r\nSIMCOM_SIM7600CE-T\r\n\r\nOK\r\n"
    assert not link.is_symlink()  # stop() removes the link


def test_vanish_without_a_link_gives_a_new_pts_path() -> None:
    with ModemSimulator() as sim:
        assert sim.path is not None and sim.path.startswith("/dev/pts/")
        sim.vanish()
        assert sim.path is None
        path = sim.reappear()
        assert path == sim.path and path.startswith("/dev/pts/")
        with serial.Serial(path, 115200, timeout=0.05) as port:
            assert transact(port, "AT") == b"AT\r\r\nOK\r\n"


def test_send_urc_writes_a_framed_line() -> None:
    with open_modem() as (sim, port):
        sim.send_urc('+CMTI: "SM",3')
        assert read_for(port, 0.1) == b'\r\n+CMTI: "SM",3\r\n'


def test_answer_delay_applies_to_every_answer() -> None:
    with open_modem(answer_delay=0.15) as (_, port):
        for _ in range(2):
            started = time.monotonic()
            assert transact(port, "AT") == b"AT\r\r\nOK\r\n"
            assert time.monotonic() - started >= 0.14


def test_stop_is_prompt_and_idempotent() -> None:
    sim = ModemSimulator()
    sim.start()
    started = time.monotonic()
    sim.stop()
    sim.stop()
    assert time.monotonic() - started < 0.5
    with pytest.raises(RuntimeError):
        sim.send_urc("RDY")


def test_unknown_names_are_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="quectel_ec25"):
        ModemSimulator(profile="nokia_3310")
    with pytest.raises(ValueError, match="sim_absent"):
        ModemSimulator(scenario="meteor")


def test_two_simulators_side_by_side() -> None:
    with open_modem(profile="huawei_me909s") as (_, huawei), open_modem(profile="quectel_ec25") as (_, quectel):
        assert info_lines(transact(huawei, "AT+CGMM")) == ["ME909s-821"]
        assert info_lines(transact(quectel, "AT+CGMM")) == ["EC25"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iotcard.simulators.modem", *args], cwd=REPO, capture_output=True, text=True, timeout=10
    )


def test_cli_list_names_every_profile_and_scenario() -> None:
    result = _cli("--list")
    assert result.returncode == 0
    for name in (*PROFILES, *SCENARIOS):
        assert name in result.stdout


def test_cli_help_teaches() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    for word in ("--profile", "--scenario", "--answer-delay", "--link", "--list", "examples"):
        assert word in result.stdout


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_the_path_serves_and_exits_0_on_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    link = tmp_path / "modem0"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iotcard.simulators.modem",
            "--profile",
            "huawei_me909s",
            "--link",
            str(link),
            "--answer-delay",
            "20",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        path = process.stdout.readline().strip()
        assert path == str(link) and link.is_symlink()
        with serial.Serial(path, 115200, timeout=0.05) as port:
            started = time.monotonic()
            assert info_lines(transact(port, "AT^ICCID?")) == ["^ICCID: 98684042012278563412"]
            assert time.monotonic() - started >= 0.019
        process.send_signal(stop_signal)
        assert process.wait(timeout=5) == 0
        assert not link.is_symlink()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
