"""The snapshot reader over a scripted transport: which commands are sent, and how facts are merged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fakes import FakeClock, ScriptedTransport, cme, ok
from iotcard.drivers.errors import PortError, ReadTimeout
from iotcard.drivers.models import (
    AccessTechnology,
    Carrier,
    RegDomain,
    Registration,
    RegistrationState,
    RejectCause,
    SignalInfo,
    SimState,
)
from iotcard.drivers.modem import Modem, best_registration, signal_bars

FIELD_VECTORS = json.loads((Path(__file__).parent.parent / "data" / "at_vectors_field.json").read_text("utf-8"))[
    "vectors"
]
IMEI = "867698041234561"  # Luhn-valid
ICCID = "89860424102287654321"

# A plain 27.007 module: replies as in 27.007's examples, values of a China Mobile IoT card on LTE.
INIT = "AT+CMEE=1;+CREG=2;+CGREG=2;+CEREG=3"
COPS = "AT+COPS?;+COPS=3,2;+COPS?;+COPS=3,0;+COPS?"
PDP = "AT+CGDCONT?;+CGACT?;+CGPADDR;+CGCONTRDP"
RADIO = "AT+CFUN?;+CGATT?"
CLOCK = "AT+CTZU=1;+CCLK?"

GENERIC_SCRIPT: dict[str, bytes | None] = {
    INIT: ok(),
    "AT+CGMI": ok("Acme Wireless"),
    "AT+CGMM": ok("AW-1"),
    "AT+CGMR": ok("AW1_V1.2.3"),
    "AT+CGSN": ok(IMEI),
    "AT+CPIN?": ok("+CPIN: READY"),
    "AT+CCID": ok(f"+CCID: {ICCID}"),
    "AT+CIMI": ok("460041234567890"),
    RADIO: ok("+CFUN: 1", "+CGATT: 1"),
    "AT+CSQ": ok("+CSQ: 24,99"),
    "AT+CESQ": ok("+CESQ: 99,99,255,255,28,47"),
    "AT+C5GREG=?": b"\r\nERROR\r\n",  # an LTE module
    "AT+CREG?": ok('+CREG: 2,1,"5A1F","1A2D001",7'),
    "AT+CGREG?": ok("+CGREG: 0,1"),
    "AT+CEREG?": ok('+CEREG: 3,1,"5A1F","1A2D001",7'),
    # The IMSI says 46004; the serving network is 46000 (China Mobile IoT cards are served by 46000).
    COPS: ok('+COPS: 0,0,"CHINA MOBILE",7', '+COPS: 0,2,"46000",7', '+COPS: 0,0,"CHINA MOBILE",7'),
    PDP: ok(
        '+CGDCONT: 1,"IP","","0.0.0.0",0,0',  # a DTU that leaves the APN blank
        '+CGDCONT: 2,"IPV4V6","cmnet","",0,0',
        "+CGACT: 1,1",
        "+CGACT: 2,0",
        '+CGPADDR: 1,"10.72.13.5"',
        "+CGPADDR: 2",
        # 27.007 §10.1.23 with address and mask in one field (the form of ModemManager's mm-cgcontrdp-0 vector).
        '+CGCONTRDP: 1,5,"cmiot","10.72.13.5.255.255.255.0","10.72.13.1","211.136.17.107","211.136.20.203"',
    ),
    CLOCK: ok('+CCLK: "26/12/01,19:30:05+32"'),
}

# The same module with each read sent alone (a firmware that refuses concatenated lines).
PLAIN_SCRIPT: dict[str, bytes | None] = {
    **{k: v for k, v in GENERIC_SCRIPT.items() if k not in (INIT, RADIO, COPS, PDP, CLOCK)},
    "AT+CMEE=1": ok(),
    "AT+CREG=2": ok(),
    "AT+CGREG=2": ok(),
    "AT+CEREG=3": ok(),
    "AT+CFUN?": ok("+CFUN: 1"),
    "AT+CGATT?": ok("+CGATT: 1"),
    "AT+COPS?": ok('+COPS: 0,0,"CHINA MOBILE",7'),
    "AT+CGDCONT?": ok('+CGDCONT: 1,"IP","cmiot","0.0.0.0",0,0', '+CGDCONT: 2,"IPV4V6","cmnet","",0,0'),
    "AT+CGACT?": ok("+CGACT: 1,1", "+CGACT: 2,0"),
    "AT+CGPADDR": ok('+CGPADDR: 1,"10.72.13.5"', "+CGPADDR: 2"),
    "AT+CCLK?": ok('+CCLK: "26/12/01,19:30:05+32"'),
}


NOW = datetime(2026, 12, 1, 11, 30, 0, tzinfo=UTC)


def make_modem(script: dict[str, bytes | None], **kwargs: object) -> tuple[Modem, ScriptedTransport]:
    clock = FakeClock()
    transport = ScriptedTransport(dict(script), clock=clock, **kwargs)  # type: ignore[arg-type]
    modem = Modem(
        "/dev/fake",
        open_transport=lambda port, baud: transport,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: NOW,
    )
    return modem, transport


def test_generic_modem_snapshot_has_every_fact() -> None:
    modem, transport = make_modem(GENERIC_SCRIPT)
    snap = modem.read_snapshot()
    assert snap.identity.manufacturer == "Acme Wireless"
    assert snap.identity.model == "AW-1"
    assert snap.identity.revision == "AW1_V1.2.3"
    assert snap.identity.imei == IMEI and snap.identity.imei_luhn_ok is True
    assert snap.sim.state is SimState.READY
    assert snap.sim.iccid == ICCID
    assert snap.sim.imsi == "460041234567890"
    assert snap.sim.carrier is Carrier.CHINA_MOBILE
    net = snap.network
    assert net.registration is RegistrationState.HOME
    assert net.registration_domain is RegDomain.EPS
    assert net.access_technology is AccessTechnology.LTE
    assert (net.tac, net.cell_id) == (0x5A1F, 0x1A2D001)
    assert net.operator_name == "CHINA MOBILE"
    assert net.mcc_mnc == "46000"  # the serving PLMN, not the IMSI's 46004
    assert snap.sim.carrier is Carrier.CHINA_MOBILE  # the home carrier stays the IMSI's
    assert net.attached is True
    assert (net.apn, net.ip_address) == ("cmiot", "10.72.13.5")  # the APN in use, from +CGCONTRDP
    assert net.dns == ("211.136.17.107", "211.136.20.203")
    assert (net.radio, net.cfun, net.reject_cause, net.last_error) == ("on", 1, None, None)
    assert net.time == datetime(2026, 12, 1, 11, 30, 5, tzinfo=UTC) and snap.system_time == NOW
    assert snap.signal.rssi_dbm == -65
    assert snap.signal.rsrp_dbm == -93
    assert snap.signal.rsrq_db == -5.5
    assert snap.signal.bars == 3
    assert snap.dialect == "generic"
    assert snap.problems == ()
    # Every command once, nothing extra.
    assert transport.sent == list(GENERIC_SCRIPT)
    assert snap.commands_sent == len(GENERIC_SCRIPT)


def test_absent_sim_skips_reads_that_need_a_sim() -> None:
    script = {**GENERIC_SCRIPT, "AT+CPIN?": cme(10), "AT+CREG?": ok("+CREG: 2,0"), "AT+CEREG?": ok("+CEREG: 2,0")}
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert snap.sim.state is SimState.ABSENT
    assert snap.sim.iccid is None
    for skipped in ("AT+CCID", "AT+CIMI", PDP):
        assert skipped not in transport.sent
    assert snap.network.attached is True  # +CGATT? is read whatever the SIM's state


def test_pin_locked_sim_still_gives_iccid_but_no_imsi() -> None:
    script = {**GENERIC_SCRIPT, "AT+CPIN?": ok("+CPIN: SIM PIN"), "AT+CIMI": cme(11)}
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert snap.sim.state is SimState.PIN_REQUIRED
    assert snap.sim.iccid == ICCID
    assert "AT+CIMI" not in transport.sent


def test_iccid_ladder_falls_back_to_crsm() -> None:
    script = {**GENERIC_SCRIPT, "AT+CRSM=176,12258,0,0,10": ok('+CRSM: 144,0,"98684020012278563412"')}
    del script["AT+CCID"]
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert snap.sim.iccid == "89860402102287654321"
    assert (
        transport.sent.index("AT+CCID")
        < transport.sent.index("AT+ICCID")
        < transport.sent.index("AT+CRSM=176,12258,0,0,10")
    )


def test_manufacturer_falls_back_to_gmi_then_ati() -> None:
    script = {k: v for k, v in GENERIC_SCRIPT.items() if k not in ("AT+CGMI", "AT+CGMM", "AT+CGMR")}
    script["ATI"] = ok("Manufacturer: Acme Wireless", "Model: AW-1", "Revision: AW1_V1.2.3")
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert (snap.identity.manufacturer, snap.identity.model, snap.identity.revision) == (
        "Acme Wireless",
        "AW-1",
        "AW1_V1.2.3",
    )
    assert "AT+GMI" in transport.sent
    assert "AT+CGMM" not in transport.sent  # ATI already said it


def test_malformed_answer_is_a_named_problem_not_a_crash() -> None:
    script = {**GENERIC_SCRIPT, "AT+CSQ": ok("+CSQ: banana")}
    modem, _ = make_modem(script)
    snap = modem.read_snapshot()
    assert snap.signal.rssi_dbm is None
    assert any(problem.startswith("+CSQ") for problem in snap.problems)


def test_one_slow_command_is_noted_and_the_read_goes_on() -> None:
    script = {**GENERIC_SCRIPT, COPS: None, "AT": ok()}
    modem, _ = make_modem(script)
    snap = modem.read_snapshot()
    assert snap.network.operator_name is None
    assert any(COPS in problem for problem in snap.problems)
    assert snap.sim.iccid == ICCID


def test_silent_modem_raises_read_timeout_quickly() -> None:
    modem, transport = make_modem({})
    transport.script = {key: None for key in (INIT, "AT")}
    with pytest.raises(ReadTimeout) as info:
        modem.read_snapshot()
    assert "stopped answering" in info.value.message
    assert transport.sent == [INIT, "AT"]


def test_port_that_vanishes_is_reopened_and_the_read_restarts() -> None:
    clock = FakeClock()
    first = ScriptedTransport(dict(GENERIC_SCRIPT), clock=clock, vanish_after=3)
    second = ScriptedTransport(dict(GENERIC_SCRIPT), clock=clock)
    opened = iter([first, second])
    modem = Modem("/dev/fake", open_transport=lambda port, baud: next(opened), clock=clock, sleep=clock.sleep)
    snap = modem.read_snapshot()
    assert snap.sim.iccid == ICCID
    assert first.closed
    assert modem.reconnects == 1


def test_port_that_never_returns_raises_after_the_deadline() -> None:
    clock = FakeClock()
    first = ScriptedTransport(dict(GENERIC_SCRIPT), clock=clock, vanish_after=1)

    def reopen(port: str, baud: int) -> ScriptedTransport:
        if not first.closed:
            return first
        raise PortError("missing", port=port, code="port_missing")

    modem = Modem("/dev/fake", open_transport=reopen, clock=clock, sleep=clock.sleep, reconnect_within=5)
    start = clock.now
    with pytest.raises(PortError):
        modem.read_snapshot()
    assert clock.now - start >= 5


@pytest.mark.parametrize(
    ("rsrp", "rssi", "tech", "bars"),
    [
        (-75.0, None, AccessTechnology.LTE, 5),
        (-95.0, -70.0, AccessTechnology.LTE, 3),
        (-125.0, None, AccessTechnology.LTE, 0),
        (None, -70.0, AccessTechnology.GSM, 4),
        (-95.0, -100.0, AccessTechnology.UMTS, 1),
        (None, None, None, 0),
    ],
)
def test_signal_bars(rsrp: float | None, rssi: float | None, tech: AccessTechnology | None, bars: int) -> None:
    assert signal_bars(SignalInfo(rssi_dbm=rssi, rsrp_dbm=rsrp), tech) == bars


def test_best_registration_prefers_registered_then_newest_domain() -> None:
    cs = Registration(RegDomain.CS, 1, RegistrationState.HOME)
    eps_denied = Registration(RegDomain.EPS, 3, RegistrationState.DENIED)
    ps = Registration(RegDomain.PS, 1, RegistrationState.HOME)
    assert best_registration([cs, eps_denied, ps]) is ps
    assert best_registration([eps_denied, Registration(RegDomain.CS, 2, RegistrationState.SEARCHING)]) is eps_denied
    assert best_registration([]) is None


@pytest.mark.parametrize(
    ("manufacturer", "model", "test_answer", "asks_5g"),
    [
        ("Quectel", "EC25", b"\r\nERROR\r\n", False),
        ("Quectel", "RM520N-GL", ok("+C5GREG: (0-2)"), True),
        ("SIMCOM INCORPORATED", "SIMCOM_SIM8262E-M2", ok("+C5GREG: (0-2)"), True),
        ("Acme Wireless", "AW-5G", ok("+C5GREG: (0-2)"), True),  # any vendor that has it is asked
        ("Acme Wireless", "AW-1", cme(4), False),
    ],
)
def test_c5greg_is_asked_where_the_test_form_says_it_exists(
    manufacturer: str, model: str, test_answer: bytes, asks_5g: bool
) -> None:
    script = {**GENERIC_SCRIPT, "AT+CGMI": ok(manufacturer), "AT+CGMM": ok(model), "AT+C5GREG=?": test_answer}
    script["AT+C5GREG?"] = ok("+C5GREG: 0,0")
    modem, transport = make_modem(script)
    modem.read_snapshot()
    modem.read_snapshot()
    assert ("AT+C5GREG?" in transport.sent) is asks_5g
    assert transport.sent.count("AT+C5GREG=?") == 1  # kept with the identity
    modem.forget_identity()
    modem.read_snapshot()
    assert transport.sent.count("AT+C5GREG=?") == 2


def test_module_refusing_concatenated_lines_gets_each_read_alone() -> None:
    script = {k: v for k, v in PLAIN_SCRIPT.items() if k != "AT+CEREG=3"}
    script["AT+CEREG=2"] = ok()  # a module without the n=3 form
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert transport.sent[:6] == [INIT, "AT+CMEE=1", "AT+CREG=2", "AT+CGREG=2", "AT+CEREG=3", "AT+CEREG=2"]
    assert snap.sim.iccid == ICCID
    for alone in ("AT+CFUN?", "AT+CGATT?", "AT+COPS?", "AT+CGDCONT?", "AT+CGACT?", "AT+CGPADDR", "AT+CCLK?"):
        assert alone in transport.sent
    net = snap.network
    assert (net.radio, net.attached, net.apn, net.ip_address) == ("on", True, "cmiot", "10.72.13.5")
    assert net.operator_name == "CHINA MOBILE" and net.mcc_mnc is None  # no numeric read, and no IMSI guess
    assert net.time is not None


def test_cops_format_of_the_module_is_put_back() -> None:
    script = {
        **GENERIC_SCRIPT,
        COPS: ok('+COPS: 0,2,"46000",7', '+COPS: 0,2,"46000",7', '+COPS: 0,0,"CHINA MOBILE",7'),
        "AT+COPS=3,2": ok(),
    }
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert (snap.network.mcc_mnc, snap.network.operator_name) == ("46000", "CHINA MOBILE")
    assert transport.sent[transport.sent.index(COPS) + 1] == "AT+COPS=3,2"
    assert "AT+COPS=3,2" not in make_and_read(GENERIC_SCRIPT)  # format 0 before: nothing to put back


def make_and_read(script: dict[str, bytes | None]) -> list[str]:
    modem, transport = make_modem(script)
    modem.read_snapshot()
    return transport.sent


QENG_LTE = '+QENG: "servingcell","NOCONN","LTE","FDD",460,00,1A2D001,123,1300,3,5,5,5A1F,-95,-10,-65,15,0,-,45'


def quectel_script(qeng: bytes) -> dict[str, bytes | None]:
    script = {**GENERIC_SCRIPT, "AT+CGMI": ok("Quectel"), "AT+CGMM": ok("EC25")}
    script.update(
        {
            'AT+QENG="servingcell"': qeng,
            "AT+QCSQ": ok('+QCSQ: "LTE",-65,-95,175,-10'),
            "AT+QNWINFO": ok('+QNWINFO: "FDD LTE","46000","LTE BAND 3",1300'),
            "AT+QCCID": ok(f"+QCCID: {ICCID}"),
        }
    )
    return script


def test_vendor_facts_spare_the_base_and_overlapping_queries() -> None:
    modem, transport = make_modem(quectel_script(ok(QENG_LTE)))
    snap = modem.read_snapshot()
    assert snap.dialect == "quectel"
    for spared in ("AT+QCSQ", "AT+QNWINFO", "AT+CSQ", "AT+CESQ", "AT+CCID"):
        assert spared not in transport.sent
    assert snap.signal.rsrp_dbm == -95 and snap.signal.rssi_dbm == -65
    assert snap.network.mcc_mnc == "46000"
    assert snap.network.band == "B3"


def test_vendor_query_that_errors_falls_back_to_the_next_and_the_base() -> None:
    modem, transport = make_modem(quectel_script(b"\r\nERROR\r\n"))
    snap = modem.read_snapshot()
    assert {"AT+QCSQ", "AT+QNWINFO"} <= set(transport.sent)
    assert "AT+CSQ" not in transport.sent  # +QCSQ gave the RSSI
    assert snap.signal.rsrp_dbm == -95
    assert snap.network.access_technology is AccessTechnology.LTE


def test_identity_is_read_once_per_port_open_but_sim_and_radio_every_time() -> None:
    modem, transport = make_modem(GENERIC_SCRIPT)
    first = modem.read_snapshot()
    sent_first = list(transport.sent)
    second = modem.read_snapshot()
    again = transport.sent[len(sent_first) :]
    assert first.identity == second.identity
    for cached in ("AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+C5GREG=?"):
        assert cached not in again
    for fresh in ("AT+CPIN?", "AT+CCID", "AT+CSQ", "AT+CEREG?"):
        assert fresh in again
    modem.close()
    modem.read_snapshot()
    assert transport.sent[len(sent_first) + len(again) :].count("AT+CGMI") == 1


def test_flight_mode_is_radio_off_not_searching() -> None:
    # 27.007 §8.2: <fun> 4 disables both transmit and receive; ModemManager's mm-cfun vectors: "+CFUN: 0", "+CFUN: 1,0".
    script = {
        **GENERIC_SCRIPT,
        RADIO: ok("+CFUN: 4", "+CGATT: 0"),
        "AT+CSQ": ok("+CSQ: 99,99"),
        "AT+CESQ": ok("+CESQ: 99,99,255,255,255,255"),
        "AT+CREG?": ok("+CREG: 2,0"),
        "AT+CGREG?": ok("+CGREG: 0,0"),
        "AT+CEREG?": ok("+CEREG: 3,0"),
        COPS: ok("+COPS: 0", "+COPS: 0", "+COPS: 0"),
    }
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    assert (snap.network.radio, snap.network.cfun, snap.network.attached) == ("off", 4, False)
    assert "AT+CEER" not in transport.sent  # the last error of a radio that is off is old news
    assert not any(line.startswith("AT+COPS=3,") and line != COPS for line in transport.sent)


@pytest.mark.parametrize(("cfun", "radio"), [("+CFUN: 0", "off"), ("+CFUN: 1,0", "on"), ("+CFUN: 19,0", "limited")])
def test_radio_state_from_modemmanager_cfun_vectors(cfun: str, radio: str) -> None:
    modem, _ = make_modem({**GENERIC_SCRIPT, RADIO: ok(cfun, "+CGATT: 0")})
    assert modem.read_snapshot().network.radio == radio


def test_denied_card_names_the_reject_cause_and_the_last_error() -> None:
    # The n=3 read form of 27.007 §10.1.22 (<cause_type> 0: a TS 24.301 annex A EMM cause).
    script = {
        **GENERIC_SCRIPT,
        RADIO: ok("+CFUN: 1", "+CGATT: 0"),
        "AT+CREG?": ok("+CREG: 2,3"),
        "AT+CGREG?": ok("+CGREG: 0,3"),
        "AT+CEREG?": ok('+CEREG: 3,3,"5A1F","1A2D001",7,0,7'),
        COPS: ok("+COPS: 0", "+COPS: 0", "+COPS: 0"),
        "AT+CEER": ok('+CEER: "LTE ESM","EPS services not allowed"'),
    }
    modem, transport = make_modem(script)
    snap = modem.read_snapshot()
    net = snap.network
    assert net.registration is RegistrationState.DENIED
    assert net.reject_cause == RejectCause("emm", 7, "EPS services not allowed")
    assert net.last_error == "LTE ESM,EPS services not allowed"
    assert transport.sent.count("AT+CEER") == 1


def test_ceer_that_says_nothing_is_no_last_error() -> None:
    field = {v["id"]: v for v in FIELD_VECTORS}
    script = {
        **GENERIC_SCRIPT,
        "AT+CEREG?": ok(field["field-cereg-denied-no-cause"]["response"]),
        "AT+CREG?": ok("+CREG: 2,3"),
        "AT+CGREG?": ok("+CGREG: 0,3"),
        "AT+CEER": ok(field["field-ceer-none"]["response"]),
    }
    snap = make_modem(script)[0].read_snapshot()
    assert snap.network.registration is RegistrationState.DENIED
    assert (snap.network.reject_cause, snap.network.last_error) == (None, None)


def test_sim_absent_still_reads_the_attach_state() -> None:
    script = {**GENERIC_SCRIPT, "AT+CPIN?": cme(10), RADIO: ok("+CFUN: 1", "+CGATT: 0")}
    snap = make_modem(script)[0].read_snapshot()
    assert snap.sim.state is SimState.ABSENT and snap.network.attached is False
