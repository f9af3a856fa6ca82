"""The snapshot reader against the pty simulator's vendor profiles and fault scenarios (end to end)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iotcard.drivers.models import AccessTechnology, ModemSnapshot, RegistrationState, RejectCause
from iotcard.drivers.modem import Modem
from iotcard.simulators.modem import ModemSimulator

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def read(profile: str, scenario: str = "normal") -> tuple[ModemSnapshot, list[str]]:
    with ModemSimulator(profile=profile, scenario=scenario) as sim:
        with Modem(sim.path, wall_clock=lambda: NOW) as modem:
            snapshot = modem.read_snapshot()
        return snapshot, list(sim.commands)


@pytest.mark.parametrize(
    ("profile", "temperature", "slot", "asks_5g"),
    [
        ("quectel_ec25", 38.0, None, False),
        ("quectel_ec200u", 38.0, None, False),
        ("quectel_rm500q", 41.0, 1, True),
        ("simcom_a7670c", 34.0, None, False),
        ("simcom_sim7600", 34.0, None, False),
    ],
)
def test_profiles_read_to_the_same_cell(profile: str, temperature: float, slot: int | None, asks_5g: bool) -> None:
    snap, commands = read(profile)
    assert snap.problems == ()
    net, sig = snap.network, snap.signal
    assert (net.mcc_mnc, net.operator_name, net.radio, net.attached) == ("46000", "CHINA MOBILE", "on", True)
    assert (net.pci, net.earfcn, net.band, net.access_technology) == (123, 1300, "B3", AccessTechnology.LTE)
    assert (sig.rsrp_dbm, sig.rsrq_db, sig.sinr_db, sig.bars) == (-95.0, -10.0, 14.0, 3)
    assert net.dns == ("211.136.17.107", "211.136.20.203") and net.apn == "cmiot"
    assert snap.identity.temperature_c == temperature and snap.sim.slot == slot
    assert net.time is not None and snap.system_time == NOW
    assert ("AT+C5GREG?" in commands) is asks_5g


def test_flight_mode_reads_as_radio_off() -> None:
    snap, _ = read("quectel_ec25", "flight_mode")
    net = snap.network
    assert (net.radio, net.cfun, net.attached) == ("off", 4, False)
    assert net.registration is RegistrationState.NOT_REGISTERED


def test_rejected_card_names_its_cause() -> None:
    snap, commands = read("quectel_ec25", "reject_cause")
    net = snap.network
    assert net.registration is RegistrationState.DENIED
    assert net.reject_cause == RejectCause("emm", 7, "EPS services not allowed")
    assert "AT+CEER" in commands and net.last_error is None  # the module's +CEER says nothing


def test_a7670c_in_weak_coverage_is_weak() -> None:
    snap, _ = read("simcom_a7670c", "weak_signal")
    sig = snap.signal
    assert (sig.rsrp_dbm, sig.rsrq_db, sig.bars) == (-128.0, -18.0, 0)
