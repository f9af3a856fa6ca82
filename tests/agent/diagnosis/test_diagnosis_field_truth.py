"""Diagnosis of a radio left off, of a rejected card with its cause, and of a system clock the network disagrees
with; the instants are injected, never read from the wall clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from iotcard.agent.diagnosis import DiagnosisFacts, Verdict, diagnose, render
from iotcard.drivers.models import (
    AccessTechnology,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    RegistrationState,
    RejectCause,
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
        radio="on",
        cfun=1,
    ),
    signal=SignalInfo(rssi_dbm=-65, rsrp_dbm=-95, rsrq_db=-10, sinr_db=14, bars=3),
)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def net(**changes: object) -> ModemSnapshot:
    return replace(HEALTHY, network=replace(HEALTHY.network, **changes))


@pytest.mark.parametrize("cfun", [4, 0])
def test_flight_mode_is_radio_off_not_no_signal(cfun: int) -> None:
    snapshot = replace(
        net(radio="off", cfun=cfun, registration=RegistrationState.NOT_REGISTERED, attached=False, ip_address=None),
        signal=SignalInfo(),
    )
    result = diagnose(DiagnosisFacts(snapshot=snapshot))
    assert result.verdict is Verdict.FAIL
    assert [f.code for f in result.findings] == ["radio_off"]
    assert result.findings[0].params["cfun"] == cfun
    skipped = {o.check for o in result.checks if o.skipped}
    assert {"signal", "registration", "attach"} <= skipped
    for lang in ("en", "zh"):
        message, hint = render(result.findings[0], lang)
        assert f"+CFUN: {cfun}" in message and "AT+CFUN=1" in hint


def test_limited_radio_is_not_radio_off() -> None:
    assert [f.code for f in diagnose(DiagnosisFacts(snapshot=net(radio="limited", cfun=19))).findings] == ["ok"]


@pytest.mark.parametrize(
    ("code", "kind", "name", "words_en", "words_zh"),
    [
        (3, "emm", "Illegal UE", "bound to another device", "绑定"),
        (6, "emm", "Illegal ME", "bound to another device", "绑定"),
        (7, "emm", "EPS services not allowed", "suspended", "停机"),
        (8, "emm", "EPS services and non-EPS services not allowed", "data service", "数据业务"),
        (11, "emm", "PLMN not allowed", "roaming", "漫游"),
        (15, "emm", "No suitable cells in tracking area", "covers this site", "覆盖"),
        (111, "emm", "Protocol error, unspecified", "#111", "#111"),
    ],
)
def test_denial_names_the_reject_cause(code: int, kind: str, name: str, words_en: str, words_zh: str) -> None:
    snapshot = net(
        registration=RegistrationState.DENIED,
        reject_cause=RejectCause(kind, code, name),
        attached=False,
        ip_address=None,
    )
    finding = diagnose(DiagnosisFacts(snapshot=snapshot)).findings[0]
    assert finding.code == "registration_denied"
    assert finding.params["reject_cause"] == code
    message_en, hint_en = render(finding, "en")
    message_zh, hint_zh = render(finding, "zh")
    assert f"#{code}" in message_en and name in message_en and f"#{code}" in message_zh
    assert words_en in message_en + hint_en and words_zh in message_zh + hint_zh


def test_denial_without_a_cause_keeps_the_general_text() -> None:
    finding = diagnose(DiagnosisFacts(snapshot=net(registration=RegistrationState.DENIED))).findings[0]
    assert finding.code == "registration_denied" and "reject_cause" not in finding.params
    assert "#" not in render(finding, "en")[0]


@pytest.mark.parametrize(
    ("offset", "skewed"),
    [(timedelta(minutes=4, seconds=59), False), (timedelta(minutes=5, seconds=1), True), (-timedelta(hours=9), True)],
)
def test_clock_skew_against_the_network_time(offset: timedelta, skewed: bool) -> None:
    network_time = datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))  # 12:00 UTC
    snapshot = replace(net(time=network_time), system_time=NOW + offset)
    result = diagnose(DiagnosisFacts(snapshot=snapshot))
    codes = [f.code for f in result.findings]
    assert ("clock_skew" in codes) is skewed
    if skewed:
        finding = result.findings[0]
        assert result.verdict is Verdict.DEGRADED
        assert finding.params["skew_s"] == round(offset.total_seconds())
        assert "TLS" in render(finding, "en")[1] and "TLS" in render(finding, "zh")[1]


def test_injected_system_time_wins_and_no_network_time_checks_nothing() -> None:
    network_time = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    snapshot = replace(net(time=network_time), system_time=NOW)
    later = DiagnosisFacts(snapshot=snapshot, system_time=NOW + timedelta(hours=1))
    assert "clock_skew" in [f.code for f in diagnose(later).findings]
    clock = next(o for o in diagnose(DiagnosisFacts(snapshot=HEALTHY)).checks if o.check == "clock")
    assert clock.skipped
