"""Every scenario behaves as its documentation says."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import serial
from modem_sim_support import FINAL_RESULT, info_lines, open_modem, read_for, read_until, transact

from iotcard.simulators.modem import SCENARIOS

pytestmark = pytest.mark.integration

QUECTEL_BOOT = b"".join(
    b"\r\n" + urc + b"\r\n"
    for urc in (b"RDY", b"+CFUN: 1", b"+CPIN: READY", b"+QUSIM: 1", b"+QIND: SMS DONE", b"+QIND: PB DONE")
)


def test_every_scenario_is_documented() -> None:
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name and len(scenario.summary) > 20


@pytest.mark.parametrize(("cmee", "final"), [(0, "ERROR"), (1, "+CME ERROR: 10"), (2, "+CME ERROR: SIM not inserted")])
def test_sim_absent_cpin_reports_cme_10(cmee: int, final: str) -> None:
    with open_modem(scenario="sim_absent") as (_, port):
        assert transact(port, f"ATE0;+CMEE={cmee}").endswith(b"\r\nOK\r\n")
        for command in ("AT+CPIN?", "AT+CIMI", "AT+QCCID", "AT+CCID", "AT+CRSM=176,12258,0,0,10", "AT+CGATT=1"):
            assert transact(port, command) == f"\r\n{final}\r\n".encode(), command


def test_sim_absent_is_not_registered() -> None:
    with open_modem(scenario="sim_absent") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, "AT+CEREG?;+CREG?;+CGATT?;+COPS?")) == [
            "+CEREG: 0,0",
            "+CREG: 0,0",
            "+CGATT: 0",
            "+COPS: 0",
        ]


def test_pin_locked_refuses_imsi_but_reads_iccid_and_unlocks_with_the_pin() -> None:
    with open_modem(scenario="pin_locked") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, "AT+CPIN?")) == ["+CPIN: SIM PIN"]
        assert transact(port, "AT+CIMI") == b"\r\n+CME ERROR: 11\r\n"
        assert info_lines(transact(port, "AT+QCCID")) == ["+QCCID: 89860424102287654321"]
        assert info_lines(transact(port, "AT+CEREG?")) == ["+CEREG: 0,0"]
        assert transact(port, 'AT+CPIN="0000"') == b"\r\n+CME ERROR: 16\r\n"
        port.write(b'AT+CPIN="1234"\r')
        assert read_until(port, re.compile(rb"\+CPIN: READY\r\n")) == b"\r\nOK\r\n\r\n+CPIN: READY\r\n"
        assert info_lines(transact(port, "AT+CIMI;+CEREG?")) == ["460040123456789", "+CEREG: 0,1"]


def test_puk_locked_needs_the_puk() -> None:
    with open_modem(scenario="puk_locked", profile="generic") as (_, port):
        transact(port, "ATE0;+CMEE=1")
        assert info_lines(transact(port, "AT+CPIN?")) == ["+CPIN: SIM PUK"]
        assert transact(port, "AT+CIMI") == b"\r\n+CME ERROR: 12\r\n"
        assert transact(port, 'AT+CPIN="1234"') == b"\r\n+CME ERROR: 16\r\n"
        port.write(b'AT+CPIN="12345678","4321"\r')
        assert read_until(port, re.compile(rb"\+CPIN: READY\r\n")) == b"\r\nOK\r\n\r\n+CPIN: READY\r\n"
        assert info_lines(transact(port, "AT+CPIN?")) == ["+CPIN: READY"]


def test_registration_denied() -> None:
    with open_modem(scenario="registration_denied", profile="generic") as (_, port):
        transact(port, "ATE0;+CMEE=1")
        assert info_lines(transact(port, "AT+CREG?;+CGREG?;+CEREG?;+CGATT?;+CGPADDR;+COPS?")) == [
            "+CREG: 0,3",
            "+CGREG: 0,3",
            "+CEREG: 0,3",
            "+CGATT: 0",
            "+CGPADDR: 1",
            "+COPS: 0",
        ]
        assert info_lines(transact(port, "AT+CGCONTRDP")) == []
        assert transact(port, "AT+CGATT=1") == b"\r\n+CME ERROR: 30\r\n"


def test_searching_without_signal() -> None:
    with open_modem(scenario="searching_no_signal") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, "AT+CSQ;+CESQ;+CEREG?;+CGATT?")) == [
            "+CSQ: 99,99",
            "+CESQ: 99,99,255,255,255,255",
            "+CEREG: 0,2",
            "+CGATT: 0",
        ]
        assert info_lines(transact(port, 'AT+QENG="servingcell";+QCSQ')) == [
            '+QENG: "servingcell","SEARCH"',
            '+QCSQ: "NOSERVICE"',
        ]


def test_roaming() -> None:
    with open_modem(scenario="roaming", profile="huawei_me909s") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, "AT+CEREG=2;+CEREG?;+COPS=3,2;+COPS?;+CGATT?;^SYSINFOEX")) == [
            '+CEREG: 2,5,"2B3C","51A2C03",7',
            '+COPS: 0,2,"45412",7',
            "+CGATT: 1",
            '^SYSINFOEX: 2,3,1,1,,6,"LTE",101,"LTE"',
        ]


def test_urc_storm_puts_urcs_inside_answers_without_losing_the_answer() -> None:
    with open_modem(scenario="urc_storm", seed=7) as (sim, port):
        raw = transact(port, "ATI")
        raw += read_for(port, 0.1)  # the URCs after the final result code
        lines = [line for line in raw.decode().split("\r\n") if line]
        assert lines[0].startswith("ATI\r")  # the echo comes first
        urc_texts = {"+CEREG: 1", "+CREG: 1", "+CGREG: 1", *sim.profile.storm_urcs}
        answer = [line for line in lines[1:] if line not in urc_texts and not line.startswith("ATI")]
        assert answer == ["Quectel", "EC25", "Revision: EC25ECGAR06A07M1G", "OK"]
        assert lines[lines.index("OK") - 1] in urc_texts  # a URC between the last info line and OK
        assert lines[-1] in urc_texts  # and after the final result code
        assert len(lines) - 5 >= 5  # at least one URC at each of the five gaps


def test_garbage_bytes_come_between_answers_and_leave_the_answers_intact() -> None:
    commands = ["AT", "AT+CGMI", "AT+CSQ"]
    with open_modem(scenario="garbage_bytes", seed=3) as (_, port):
        noisy = b"".join(transact(port, command) for command in commands) + read_for(port, 0.1)
    with open_modem() as (_, port):
        clean = b"".join(transact(port, command) for command in commands)
    assert len(noisy) > len(clean)
    assert bytes(byte for byte in noisy if byte != 0 and byte < 0x80) == clean
    assert b"\r\nOK\r\n" in noisy


def test_split_chunks_still_deliver_whole_answers() -> None:
    with open_modem(scenario="split_chunks") as (_, port):
        port.write(b"ATI\r")
        deadline = time.monotonic() + 3
        data = bytearray()
        reads = 0
        while not FINAL_RESULT.search(data) and time.monotonic() < deadline:
            chunk = port.read(port.in_waiting or 1)
            if chunk:
                reads += 1
                data += chunk
    assert bytes(data) == b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25ECGAR06A07M1G\r\n\r\nOK\r\n"
    assert reads >= 5


def test_slow_answers_echo_at_once_and_answer_after_about_800_ms() -> None:
    with open_modem(scenario="slow_answers") as (_, port):
        started = time.monotonic()
        port.write(b"AT\r")
        assert read_until(port, re.compile(rb"AT\r")) == b"AT\r"
        assert time.monotonic() - started < 0.5
        assert read_until(port, FINAL_RESULT) == b"\r\nOK\r\n"
        assert time.monotonic() - started >= 0.75


def test_hang_answers_two_command_lines_then_nothing() -> None:
    with open_modem(scenario="hang") as (sim, port):
        assert transact(port, "AT") == b"AT\r\r\nOK\r\n"
        assert transact(port, "ATE0") == b"ATE0\r\r\nOK\r\n"
        port.write(b"AT\r")
        assert read_for(port, 0.4) == b""
        sim.send_urc("+CEREG: 1")  # an explicit injection still goes out: the fault is the module's answers
        port.write(b"AT+CGMI\r")
        assert read_for(port, 0.2) == b"\r\n+CEREG: 1\r\n"
        assert sim.commands == ["AT", "ATE0", "AT", "AT+CGMI"]


def test_reboot_after_the_fourth_command_forgets_settings() -> None:
    with open_modem(scenario="reboot") as (_, port):
        for command in ("AT", "ATE0", "AT+CMEE=2"):
            transact(port, command)
        port.write(b"AT+CEREG=2\r")
        assert read_until(port, re.compile(rb"PB DONE\r\n")) == b"\r\nOK\r\n" + QUECTEL_BOOT
        assert transact(port, "AT") == b"AT\r\r\nOK\r\n"  # echo is back on
        assert info_lines(transact(port, "AT+CMEE?;+CEREG?")) == ["+CMEE: 1", "+CEREG: 0,1"]
        assert read_for(port, 0.1) == b""  # it reboots once only


def test_cfun_1_1_reboots_the_module() -> None:
    with open_modem(profile="huawei_me909s") as (_, port):
        transact(port, "ATE0")
        port.write(b"AT+CFUN=1,1\r")
        assert read_until(port, re.compile(rb"\^SYSSTART\r\n")) == b"\r\nOK\r\n\r\n^SYSSTART\r\n"
        assert transact(port, "AT") == b"AT\r\r\nOK\r\n"


def test_port_vanish_after_the_third_command_comes_back_at_the_link(tmp_path: Path) -> None:
    link = tmp_path / "by-id" / "usb-Quectel_EC25-if02-port0"
    with open_modem(scenario="port_vanish", link=link) as (sim, port):
        assert sim.path == str(link)
        assert os.readlink(link).startswith("/dev/pts/")
        for command in ("AT", "ATE0"):
            transact(port, command)
        port.write(b"AT+CSQ\r")
        assert read_until(port, FINAL_RESULT) == b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n"
        deadline = time.monotonic() + 1
        while link.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not link.is_symlink()
        with pytest.raises(serial.SerialException):
            port.read(1)
        port.close()
        deadline = time.monotonic() + 3
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert link.is_symlink()
        with serial.Serial(str(link), 115200, timeout=0.05) as again:
            assert transact(again, "AT") == b"AT\r\r\nOK\r\n"  # freshly booted: echo on
            assert transact(again, "AT+CSQ").endswith(b"\r\nOK\r\n")  # and it does not vanish again
        assert sim.commands == ["AT", "ATE0", "AT+CSQ", "AT", "AT+CSQ"]


def test_flight_mode_until_cfun_1() -> None:
    with open_modem(scenario="flight_mode", profile="quectel_ec25") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, "AT+CFUN?;+CGATT?;+CSQ;+CEREG?")) == [
            "+CFUN: 4",
            "+CGATT: 0",
            "+CSQ: 99,99",
            "+CEREG: 0,0",
        ]
        transact(port, "AT+CFUN=1")
        assert info_lines(transact(port, "AT+CFUN?;+CEREG?")) == ["+CFUN: 1", "+CEREG: 0,1"]


def test_reject_cause_in_cereg_n3() -> None:
    with open_modem(scenario="reject_cause", profile="generic") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, "AT+CEREG=3;+CEREG?;+CREG?;+CEER")) == [
            "+CEREG: 3,3,,,,0,7",
            "+CREG: 0,3",
            "+CEER: 0,NONE",
        ]
        assert info_lines(transact(port, "AT+CEREG=2;+CEREG?")) == ["+CEREG: 2,3"]


def test_new_profiles_answer_in_their_vendor_forms() -> None:
    with open_modem(profile="simcom_a7670c") as (_, port):
        transact(port, "ATE0")
        # 27.007 indices as in the A76xx/SIM7080 captures: RSRQ (−10+19.5)·2 = 19, RSRP −95+140 = 45, RSSI 255.
        assert info_lines(transact(port, "AT+CPSI?;+CPMUTEMP")) == [
            "+CPSI: LTE,Online,460-00,0x5A1F,27447297,123,EUTRAN-BAND3,1300,5,5,19,45,255,14",
            "+CPMUTEMP: 34",
        ]
    with open_modem(profile="quectel_ec200u") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, 'AT+QENG="servingcell";+QTEMP')) == [
            '+QENG: "servingcell","NOCONN","LTE","FDD",460,00,1A2D001,123,1300,3,5,5,5A1F,-95,-10,-65,14,45',
            "+QTEMP: 38,255,255",
        ]
    with open_modem(profile="quectel_rm500q") as (_, port):
        transact(port, "ATE0")
        assert info_lines(transact(port, 'AT+QENG="servingcell";+QUIMSLOT?;+C5GREG=?')) == [
            '+QENG: "servingcell","NOCONN"',
            '+QENG: "LTE","FDD",460,00,1A2D001,123,1300,3,5,5,5A1F,-95,-10,-65,17,-',
            '+QENG: "NR5G-NSA",460,00,65535,-32768,-32768,-32768',
            "+QUIMSLOT: 1",
            "+C5GREG: (0-2)",
        ]
