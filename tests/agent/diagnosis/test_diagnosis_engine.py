"""The diagnosis engine on constructed facts: each fault gives its finding, in dependency order, with a verdict."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from iotcard.agent.diagnosis import (
    MESSAGES,
    DiagnosisFacts,
    DirectedFact,
    PlanFact,
    PortFault,
    Severity,
    Verdict,
    diagnose,
    render,
)
from iotcard.agent.state import KnownIdentity
from iotcard.drivers.models import (
    AccessTechnology,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    RegistrationState,
    SignalInfo,
    SimInfo,
    SimState,
)

HEALTHY = ModemSnapshot(
    identity=ModemIdentity("Quectel", "EC25", "EC25ECGAR06A07M1G", "867673041234564", True),
    sim=SimInfo(SimState.READY, "89860424102287654321", "460040123456789"),
    network=NetworkInfo(
        registration=RegistrationState.HOME,
        access_technology=AccessTechnology.LTE,
        operator_name="CHINA MOBILE",
        mcc_mnc="46000",
        attached=True,
        apn="cmiot",
        ip_address="10.168.23.45",
    ),
    signal=SignalInfo(rssi_dbm=-65, rsrp_dbm=-95, rsrq_db=-10, sinr_db=15, bars=3),
)


def with_network(**changes: object) -> ModemSnapshot:
    return replace(HEALTHY, network=replace(HEALTHY.network, **changes))


def codes(facts: DiagnosisFacts) -> list[str]:
    return [f.code for f in diagnose(facts).findings]


def test_healthy_card_is_ok() -> None:
    result = diagnose(DiagnosisFacts(snapshot=HEALTHY))
    assert result.verdict is Verdict.OK
    assert [f.code for f in result.findings] == ["ok"]


def test_port_error_skips_everything_resting_on_it() -> None:
    result = diagnose(DiagnosisFacts(port_error=PortFault("port_missing", "/dev/ttyUSB2")))
    assert result.verdict is Verdict.FAIL
    assert [f.code for f in result.findings] == ["port_unavailable"]
    assert dict(result.first.params) == {"error": "port_missing", "port": "/dev/ttyUSB2", "reason": None}
    assert (
        render(result.first, "en")[0]
        == "The modem's serial port cannot be used: serial port /dev/ttyUSB2 does not exist."
    )
    assert "串口 /dev/ttyUSB2 不存在" in render(result.first, "zh")[0]
    skipped = {o.check for o in result.checks if o.skipped}
    assert {"modem", "sim", "registration", "pdp", "directed"} <= skipped


def test_the_older_port_error_tuple_is_read_as_a_fault() -> None:
    facts = DiagnosisFacts(port="/dev/ttyUSB2", port_error=("port_unavailable", "serial port went away", "check it"))
    finding = diagnose(facts).first
    assert dict(finding.params) == {
        "error": "port_unavailable",
        "port": "/dev/ttyUSB2",
        "reason": "serial port went away",
    }


def test_unresponsive_modem() -> None:
    assert codes(DiagnosisFacts(modem_unresponsive=True, port="/dev/ttyUSB2")) == ["modem_unresponsive"]


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (SimState.ABSENT, "sim_absent"),
        (SimState.PIN_REQUIRED, "sim_pin_required"),
        (SimState.PUK_REQUIRED, "sim_puk_required"),
        (SimState.ERROR, "sim_error"),
    ],
)
def test_sim_problems_stop_the_network_checks(state: SimState, code: str) -> None:
    snap = replace(HEALTHY, sim=replace(HEALTHY.sim, state=state), network=NetworkInfo())
    result = diagnose(DiagnosisFacts(snapshot=snap))
    assert result.findings[0].code == code
    assert "registration_denied" not in [f.code for f in result.findings]
    assert result.verdict is Verdict.FAIL
    registration = next(o for o in result.checks if o.check == "registration")
    assert registration.skipped and "sim" in (registration.skip_reason or "")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"registration": RegistrationState.DENIED, "attached": False, "ip_address": None}, "registration_denied"),
        ({"registration": RegistrationState.SEARCHING, "attached": None, "ip_address": None}, "searching"),
        ({"attached": False, "ip_address": None}, "not_attached"),
        ({"ip_address": None}, "no_ip"),
        ({"ip_address": None, "apn": None}, "pdp_inactive"),
    ],
)
def test_network_chain(changes: dict[str, object], expected: str) -> None:
    found = codes(DiagnosisFacts(snapshot=with_network(**changes)))
    assert found[0] == expected
    assert len([c for c in found if c in ("not_attached", "no_ip", "pdp_inactive")]) <= 1


def test_roaming_is_a_warning() -> None:
    result = diagnose(
        DiagnosisFacts(snapshot=with_network(registration=RegistrationState.ROAMING, operator_name="CMHK"))
    )
    assert result.verdict is Verdict.DEGRADED
    assert result.findings[0].code == "roaming"
    assert "CMHK" in render(result.findings[0], "en")[0]


@pytest.mark.parametrize(
    ("signal", "technology", "expected"),
    [
        (SignalInfo(rssi_dbm=None, rsrp_dbm=None), AccessTechnology.LTE, "no_signal"),
        (SignalInfo(rssi_dbm=-80, rsrp_dbm=-115), AccessTechnology.LTE, "weak_signal"),
        (SignalInfo(rssi_dbm=-99, rsrp_dbm=None), AccessTechnology.GSM, "weak_signal"),
        (SignalInfo(rssi_dbm=-90, rsrp_dbm=None), AccessTechnology.UMTS, None),
        (SignalInfo(rssi_dbm=-99, rsrp_dbm=-105), AccessTechnology.LTE, None),
    ],
)
def test_signal_thresholds_per_technology(
    signal: SignalInfo, technology: AccessTechnology, expected: str | None
) -> None:
    snap = replace(HEALTHY, signal=signal, network=replace(HEALTHY.network, access_technology=technology))
    found = codes(DiagnosisFacts(snapshot=snap))
    if expected is None:
        assert found == ["ok"]
    else:
        assert expected in found


def test_identity_changes_are_reported_against_the_last_seen() -> None:
    previous = KnownIdentity(iccid="89860400000000000001", imei="867673041234564")
    result = diagnose(DiagnosisFacts(snapshot=HEALTHY, previous_identity=previous))
    assert [f.code for f in result.findings] == ["iccid_changed"]
    message, hint = render(result.findings[0], "zh")
    assert "89860400000000000001" in message and "机卡" in hint
    moved = diagnose(DiagnosisFacts(snapshot=HEALTHY, previous_identity=KnownIdentity(HEALTHY.sim.iccid, "1" * 15)))
    assert [f.code for f in moved.findings] == ["imei_changed"]


def test_directed_targets() -> None:
    directed = [DirectedFact("ecloud.haiwell.com", "reachable"), DirectedFact("10.1.2.3", "blocked")]
    result = diagnose(DiagnosisFacts(snapshot=HEALTHY, directed=directed))
    assert [f.code for f in result.findings] == ["directed_blocked"]
    assert "10.1.2.3 (blocked)" in render(result.findings[0], "en")[0]
    all_dns = [DirectedFact("a.example", "dns_failed", "timeout"), DirectedFact("b.example", "dns_failed", "timeout")]
    assert codes(DiagnosisFacts(snapshot=HEALTHY, directed=all_dns)) == ["dns_failed"]


def plan(**changes: object) -> PlanFact:
    base = PlanFact(
        used_bytes=100 * 2**20,
        total_bytes=1024 * 2**20,
        remaining_bytes=924 * 2**20,
        percent_left=90.2,
        cycle_end=date(2026, 12, 31),
        days_left=33,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "expected", "verdict"),
    [
        ({"data_low": True, "percent_left": 5.0, "remaining_bytes": 50 * 2**20}, ["data_low"], Verdict.DEGRADED),
        ({"data_exhausted": True, "remaining_bytes": 0}, ["data_exhausted"], Verdict.FAIL),
        ({"cycle_expiring": True, "days_left": 3}, ["cycle_expiring"], Verdict.DEGRADED),
        ({"expired": True, "cycle_expiring": True, "days_left": 0}, ["expired"], Verdict.FAIL),
        ({}, ["ok"], Verdict.OK),
    ],
)
def test_plan_flags(changes: dict[str, object], expected: list[str], verdict: Verdict) -> None:
    result = diagnose(DiagnosisFacts(snapshot=HEALTHY, plan=plan(**changes)))
    assert [f.code for f in result.findings] == expected
    assert result.verdict is verdict


def test_findings_are_sorted_most_severe_first() -> None:
    snap = replace(HEALTHY, signal=SignalInfo(rssi_dbm=-80, rsrp_dbm=-118))
    result = diagnose(DiagnosisFacts(snapshot=snap, plan=plan(data_exhausted=True, remaining_bytes=0)))
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, reverse=True)
    assert result.findings[0].code == "data_exhausted"
    assert result.findings[1].severity is Severity.WARNING


@pytest.mark.parametrize("code", sorted(MESSAGES))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_message_renders_in_both_languages(code: str, lang: str) -> None:
    from iotcard.agent.diagnosis import Finding

    params = {
        "detail": "d",
        "error": "port_missing",
        "port": "/dev/ttyUSB2",
        "reason": None,
        "previous": "p",
        "current": "c",
        "measure": "RSRP",
        "value": -115.0,
        "unit": "dBm",
        "threshold": -110.0,
        "technology": "LTE",
        "operator": "CMHK",
        "apn": "cmiot",
        "count": 1,
        "targets": "t",
        "remaining_bytes": 1 << 20,
        "total_bytes": 2 << 20,
        "used_bytes": 1 << 20,
        "percent_left": 50.0,
        "days_left": 3,
        "end": "2026-12-31",
        "renew_advice": "renew_before_26th",
        "renew_by": "2026-12-25",
    }
    message, hint = render(Finding(code, Severity.INFO, "usage", params), lang)
    assert message and "{" not in message and "{" not in hint
