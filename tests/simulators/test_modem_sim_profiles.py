"""Each profile identifies itself as its vendor's manual says and answers its vendor commands."""

from __future__ import annotations

import pytest
from modem_sim_support import info_lines, open_modem, read_for, transact

from iotcard.simulators.modem import PROFILES, luhn_check_digit, swap_nibbles

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_identification_lines_come_from_the_profile(name: str) -> None:
    profile = PROFILES[name]
    with open_modem(profile=name) as (_, port):
        assert info_lines(transact(port, "ATI")) == list(profile.ati_lines)
        for command, expected in (
            ("AT+CGMI", profile.manufacturer),
            ("AT+GMI", profile.manufacturer),
            ("AT+CGMM", profile.model),
            ("AT+GMM", profile.model),
            ("AT+CGMR", profile.revision),
            ("AT+GMR", profile.revision),
            ("AT+CGSN", profile.imei),
            ("AT+GSN", profile.imei),
            ("AT+CGSN=1", f'+CGSN: "{profile.imei}"'),
            ("AT+CIMI", profile.sim.imsi),
            ("AT+CCID", f"+CCID: {profile.sim.iccid}"),
            ("AT+ICCID", f"+ICCID: {profile.sim.iccid}"),
            ("AT+CRSM=176,12258,0,0,10", f'+CRSM: 144,0,"{swap_nibbles(profile.sim.iccid)}"'),
        ):
            assert info_lines(transact(port, command)) == [expected], command


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_default_identities_are_a_china_mobile_card_and_a_valid_imei(name: str) -> None:
    profile = PROFILES[name]
    assert len(profile.imei) == 15 and profile.imei.isdigit()
    assert luhn_check_digit(profile.imei[:14]) == profile.imei[14]
    assert len(profile.sim.iccid) == 20 and profile.sim.iccid.startswith(("898600", "898604"))
    assert profile.sim.imsi.startswith("46004") and len(profile.sim.imsi) == 15


def test_luhn_and_nibble_swap_known_values() -> None:
    assert luhn_check_digit("49015420323751") == "8"  # the IMEI example of TS 23.003 annex B
    assert swap_nibbles("89860424102287654321") == "98684042012278563412"
    assert swap_nibbles("8986042410228765432") == "986840420122785634F2"


VENDOR_ANSWERS = [
    ("quectel_ec25", "AT+QCCID", "+QCCID: 89860424102287654321"),
    (
        "quectel_ec25",
        'AT+QENG="servingcell"',
        '+QENG: "servingcell","NOCONN","LTE","FDD",460,00,1A2D001,123,1300,3,5,5,5A1F,-95,-10,-65,17,45',
    ),
    ("quectel_ec25", "AT+QCSQ", '+QCSQ: "LTE",-65,-95,170,-10'),
    ("quectel_ec25", "AT+QNWINFO", '+QNWINFO: "FDD LTE","46000","LTE BAND 3",1300'),
    ("quectel_ec25", "AT+QGDCNT?", "+QGDCNT: 1024300,8745112"),
    ("simcom_sim7600", "AT+CICCID", "+ICCID: 898604A8192280123456"),
    (
        "simcom_sim7600",
        "AT+CPSI?",
        "+CPSI: LTE,Online,460-00,0x5A1F,27447297,123,EUTRAN-BAND3,1300,5,5,-100,-950,-650,17",
    ),
    ("simcom_sim7600", "AT+CNSMOD?", "+CNSMOD: 0,8"),
    ("huawei_me909s", "AT^ICCID?", "^ICCID: 98684042012278563412"),
    ("huawei_me909s", "AT^HCSQ?", '^HCSQ: "LTE",55,45,170,19'),
    ("huawei_me909s", "AT^SYSINFOEX", '^SYSINFOEX: 2,3,0,1,,6,"LTE",101,"LTE"'),
    ("generic", "AT+C5GREG?", "+C5GREG: 0,0"),
]


@pytest.mark.parametrize(("name", "command", "line"), VENDOR_ANSWERS)
def test_vendor_command_answers(name: str, command: str, line: str) -> None:
    with open_modem(profile=name) as (_, port):
        assert transact(port, command) == f"{command}\r\r\n{line}\r\n\r\nOK\r\n".encode()


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("generic", "AT+QCCID"),
        ("quectel_ec25", "AT^HCSQ?"),
        ("huawei_me909s", "AT+CPSI?"),
        ("simcom_sim7600", "AT+C5GREG?"),
    ],
)
def test_other_vendors_commands_are_unknown(name: str, command: str) -> None:
    with open_modem(profile=name) as (_, port):
        assert transact(port, command).endswith(b"\r\nERROR\r\n")


BASE_ANSWERS = [
    ("AT+CPIN?", ["+CPIN: READY"]),
    ("AT+CSQ", ["+CSQ: 24,99"]),
    ("AT+CESQ", ["+CESQ: 99,99,255,255,20,46"]),
    ("AT+CREG?", ["+CREG: 0,1"]),
    ("AT+CREG=2;+CREG?", ['+CREG: 2,1,"5A1F","1A2D001",7']),
    ("AT+CGREG=1;+CGREG?", ["+CGREG: 1,1"]),
    ("AT+CEREG=2;+CEREG?", ['+CEREG: 2,1,"5A1F","1A2D001",7']),
    ("AT+COPS?", ['+COPS: 0,0,"CHINA MOBILE",7']),
    ("AT+COPS=3,2;+COPS?", ['+COPS: 0,2,"46000",7']),
    ("AT+COPS=3,1;+COPS?", ['+COPS: 0,1,"CMCC",7']),
    ("AT+CGATT?", ["+CGATT: 1"]),
    ("AT+CGDCONT?", ['+CGDCONT: 1,"IP","cmiot","10.168.23.45",0,0']),
    ("AT+CGACT?", ["+CGACT: 1,1"]),
    ("AT+CGPADDR", ['+CGPADDR: 1,"10.168.23.45"']),
    ("AT+CGPADDR=1", ['+CGPADDR: 1,"10.168.23.45"']),
    (
        "AT+CGCONTRDP",
        ['+CGCONTRDP: 1,5,"cmiot","10.168.23.45.255.255.255.0","10.168.23.1","211.136.17.107","211.136.20.203"'],
    ),
    ("AT+CFUN?", ["+CFUN: 1"]),
    ("AT+CFUN=4;+CEREG?;+CGATT?", ["+CEREG: 0,0", "+CGATT: 0"]),
]


@pytest.mark.parametrize(("command", "lines"), BASE_ANSWERS)
def test_27007_base_answers(command: str, lines: list[str]) -> None:
    with open_modem(profile="generic") as (_, port):
        assert info_lines(transact(port, command)) == lines


def test_cclk_reads_the_injected_clock_in_china_standard_time() -> None:
    with open_modem(profile="generic", clock=lambda: 1_700_000_000.0) as (_, port):
        assert info_lines(transact(port, "AT+CCLK?")) == ['+CCLK: "23/11/15,06:13:20+32"']


def test_registration_urcs_follow_the_reporting_mode() -> None:
    with open_modem(profile="generic") as (_, port):
        transact(port, "ATE0;+CEREG=2;+CREG=1")
        port.write(b"AT+CFUN=0\r")
        assert read_for(port, 0.15) == b"\r\nOK\r\n\r\n+CREG: 0\r\n\r\n+CEREG: 0\r\n"
        port.write(b"AT+CFUN=1\r")
        assert read_for(port, 0.15) == b'\r\nOK\r\n\r\n+CREG: 1\r\n\r\n+CEREG: 1,"5A1F","1A2D001",7\r\n'
